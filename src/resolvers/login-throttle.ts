import { TooManyRequestsError } from '../errors.js';

/**
 * Failed logins per client address in a fixed window, kept in memory: after `maxFailures` in
 * `windowSeconds` that address gets 429 until the window ends, whichever account it tries.
 */
export class LoginThrottle {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowSeconds: number,
  ) {}

  assertAllowed(ip: string, now = Date.now()): void {
    const window = this.current(ip, now);
    if (window && window.failures >= this.maxFailures) {
      const retryAfter = Math.ceil((window.start + this.windowSeconds * 1000 - now) / 1000);
      throw new TooManyRequestsError('Too many failed logins from this address', Math.max(retryAfter, 1));
    }
  }

  recordFailure(ip: string, now = Date.now()): void {
    const window = this.current(ip, now) ?? { start: now, failures: 0 };
    window.failures += 1;
    this.windows.set(ip, window);
    if (this.windows.size > 100_000) this.prune(now);
  }

  private current(ip: string, now: number) {
    const window = this.windows.get(ip);
    if (window && now - window.start >= this.windowSeconds * 1000) {
      this.windows.delete(ip);
      return undefined;
    }
    return window;
  }

  private prune(now: number): void {
    for (const ip of this.windows.keys()) this.current(ip, now);
  }
}
