import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SigningKeys } from '../../../src/embedded/signing-keys.js';
import { ALGORITHM } from '../../../src/embedded/signing-keys.js';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * A stolen signing key must not give tokens that outlive every session: each embedded access
 * token names its session (`sid`), and a token whose session is missing, ended or someone else's
 * is refused however well it is signed.
 */
const PASSWORD = 'Correct-horse-9';
const anonymous = { 'x-api-key': '' };
let service: TestService;
let victim: { authUserId: string; token: string; sid: string };
let other: { sid: string };

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false', ADMIN_GROUPS: 'customer' } });
  await seedGroups(service);
  victim = await loggedIn('victim');
  other = await loggedIn('other');
});
afterAll(() => service.close());

async function loggedIn(username: string) {
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'S',
    password: PASSWORD,
  });
  const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
  const login = await service.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous);
  const claims = JSON.parse(Buffer.from(login.body.accessToken.split('.')[1], 'base64url').toString());
  return { authUserId: authUserId as string, token: login.body.accessToken as string, sid: claims.sid as string };
}

/** A token signed with the service's own current key, as someone holding that key would make it. */
async function forge(claims: Record<string, unknown>): Promise<string> {
  const keys = (service.deps as unknown as { keys: SigningKeys }).keys;
  const { kid, key } = await keys.current();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ username: 'victim', userGroup: 'customer', ...claims })
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'JWT' })
    .setSubject(victim.authUserId)
    .setIssuer(service.deps.config.UMS_BASE_URL)
    .setIssuedAt(now)
    .setExpirationTime(now + 10 * 365 * 86_400)
    .sign(key);
}

const as = (token: string) => ({ ...anonymous, authorization: `Bearer ${token}` });

describe('embedded access tokens need a live session of their own user', () => {
  it('accepts a token from a login', async () => {
    expect((await service.call('GET', '/userinfo', undefined, as(victim.token))).status).toBe(200);
  });

  it('refuses a key-signed token without sid and a 10-year expiry, on every kind of route', async () => {
    const token = await forge({});
    expect((await service.call('GET', '/userinfo', undefined, as(token))).status).toBe(401);
    expect((await service.call('GET', '/users/', undefined, as(token))).status).toBe(401);
    const graphql = await service.graphql('{ users { _id } }', undefined, as(token));
    expect(graphql.data?.users).toBeFalsy();
  });

  it("refuses a token that names another user's session, or an unknown one", async () => {
    for (const sid of [other.sid, 'no-such-session', 42]) {
      expect((await service.call('GET', '/userinfo', undefined, as(await forge({ sid })))).status).toBe(401);
    }
  });

  it('refuses the token once its session ended', async () => {
    const token = await forge({ sid: victim.sid });
    expect((await service.call('GET', '/userinfo', undefined, as(token))).status).toBe(200);
    expect((await service.call('POST', '/logout', undefined, as(victim.token))).status).toBe(204);
    expect((await service.call('GET', '/userinfo', undefined, as(token))).status).toBe(401);
  });
});
