import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAdmin } from '../src/bootstrap.js';
import { userRoutes } from '../src/rest/routes.js';
import { CONNECTED_IDENTITY, seedGroups, startService, type TestService } from './helpers/service.js';

const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Correct-horse-9';
let service: TestService;
let userToken: string;
let adminToken: string;

beforeAll(async () => {
  service = await startService({
    env: { RANDOM_PWD_GEN: 'false', LOGIN_MAX_ATTEMPTS: '3', LOGIN_LOCK_SECONDS: '60', LOGIN_IP_MAX_FAILURES: '8' },
  });
  await seedGroups(service);
  await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: 'plain',
    email: 'plain@example.com',
    name: 'P',
    password: PASSWORD,
  });
  await service.deps.groups.saveGroup(
    { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
    { actorId: 't', headers: {} },
  );
  await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'admin',
    username: 'boss',
    email: 'boss@example.com',
    password: PASSWORD,
  });
  userToken = (await service.call('POST', '/oauth/token', { username: 'plain', password: PASSWORD }, anonymous)).body.accessToken;
  adminToken = (await service.call('POST', '/oauth/token', { username: 'boss', password: PASSWORD }, anonymous)).body.accessToken;
});
afterAll(() => service.close());

const asUser = () => ({ ...anonymous, authorization: `Bearer ${userToken}` });
const asAdmin = () => ({ ...anonymous, authorization: `Bearer ${adminToken}` });

function concrete(path: string): string {
  return path.replace(':id', 'ffffffffffffffffffffffff');
}

