import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { startReplica } from '../helpers/replica.js';
import {
  AUTH0_TEST_TENANT,
  CUSTOMER_GROUP,
  type IdentityKind,
  seedGroups,
  startService,
  type StoreKind,
  TEST_API_KEY,
  type TestService,
} from '../helpers/service.js';

/**
 * The `sid` cookie attacked from outside (docs/security.md), with the embedded provider's sessions
 * and with the shared session store of Auth0 mode (SESSIONS_CRUD_ENDPOINT): a planted cookie is
 * never adopted, a hostile one is a 401, the stored digest is no cookie, and expiry and a block end
 * the session. test/session-store.test.ts and test/replicas.test.ts cover the store across replicas.
 */
/** This file picks its own backends: it runs once, in the project that sets none (embedded). */
const ONCE = process.env.UMS_TEST_STORE === undefined && process.env.UMS_TEST_IDENTITY === undefined;

const TTL = 600;
const PASSWORD = 'Correct-horse-9';
const anonymous = { 'x-api-key': '' };

describe.runIf(ONCE).each<[string, StoreKind, IdentityKind]>([
  ['embedded sessions', 'embedded', 'embedded'],
  ['CRUD session store (Auth0)', 'crud', 'auth0'],
])('the sid cookie: %s', (_name, store, identity) => {
  const clock = new FakeClock();
  let service: TestService;
  let counter = 0;

  beforeAll(async () => {
    service = await startService({
      store,
      identity,
      clock,
      env: { WEBSITE_CLIENT_TYPES: 'backoffice', REFRESH_TOKEN_TTL: String(TTL), RANDOM_PWD_GEN: 'false' },
    });
    await seedGroups(service, [CUSTOMER_GROUP]);
  });
  afterAll(() => service.close());

  async function newUser() {
    counter += 1;
    const username = `sess${counter}`;
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username,
      email: `${username}@example.com`,
      name: 'S',
      password: PASSWORD,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    return { id: created.body._id as string, username };
  }

  async function login(username: string, cookie?: string) {
    const res = await service.call(
      'POST',
      '/oauth/token',
      { username, password: PASSWORD },
      { ...anonymous, 'client-type': 'backoffice', ...(cookie && { cookie }) },
    );
    expect(res.status).toBe(200);
    return /^sid=([^;]+);/.exec(res.headers.get('set-cookie')!)![1]!;
  }

  const whoami = async (cookie: string) => {
    const res = await service.call('GET', '/userinfo', undefined, { ...anonymous, cookie });
    return res.status === 200 ? res.body.username : res.status;
  };

  it('never adopts a cookie the client brought to the login: a fresh one each time', async () => {
    const ann = await newUser();
    const bob = await newUser();
    const planted = 'attacker-chosen-value-0123456789abcdefghijklmnop';
    const fresh = await login(ann.username, `sid=${planted}`);
    expect(fresh).not.toBe(planted);
    expect([await whoami(`sid=${planted}`), await whoami(`sid=${fresh}`)]).toEqual([401, ann.username]);
    // Bob's live cookie planted in Ann's browser: Ann's login gives Ann her own; Bob's stays Bob's.
    const bobs = await login(bob.username);
    const annsOwn = await login(ann.username, `sid=${bobs}`);
    expect(annsOwn).not.toBe(bobs);
    expect([await whoami(`sid=${bobs}`), await whoami(`sid=${annsOwn}`)]).toEqual([bob.username, ann.username]);
  });

  it("never adopts one through the console's GraphQL login either", async () => {
    const ann = await newUser();
    const planted = 'attacker-chosen-value-for-the-console-0123456789';
    const res = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'client-type': 'ums-console', cookie: `sid=${planted}` },
      body: JSON.stringify({ query: `mutation { login(username: "${ann.username}", password: "${PASSWORD}") { __typename } }` }),
    });
    expect((await res.json()).data.login.__typename).toBe('MutationLoginSuccess');
    const fresh = /^sid=([^;]+);/.exec(res.headers.get('set-cookie')!)![1]!;
    expect(fresh).not.toBe(planted);
    expect([await whoami(`sid=${planted}`), await whoami(`sid=${fresh}`)]).toEqual([401, ann.username]);
  });

  it('answers 401, never a 500, for a hostile cookie', async () => {
    const live = await login((await newUser()).username);
    for (const cookie of [
      'sid=',
      'sid=%00',
      'sid=%',
      `sid=${'A'.repeat(4000)}`,
      'sid={"$ne":null}',
      `sid=${encodeURIComponent('{"$ne":null}')}`,
      'sid=j%3A%7B%22%24ne%22%3Anull%7D',
      `sid=${live.toUpperCase()}`,
      `sid=${live.slice(0, -1)}`,
      `sid="${live}x"`,
    ]) {
      expect(await whoami(cookie), cookie.slice(0, 40)).toBe(401);
    }
  });

  it('takes no other secret of the user as a cookie (its refresh token, its access token), nor a cookie as a refresh token', async () => {
    const user = await newUser();
    const tokens = await service.call('POST', '/oauth/token', { username: user.username, password: PASSWORD }, anonymous);
    expect(tokens.status).toBe(200);
    for (const secret of [tokens.body.refreshToken, tokens.body.accessToken]) {
      expect(await whoami(`sid=${secret}`)).toBe(401);
    }
    // Nor is a cookie a refresh token, even with an access token of the same user.
    const cookie = await login(user.username);
    const refreshed = await service.call(
      'POST',
      '/refreshtoken',
      { refreshToken: cookie },
      { ...anonymous, authorization: `Bearer ${tokens.body.accessToken}` },
    );
    expect(refreshed.status).toBe(401);
  });

  it.runIf(store === 'crud')('does not take the stored digest of a cookie as a cookie', async () => {
    const live = await login((await newUser()).username);
    const digests = service.crud!.docs('/sessions').map((doc) => String(doc.cookieHash));
    expect(digests.length).toBeGreaterThan(0);
    expect(JSON.stringify(service.crud!.docs('/sessions'))).not.toContain(live);
    for (const digest of digests) expect(await whoami(`sid=${digest}`)).toBe(401);
  });

  it('ends a session at its expiry, read by the clock of the service', async () => {
    const user = await newUser();
    const cookie = `sid=${await login(user.username)}`;
    await clock.advance((TTL - 10) * 1000);
    expect(await whoami(cookie)).toBe(user.username);
    await clock.advance(TTL * 1000);
    expect(await whoami(cookie)).toBe(401);
  });

  it('ends every cookie of a user that is blocked, and logout ends only its own', async () => {
    const user = await newUser();
    const [first, second, third] = [await login(user.username), await login(user.username), await login(user.username)];
    expect((await service.call('POST', '/logout', undefined, { ...anonymous, cookie: `sid=${first}` })).status).toBe(204);
    expect([await whoami(`sid=${first}`), await whoami(`sid=${second}`)]).toEqual([401, user.username]);
    expect((await service.call('PATCH', `/users/${user.id}`, { $set: { blocked: true } })).status).toBe(200);
    expect([await whoami(`sid=${second}`), await whoami(`sid=${third}`)]).toEqual([401, 401]);
    expect((await service.call('PATCH', `/users/${user.id}`, { $set: { blocked: false } })).status).toBe(200);
    expect([await whoami(`sid=${second}`), await whoami(`sid=${third}`)]).toEqual([401, 401]);
  });
});

