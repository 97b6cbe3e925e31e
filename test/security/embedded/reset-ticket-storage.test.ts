import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * Every password e-mail leaves a reset ticket in the embedded file, and nothing removed a used or
 * expired one: a user asking for its own e-mail at the throttle's pace (5 an hour) added 120 rows
 * a day for good, each user alike. A new ticket now removes its user's dead ones.
 */
const clock = new FakeClock();
const WINDOW_SECONDS = 3600;
let service: TestService;
let db: Database;

beforeAll(async () => {
  service = await startService({ clock, env: { RESET_TICKET_TTL: '600', PASSWORD_EMAIL_WINDOW_SECONDS: String(WINDOW_SECONDS) } });
  await seedGroups(service);
  db = (service.deps as unknown as { db: Database }).db;
});
afterAll(() => service.close());

const ticketsOf = (authUserId: string) =>
  (db.prepare('SELECT COUNT(*) AS n FROM reset_tickets WHERE auth_user_id = ?').get(authUserId) as { n: number }).n;

describe('reset tickets in the embedded file', () => {
  it("a user's dead tickets go when a new one is issued: 50 e-mails over 10 hours leave the last hour's", async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'forgetful',
      email: 'forgetful@example.com',
      name: 'F',
    });
    const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body as { authUserId: string };
    for (let hour = 0; hour < 10; hour += 1) {
      for (let mail = 0; mail < 5; mail += 1) {
        expect((await service.call('POST', '/users/change-password', { authUserId })).status).toBe(204);
      }
      await clock.advance((WINDOW_SECONDS + 1) * 1000);
    }
    // The last hour's five (expired by now, removed at the next e-mail): never the 50 of all hours.
    expect(ticketsOf(authUserId)).toBeLessThanOrEqual(5);
  });

  it('a ticket still live stays usable when a newer one is issued', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'careful',
      email: 'careful@example.com',
      name: 'C',
    });
    const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body as { authUserId: string };
    expect((await service.call('POST', '/users/change-password', { authUserId })).status).toBe(204);
    expect((await service.call('POST', '/users/change-password', { authUserId })).status).toBe(204);
    expect(ticketsOf(authUserId)).toBe(2);
  });
});
