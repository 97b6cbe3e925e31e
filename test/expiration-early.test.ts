import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimerEmulator } from './emulators/timer.js';
import { seedGroups, startService, type TestService } from './helpers/service.js';

/**
 * A Timer Service callback that arrives more than a second before the user's expirationDate (a
 * Timer clock ahead of ours, a replayed callback) does not block the user, and is not dropped
 * either: the expiry is scheduled again for the time left, and the user keeps the new schedule.
 */
const anonymous = { 'x-api-key': '' };
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('an early Timer Service callback', () => {
  let timer: TimerEmulator;
  let service: TestService;
  beforeAll(async () => {
    timer = await new TimerEmulator().start();
    service = await startService({ env: { TIMER_SERVICE: timer.url, RANDOM_PWD_GEN: 'false' } });
    await seedGroups(service);
  });
  afterAll(async () => {
    await service.close();
    await timer.stop();
  });

  it('is rescheduled for the time left, not dropped, and the user keeps the new schedule', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'early1',
      email: 'early1@example.com',
      name: 'E',
      password: 'Early-pass-1',
      expirationDate: inMs(60_000),
    });
    expect(created.status).toBe(200);
    const user = (await service.call('GET', `/users/${created.body._id}`)).body;
    const secret = timer.timers.get(user.expirationId)!.outputMode.headers!['x-ums-timer-secret']!;
    const payload = { userId: user._id, expirationDate: user.expirationDate };
    const schedules = () => timer.requests.filter((r) => r.path === '/schedule').length;
    const before = schedules();

    const early = await service.call('POST', '/internal/expirations', payload, { ...anonymous, 'x-ums-timer-secret': secret });
    expect(early.status).toBe(204);
    const after = (await service.call('GET', `/users/${user._id}`)).body;
    expect(after.blocked).toBeUndefined();
    expect(schedules() - before).toBe(1);
    expect(after.expirationId).not.toBe(user.expirationId);
    const again = timer.timers.get(after.expirationId)!;
    expect(again.payload).toEqual(payload);
    // Due at the expiration date, give or take the time the test took.
    expect(Math.abs(again.fireAt - Date.parse(user.expirationDate))).toBeLessThan(5000);
  });

  it('a replayed callback for a date the user no longer has still does nothing', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'early2',
      email: 'early2@example.com',
      name: 'E',
      password: 'Early-pass-1',
      expirationDate: inMs(60_000),
    });
    const user = (await service.call('GET', `/users/${created.body._id}`)).body;
    const secret = timer.timers.get(user.expirationId)!.outputMode.headers!['x-ums-timer-secret']!;
    const before = timer.requests.filter((r) => r.path === '/schedule').length;
    const stale = { userId: user._id, expirationDate: inMs(30_000) };
    expect((await service.call('POST', '/internal/expirations', stale, { ...anonymous, 'x-ums-timer-secret': secret })).status).toBe(204);
    expect(timer.requests.filter((r) => r.path === '/schedule').length).toBe(before);
    expect((await service.call('GET', `/users/${user._id}`)).body.expirationId).toBe(user.expirationId);
  });
});
