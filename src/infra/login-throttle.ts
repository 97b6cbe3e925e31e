import { TooManyRequestsError } from '../errors.js';
import type { Clock } from '../ports/clock.js';

/** Keys kept before windows that ended are pruned. */
const PRUNE_FROM = 100_000;

/** Gives a reserved attempt back (the attempt succeeded, or was refused before any work). */
export type Release = () => void;

/**
 * Attempts per key (a client address; an authUserId for password e-mails) in a fixed window, kept
 * in memory. An attempt is reserved (counted) before its work starts, so parallel requests cannot
 * all pass a check made before any of them failed: after `maxFailures` in `windowSeconds` that key
 * gets 429 until the window ends. The caller releases the attempts that should not count. Past
 * 100,000 keys, windows that ended are pruned; the next prune waits until the map has doubled, so
 * a bulk job counting 100,000 users' e-mails in one window does not scan the map at every one.
 */
export class LoginThrottle {
  private readonly windows = new Map<string, { start: number; failures: number }>();
  /** The map's size at which windows that ended are pruned next. */
  private pruneAt = PRUNE_FROM;

  private readonly maxFailures: number;
  private readonly windowSeconds: number;
  private readonly message: string;
  private readonly clock: Clock;
  /** What a key is counted as (an address: its /64 for IPv6); the key itself by default. */
  private readonly keyOf: (key: string) => string;

  constructor(options: { max: number; windowSeconds: number; message?: string; clock: Clock; keyOf?: (key: string) => string }) {
    this.maxFailures = options.max;
    this.keyOf = options.keyOf ?? ((key) => key);
    this.windowSeconds = options.windowSeconds;
    this.message = options.message ?? 'Too many failed logins from this address';
    this.clock = options.clock;
  }

  /** Counts one attempt, or 429 with Retry-After when the address has used its window. */
  reserve(key: string): Release {
    const ip = this.keyOf(key);
    const now = this.clock.now();
    const window = this.current(ip, now) ?? { start: now, failures: 0 };
    if (window.failures >= this.maxFailures) {
      const retryAfter = Math.ceil((window.start + this.windowSeconds * 1000 - now) / 1000);
      throw new TooManyRequestsError(this.message, Math.max(retryAfter, 1));
    }
    window.failures += 1;
    this.windows.set(ip, window);
    if (this.windows.size > this.pruneAt) this.prune(now);
    let released = false;
    return () => {
      // Only once, and only into the window it was taken from.
      if (released || this.windows.get(ip) !== window) return;
      released = true;
      window.failures -= 1;
    };
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
    this.pruneAt = Math.max(PRUNE_FROM, 2 * this.windows.size);
  }
}