describe('every management path', () => {
  it.each(userRoutes.map((route) => [route.method.toUpperCase(), route.path] as const))(
    '%s %s: 401 without credentials, 403 for a user',
    async (method, path) => {
      const body = method === 'GET' || method === 'DELETE' ? undefined : {};
      const none = await service.call(method, concrete(path), body, anonymous);
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      const user = await service.call(method, concrete(path), body, asUser());
      expect(user.status).toBe(403);
      expect(user.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    },
  );

  it('is open to administrators by token and by API key, not to a wrong key or token', async () => {
    expect((await service.call('GET', '/users/count', undefined, asAdmin())).status).toBe(200);
    expect((await service.call('GET', '/users/count')).status).toBe(200);
    expect((await service.call('GET', '/users/count', undefined, { 'x-api-key': 'wrong' })).status).toBe(401);
    expect((await service.call('GET', '/users/count', undefined, { ...anonymous, authorization: 'Bearer not.a.token' })).status).toBe(401);
    expect((await service.call('GET', '/users/count', undefined, { ...anonymous, authorization: 'Basic abc' })).status).toBe(401);
  });

  it('keeps a user from changing their own group, expiration or blocked flag', async () => {
    const [me] = await service.deps.users.find({ username: 'plain' }, { states: ['PUBLIC'] });
    for (const patch of [{ userGroup: 'admin' }, { expirationDate: null }, { blocked: false }]) {
      expect((await service.call('PATCH', `/users/${me!._id}`, patch, asUser())).status).toBe(403);
    }
  });
});

describe('GraphQL management fields', () => {
  const QUERIES = [
    '{ users { totalCount } }',
    '{ usersCount }',
    '{ userGroups { userGroup } }',
    'mutation { deleteUser(id: "ffffffffffffffffffffffff") { __typename } }',
    'mutation { softDeleteUser(id: "ffffffffffffffffffffffff") { __typename } }',
    'mutation { deleteUserGroup(userGroup: "customer") { __typename } }',
  ];
  it.each(QUERIES)('%s: UNAUTHORIZED without credentials, FORBIDDEN for a user', async (query) => {
    const none = await service.graphql(query, undefined, anonymous);
    expect(none.errors?.[0]?.extensions.code).toBe('UNAUTHORIZED');
    const user = await service.graphql(query, undefined, asUser());
    expect(user.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });
});

describe('cross-origin browsers', () => {
  it('get no CORS grant: another site cannot read answers made with a user cookie', async () => {
    const origin = 'https://elsewhere.example';
    const graphql = await service.call('POST', '/graphql', { query: '{ __typename }' }, { origin });
    const preflight = await fetch(`${service.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    const rest = await service.call('GET', '/users/count', undefined, { origin });
    expect(graphql.status).toBe(200);
    expect(rest.status).toBe(200);
    for (const headers of [graphql.headers, preflight.headers, rest.headers]) {
      expect(headers.get('access-control-allow-origin')).toBeNull();
      expect(headers.get('access-control-allow-credentials')).toBeNull();
    }
  });
});

// The lockout rules are the embedded provider's (Auth0 applies its own): skipped with a connected one.
describe('brute force', () => {
  it.skipIf(CONNECTED_IDENTITY)(
    'locks an account after LOGIN_MAX_ATTEMPTS failures (429 with Retry-After) until an administrator unlocks it',
    async () => {
      await service.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'customer',
        username: 'target',
        name: 'T',
        password: PASSWORD,
      });
      const attempt = (password: string) =>
        service.call('POST', '/oauth/token', { username: 'target', password }, { ...anonymous, 'x-forwarded-for': '10.0.0.1' });
      for (let index = 0; index < 3; index += 1) expect((await attempt('Wrong-pass-1')).status).toBe(401);
      const locked = await attempt(PASSWORD);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(50);

      const [profile] = await service.deps.users.find({ username: 'target' }, { states: ['PUBLIC'] });
      const unlocked = await service.graphql(`mutation { unlockUser(id: "${profile!._id}") { __typename } }`, undefined, asAdmin());
      expect(unlocked.data.unlockUser.__typename).toBe('MutationUnlockUserSuccess');
      expect((await attempt(PASSWORD)).status).toBe(200);
    },
  );

  it.skipIf(CONNECTED_IDENTITY)('resets the counter on success', async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'forgetful',
      name: 'F',
      password: PASSWORD,
    });
    const attempt = (password: string) => service.call('POST', '/oauth/token', { username: 'forgetful', password }, anonymous);
    for (let round = 0; round < 2; round += 1) {
      expect((await attempt('Wrong-pass-1')).status).toBe(401);
      expect((await attempt('Wrong-pass-1')).status).toBe(401);
      expect((await attempt(PASSWORD)).status).toBe(200);
    }
  });

  it('throttles a client address that keeps failing, whatever the account', async () => {
    const throttled = await startService({ env: { LOGIN_IP_MAX_FAILURES: '4' } });
    try {
      const statuses: number[] = [];
      for (let index = 0; index < 6; index += 1) {
        statuses.push((await throttled.call('POST', '/oauth/token', { username: `nobody${index}`, password: 'x' }, anonymous)).status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    } finally {
      await throttled.close();
    }
  });
});

describe('first start', () => {
  it('creates an administrator on an empty store, once', async () => {
    const fresh = await startService({ store: 'embedded', identity: 'embedded' });
    try {
      const printed: string[] = [];
      expect(await bootstrapAdmin(fresh.deps, (line) => printed.push(line))).toBe(true);
      const password = /password "([^"]+)"/.exec(printed[0]!)![1]!;
      const login = await fresh.call('POST', '/oauth/token', { username: 'admin', password }, anonymous);
      expect(login.status).toBe(200);
      const token = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
      expect((await fresh.call('GET', '/users/count', undefined, token)).status).toBe(200);
      expect(await bootstrapAdmin(fresh.deps, (line) => printed.push(line))).toBe(false);
      expect(printed).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });

  it('never writes an administrator into a connected store or identity provider', async () => {
    for (const options of [{ store: 'crud' as const }, { identity: 'auth0' as const }]) {
      const connected = await startService(options);
      try {
        expect(await bootstrapAdmin(connected.deps, () => undefined)).toBe(false);
        expect((await connected.call('GET', '/users/count?_st=PUBLIC,DRAFT,TRASH,DELETED')).body).toBe(0);
      } finally {
        await connected.close();
      }
    }
  });

  it('uses BOOTSTRAP_ADMIN_PASSWORD without printing it', async () => {
    const fresh = await startService({
      store: 'embedded',
      identity: 'embedded',
      env: { BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'Given-Passw0rd' },
    });
    try {
      const printed: string[] = [];
      await bootstrapAdmin(fresh.deps, (line) => printed.push(line));
      expect(printed).toEqual([]);
      expect((await fresh.call('POST', '/oauth/token', { username: 'root', password: 'Given-Passw0rd' }, anonymous)).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });
});
