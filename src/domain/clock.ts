import type { Clock } from '../ports/clock.js';

/**
 * The process's own clock. It looks the globals up on every call (not once at import), so vitest's
 * fake timers drive it too.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  setInterval: (callback, ms) => globalThis.setInterval(callback, ms),
  clearTimer: (timer) => globalThis.clearTimeout(timer as NodeJS.Timeout | undefined),
  sleep: (ms) => new Promise<void>((resolve) => globalThis.setTimeout(resolve, Math.max(0, ms))),
};

/** Seconds since the epoch on `clock`, as JWT claims and the embedded store's expiry columns count. */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
