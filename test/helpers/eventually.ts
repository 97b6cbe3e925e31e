import type { FakeClock } from './fake-clock.js';

/**
 * `eventually(read, done, advanceMs = 100)`: waits (10 s at most) for a condition the service
 * reaches by itself; with `advanceMs`, `clock` moves that much at each look (leases lapse, the
 * reconciler polls). Without, no lease lapses meanwhile. Answers the last value read.
 */
export function eventuallyOn(clock: FakeClock) {
  return async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, advanceMs = 100): Promise<T> {
    const until = Date.now() + 10_000;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > until) return value;
      if (advanceMs > 0) await clock.advance(advanceMs);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
}
