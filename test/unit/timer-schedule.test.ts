import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../src/clients/http.js';
import { createTimerScheduler } from '../../src/clients/timer/scheduler.js';
import type { Clock } from '../../src/ports/clock.js';
import { TimerEmulator } from '../emulators/timer.js';

/**
 * The Timer Service fires at `startDate + expirationIntervalMs`: both must come from one reading of
 * the clock, or the schedule fires early by the time between two readings.
 */
let timer: TimerEmulator;
beforeAll(async () => {
  timer = await new TimerEmulator().start();
});
afterAll(() => timer.stop());

/** A clock that moves 1 ms at each reading (a busy process between two reads). */
function tickingClock(start: number): Clock {
  let now = start;
  return {
    now: () => now++,
    setTimeout: () => ({
      unref() {
        return this;
      },
    }),
    setInterval: () => ({
      unref() {
        return this;
      },
    }),
    clearTimer: () => undefined,
    sleep: () => Promise.resolve(),
  };
}

describe('Timer schedule', () => {
  it('fires at the expirationDate, to the millisecond, however time moves while the call is built', async () => {
    const expirationDate = '2031-01-01T00:00:00.000Z';
    const scheduler = createTimerScheduler({
      upstream: { name: 'Timer', baseUrl: `${timer.url}/`, dispatcher: createDispatcher(5000) },
      callbackBaseUrl: 'http://127.0.0.1:1/',
      secret: 'timer-secret-0123',
      clock: tickingClock(Date.parse('2030-12-31T00:00:00.000Z')),
    });
    const expirationId = await scheduler.schedule({ userId: 'u1', expirationDate }, {});
    expect(timer.timers.get(expirationId)!.fireAt).toBe(Date.parse(expirationDate));
  });
});
