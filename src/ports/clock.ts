/** A timer a `Clock` set: cleared through that clock; `unref` lets the process exit while it waits. */
export interface Timer {
  unref(): unknown;
}

/**
 * Where time comes from: the wall clock and timers. Everything that depends on how much time has
 * passed (leases, lockout windows, token and ticket expiry, schedules, back-offs, paced sends)
 * asks an injected Clock, so tests move time instead of waiting for it.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
  setInterval(callback: () => void, ms: number): Timer;
  clearTimer(timer: Timer | undefined): void;
  /** Resolves once `ms` have passed on this clock. */
  sleep(ms: number): Promise<void>;
}
