import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * The embedded file filled by one account: every refresh added a row that nothing ever removed,
 * and so did every session, ended or not. A user refreshing in a loop (no password hash, about
 * 300 a second from one client) grew the file without bound, gigabytes a day; a login loop (about
 * 20 a second) did the same more slowly, each session living 30 days. A session now keeps its
 * latest used refresh tokens only (enough to detect a replay), and a login removes its user's
 * ended sessions, and its oldest live ones beyond 100, their refresh tokens with them.
 */
const PASSWORD = 'Correct-horse-9';
const anonymous = { 'x-api-key': '' };
const TTL = 600;
const clock = new FakeClock();
let service: TestService;
let db: Database;
let counter = 0;

beforeAll(async () => {
  service = await startService({ clock, env: { RANDOM_PWD_GEN: 'false', REFRESH_TOKEN_TTL: String(TTL) } });
  await seedGroups(service);
  db = (service.deps as unknown as { db: Database }).db;
});
afterAll(() => service.close());

async function newUser() {
  counter += 1;
  const username = `keeper${counter}`;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'K',
    password: PASSWORD,
  });
  const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
  return { username, authUserId: authUserId as string };
}

const login = async (username: string) =>
  (await service.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous)).body as {
    accessToken: string;
    refreshToken: string;
  };

const refresh = (pair: { accessToken: string; refreshToken: string }) =>
  service.call('POST', '/refreshtoken', { refreshToken: pair.refreshToken }, { ...anonymous, authorization: `Bearer ${pair.accessToken}` });

const rowsOf = (authUserId: string) => ({
  sessions: (db.prepare('SELECT COUNT(*) AS n FROM sessions WHERE auth_user_id = ?').get(authUserId) as { n: number }).n,
  refreshTokens: (
    db
      .prepare('SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE auth_user_id = ?)')
      .get(authUserId) as { n: number }
  ).n,
});

describe('what sessions leave in the embedded file', () => {
  it('a user keeps its 100 newest live sessions: 110 logins end the 10 oldest', async () => {
    const user = await newUser();
    const pairs = [];
    // Four at a time, as a client in a loop would (a login costs a password hash).
    for (let index = 0; index < 110; index += 4) {
      const batch = Math.min(4, 110 - index);
      pairs.push(...(await Promise.all(Array.from({ length: batch }, () => login(user.username)))));
    }
    expect(rowsOf(user.authUserId)).toEqual({ sessions: 100, refreshTokens: 100 });
    const userinfo = (pair: { accessToken: string }) =>
      service.call('GET', '/userinfo', undefined, { ...anonymous, authorization: `Bearer ${pair.accessToken}` });
    expect((await userinfo(pairs[0]!)).status).toBe(401);
    expect((await userinfo(pairs.at(-1)!)).status).toBe(200);
    expect((await refresh(pairs.at(-1)!)).status).toBe(200);
  });

  it('200 refreshes of one session keep a bounded number of refresh tokens', async () => {
    const user = await newUser();
    let pair = await login(user.username);
    for (let index = 0; index < 200; index += 1) {
      const res = await refresh(pair);
      expect(res.status).toBe(200);
      pair = res.body;
    }
    expect(rowsOf(user.authUserId).refreshTokens).toBeLessThanOrEqual(33);
  });

  it('still detects a replay of a recent refresh token, and revokes the session', async () => {
    const user = await newUser();
    const pairs = [await login(user.username)];
    for (let index = 0; index < 40; index += 1) pairs.push((await refresh(pairs.at(-1)!)).body);
    // A token ten refreshes old, replayed: the session ends, its newest pair with it.
    expect((await refresh(pairs.at(-11)!)).status).toBe(401);
    expect((await refresh(pairs.at(-1)!)).status).toBe(401);
    expect(
      (await service.call('GET', '/userinfo', undefined, { ...anonymous, authorization: `Bearer ${pairs.at(-1)!.accessToken}` })).status,
    ).toBe(401);
  });

  it("a login removes the user's ended sessions: logged out, revoked or expired", async () => {
    const user = await newUser();
    const loggedOut = await login(user.username);
    await service.call('POST', '/logout', undefined, { ...anonymous, authorization: `Bearer ${loggedOut.accessToken}` });
    const expiring = await login(user.username);
    await refresh(expiring);
    await clock.advance((TTL + 1) * 1000);
    await login(user.username);
    // Only the live session is left, with its one refresh token.
    expect(rowsOf(user.authUserId)).toEqual({ sessions: 1, refreshTokens: 1 });
  });
});