describe.runIf(ONCE)('the sid cookie on a second replica (CRUD session store, Auth0)', () => {
  let service: TestService;
  let other: Awaited<ReturnType<typeof startReplica>>;

  beforeAll(async () => {
    const env = { WEBSITE_CLIENT_TYPES: 'backoffice', RANDOM_PWD_GEN: 'false' };
    service = await startService({ store: 'crud', identity: 'auth0', env });
    await seedGroups(service, [CUSTOMER_GROUP]);
    // The same upstreams, its own process state (caches, throttles), as a second pod.
    other = await startReplica(
      {
        LOG_LEVEL: 'silent',
        API_KEYS: TEST_API_KEY,
        COOKIE_SECURE: 'false',
        CRUD_SERVICE: service.crud!.url,
        USERS_CRUD_ENDPOINT: '/users',
        UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
        JOBS_CRUD_ENDPOINT: '/jobs',
        SESSIONS_CRUD_ENDPOINT: '/sessions',
        AUTH_MODULE: 'auth0',
        AUTH0_BASE_URL: service.auth0!.url,
        AUTH0_CLIENT_ID: AUTH0_TEST_TENANT.clientId,
        AUTH0_CLIENT_SECRET: AUTH0_TEST_TENANT.clientSecret,
        AUTH0_AUDIENCE: AUTH0_TEST_TENANT.audience,
        AUTH_CONNECTION: AUTH0_TEST_TENANT.connection,
        ...env,
      },
      {},
    );
  });
  afterAll(async () => {
    await other.close();
    await service.close();
  });

  it('is refused on the other replica at once after a block, its cached profile notwithstanding', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'tworeplicas',
      email: 'tworeplicas@example.com',
      name: 'T',
      password: PASSWORD,
    });
    expect(created.status).toBe(200);
    const login = await service.call(
      'POST',
      '/oauth/token',
      { username: 'tworeplicas', password: PASSWORD },
      { ...anonymous, 'client-type': 'backoffice' },
    );
    const cookie = /^(sid=[^;]+);/.exec(login.headers.get('set-cookie')!)![1]!;
    const onOther = () => fetch(`${other.url}/userinfo`, { headers: { cookie } }).then((res) => res.status);
    expect(await onOther()).toBe(200);
    expect((await service.call('PATCH', `/users/${created.body._id}`, { $set: { blocked: true } })).status).toBe(200);
    expect(await onOther()).toBe(401);
  });
});
