import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, GUEST_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * `HEAD /users/export` ran the whole export, page after page, to send nothing of it: an
 * administrator's HEAD read every user from the store (and with `identity=true` every identity).
 * It answers the headers GET would, after the same checks (access, filters, Accept), and reads no user.
 */
const USERS = 250;
let service: TestService;
let scans = 0;

beforeAll(async () => {
  service = await startService({
    // The signed-in caller who is no administrator chooses a password.
    env: { RANDOM_PWD_GEN: 'false' },
    wrap: (deps) => ({
      users: new Proxy(deps.users, {
        get(store, key) {
          const value: unknown = Reflect.get(store, key);
          if (typeof value !== 'function') return value;
          if (key !== 'scan') return value.bind(store);
          return (...args: unknown[]) => {
            scans += 1;
            return value.apply(store, args);
          };
        },
      }),
    }),
  });
  await seedGroups(service, [GUEST_GROUP, CUSTOMER_GROUP]);
  const docs = Array.from({ length: USERS }, (_, index) => ({ userGroup: 'guest', name: `H${index}` }));
  await service.deps.users.insertMany(docs, { actorId: 'test', headers: {} });
});
afterAll(() => service.close());

const head = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${service.url}${path}`, { method: 'HEAD', headers: { 'x-api-key': TEST_API_KEY, ...headers } });

describe('HEAD /users/export', () => {
  it('answers the headers GET answers, reading no user', async () => {
    const get = await fetch(`${service.url}/users/export`, { headers: { 'x-api-key': TEST_API_KEY } });
    expect((await get.text()).trim().split('\n')).toHaveLength(USERS + 1);
    for (const [path, accept] of [
      ['/users/export', 'text/csv'],
      ['/users/export?identity=true', 'application/x-ndjson'],
    ] as const) {
      scans = 0;
      const res = await head(path, { accept });
      expect({ status: res.status, body: await res.text(), scans }).toEqual({ status: 200, body: '', scans: 0 });
      expect(res.headers.get('content-type')).toBe(
        accept === 'text/csv' ? get.headers.get('content-type') : 'application/x-ndjson; charset=utf-8',
      );
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="users-\d{8}T\d{6}Z\.(csv|ndjson)"$/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('refuses what GET refuses, reading no user', async () => {
    scans = 0;
    expect((await head('/users/export', { 'x-api-key': '' })).status).toBe(401);
    expect((await head('/users/export?_q=%7B%22%24where%22%3A1%7D')).status).toBe(400);
    expect((await head('/users/export?identity=maybe')).status).toBe(400);
    expect((await head('/users/export', { accept: 'application/json' })).status).toBe(406);
    expect(scans).toBe(0);
  });

  it("answers each refusal with GET's status and type, to a signed-in user who is no administrator too", async () => {
    const password = 'Correct-horse-9';
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'head.plain',
      email: 'head.plain@example.com',
      name: 'Plain',
      password,
    });
    expect(created.status).toBe(200);
    const login = await service.call('POST', '/oauth/token', { username: 'head.plain', password }, { 'x-api-key': '' });
    expect(login.status).toBe(200);
    const user = { 'x-api-key': '', authorization: `Bearer ${login.body.accessToken}` };
    scans = 0;
    for (const [path, headers] of [
      ['/users/export', user],
      ['/users/export?identity=true', { ...user, accept: 'application/x-ndjson' }],
      ['/users/export', { 'x-api-key': 'wrong' }],
      ['/users/export', { acl_rows: '{"$where":"1"}' }],
      ['/users/export?_q=%7B', {}],
    ] as [string, Record<string, string>][]) {
      const get = await fetch(`${service.url}${path}`, { headers: { 'x-api-key': TEST_API_KEY, ...headers } });
      const res = await head(path, headers);
      const seen = (answer: Response) => ({ status: answer.status, type: answer.headers.get('content-type') });
      expect(seen(res), `${path} ${JSON.stringify(headers)}`).toEqual(seen(get));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(await res.text()).toBe('');
    }
    expect(scans).toBe(0);
  });
});
