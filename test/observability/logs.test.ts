import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserStore } from '../../src/ports/user-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * Issue #21: the access log (one line per request), the security events, and that no secret of
 * the workload (password, tokens, API key, reset ticket, session cookie) reaches the log.
 * The service logs through the logger main.ts uses (observability/logger.ts).
 */
const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Secret-horse-7731';
const NEW_PASSWORD = 'Brand-new-horse-9904';
const ERROR = 50;

interface Line {
  level: number;
  msg?: string;
  event?: string;
  reqId?: string;
  [field: string]: unknown;
}

let service: TestService;
let text = '';
const lines: Line[] = [];
let failing = false;
/** Secrets the workload used, to look for in the whole log. */
const secrets = new Set<string>([PASSWORD, NEW_PASSWORD, TEST_API_KEY]);

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      lines.push(JSON.parse(String(chunk)) as Line);
      done();
    },
  });
  service = await startService({
    logger: createLogger({ level: 'debug', destination: sink }),
    env: { RANDOM_PWD_GEN: 'false', LOGIN_MAX_ATTEMPTS: '2', WEBSITE_CLIENT_TYPES: 'backoffice' },
    wrap: (deps) => ({ users: failingGet(deps.users) }),
  });
  await seedGroups(service);
  await service.deps.groups.saveGroup(
    { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
    { actorId: 't', headers: {} },
  );
});
afterAll(() => service.close());

/** `users.get` throws a plain Error (a bug, a broken disk) while `failing` is set. */
function failingGet(users: UserStore): UserStore {
  return {
    ...users,
    get: (...args) => {
      if (failing) throw new Error('disk on fire');
      return users.get(...args);
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const accessLines = () => lines.filter((line) => line.msg === 'request');
const events = (event: string) => lines.filter((line) => line.event === event);
const login = (username: string, password: string, headers: Record<string, string> = {}) =>
  service.call('POST', '/oauth/token', { username, password }, { ...anonymous, ...headers });

async function createUser(username: string, userGroup = 'customer') {
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup,
    username,
    email: `${username}@example.com`,
    name: username,
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
  return (await service.call('GET', `/users/${created.body._id}`)).body as { _id: string; authUserId: string };
}

describe('the access log', () => {
  it('writes one line per request: id, method, route template, path without query, status, duration, caller', async () => {
    lines.length = 0;
    const answer = await service.call('GET', '/users/?_l=1&email=hidden%40example.com', undefined, { 'x-request-id': 'log-1' });
    await service.call('GET', '/users/count', undefined, anonymous);
    await service.call('GET', '/users/000000000000000000000001');
    await settle();
    expect(answer.headers.get('x-request-id')).toBe('log-1');
    const [list, stranger, missing] = accessLines();
    expect(list).toMatchObject({
      level: 30,
      reqId: 'log-1',
      method: 'GET',
      route: '/users/',
      path: '/users/',
      status: 200,
      caller: 'service',
    });
    expect(list!.ms).toEqual(expect.any(Number));
    expect(stranger).toMatchObject({ level: 30, route: '/users/count', status: 401, caller: 'anonymous' });
    expect(missing).toMatchObject({ level: 30, route: '/users/:id', path: '/users/000000000000000000000001', status: 404 });
    expect(accessLines()).toHaveLength(3);
    // The query string (a filter on an e-mail here, a reset ticket elsewhere) is never written.
    expect(text).not.toContain('hidden');
  });

  it('names the caller: a user, an administrator', async () => {
    await createUser('plain');
    await createUser('boss', 'admin');
    const userToken = (await login('plain', PASSWORD)).body.accessToken as string;
    const adminToken = (await login('boss', PASSWORD)).body.accessToken as string;
    secrets.add(userToken).add(adminToken);
    lines.length = 0;
    await service.call('GET', '/userinfo', undefined, { ...anonymous, authorization: `Bearer ${userToken}` });
    await service.call('GET', '/users/count', undefined, { ...anonymous, authorization: `Bearer ${adminToken}` });
    await settle();
    expect(accessLines().map((line) => [line.route, line.caller])).toEqual([
      ['/userinfo', 'user'],
      ['/users/count', 'admin'],
    ]);
  });

  it('logs clients’ errors below error level, and an unexpected error at error level with the request id', async () => {
    lines.length = 0;
    await service.graphql('query Broken { nope }');
    await service.call('POST', '/users/', { userGroup: 'customer' });
    await service.call('GET', '/users/count', undefined, { ...anonymous, authorization: 'Bearer x.y.z' });
    await settle();
    expect(lines.filter((line) => line.level >= ERROR)).toEqual([]);
    failing = true;
    try {
      const answer = await service.call('GET', '/users/000000000000000000000001', undefined, { 'x-request-id': 'boom-1' });
      expect(answer.status).toBe(500);
    } finally {
      failing = false;
    }
    await settle();
    const errors = lines.filter((line) => line.level >= ERROR);
    expect(errors).toEqual([
      expect.objectContaining({ reqId: 'boom-1', err: expect.objectContaining({ message: expect.stringMatching(/disk on fire/) }) }),
    ]);
    expect(accessLines().at(-1)).toMatchObject({ reqId: 'boom-1', status: 500, level: 40 });
  });
});

describe('security events', () => {
  it('logs logins, failures, the lockout and the unlock', async () => {
    const user = await createUser('eve');
    lines.length = 0;
    expect((await login('eve', PASSWORD, { 'x-forwarded-for': '10.1.1.1' })).status).toBe(200);
    expect((await login('eve', 'Wrong-horse-1')).status).toBe(401);
    expect((await login('eve', 'Wrong-horse-2')).status).toBe(401);
    expect((await login('eve', PASSWORD)).status).toBe(429);
    expect((await service.graphql(`mutation { unlockUser(id: "${user._id}") { __typename } }`)).data).toEqual({
      unlockUser: { __typename: 'MutationUnlockUserSuccess' },
    });
    await settle();
    expect(events('login.succeeded')).toEqual([
      expect.objectContaining({ level: 30, username: 'eve', authUserId: user.authUserId, ip: expect.any(String) }),
    ]);
    expect(events('login.failed').map((line) => [line.level, line.reason])).toEqual([
      [40, 'invalid_credentials'],
      [40, 'invalid_credentials'],
      [40, 'locked'],
    ]);
    expect(events('login.lockout')).toEqual([expect.objectContaining({ level: 40, username: 'eve' })]);
    expect(events('account.unlocked')).toEqual([
      expect.objectContaining({ userId: user._id, authUserId: user.authUserId, actor: 'api-key' }),
    ]);
  });

  it('logs a password reset asked and completed, and a session ended by logout', async () => {
    const user = await createUser('zoe');
    lines.length = 0;
    expect((await service.call('POST', '/users/change-password', { authUserId: user.authUserId })).status).toBe(204);
    const [mail] = (await service.graphql('{ mailOutbox(first: 1) { text } }')).data.mailOutbox as { text: string }[];
    const ticket = decodeURIComponent(/ticket=([^\s"&]+)/.exec(mail!.text)![1]!);
    secrets.add(ticket);
    expect((await fetch(`${service.url}/password-reset?ticket=${encodeURIComponent(ticket)}`)).status).toBe(200);
    const reset = await service.call('POST', '/password-reset', { ticket, password: NEW_PASSWORD }, anonymous);
    expect(reset.status).toBe(204);
    const tokens = (await login('zoe', NEW_PASSWORD)).body as { accessToken: string; refreshToken: string };
    secrets.add(tokens.accessToken).add(tokens.refreshToken);
    const refreshed = await service.call(
      'POST',
      '/refreshtoken',
      { refreshToken: tokens.refreshToken },
      {
        ...anonymous,
        authorization: `Bearer ${tokens.accessToken}`,
      },
    );
    secrets.add(refreshed.body.accessToken).add(refreshed.body.refreshToken);
    const website = await login('zoe', NEW_PASSWORD, { 'client-type': 'backoffice' });
    const cookie = /sid=([^;]+)/.exec(website.headers.get('set-cookie') ?? '')![1]!;
    secrets.add(cookie);
    await service.call('GET', '/userinfo', undefined, { ...anonymous, cookie: `sid=${cookie}` });
    expect(
      (await service.call('POST', '/logout', undefined, { ...anonymous, authorization: `Bearer ${refreshed.body.accessToken}` })).status,
    ).toBe(204);
    await settle();
    expect(events('password_reset.requested')).toEqual([expect.objectContaining({ authUserId: user.authUserId })]);
    expect(events('password_reset.completed')).toEqual([expect.objectContaining({ authUserId: user.authUserId })]);
    expect(events('session.revoked')).toEqual([expect.objectContaining({ authUserId: user.authUserId, reason: 'logout' })]);
  });

  it('logs an administrator created, and a change of group or roles', async () => {
    lines.length = 0;
    const admin = await createUser('root2', 'admin');
    const user = await createUser('promoted');
    expect((await service.call('PATCH', `/users/${user._id}`, { $set: { userGroup: 'admin' } })).status).toBe(200);
    expect((await service.call('PATCH', `/users/${user._id}`, { $set: { roles: ['auditor'] } })).status).toBe(200);
    await settle();
    expect(events('admin.created')).toEqual([expect.objectContaining({ userId: admin._id, userGroup: 'admin', username: 'root2' })]);
    expect(events('role.changed')).toEqual([
      expect.objectContaining({ userId: user._id, userGroup: { from: 'customer', to: 'admin' }, admin: 'granted' }),
      expect.objectContaining({ userId: user._id, roles: { from: [], to: ['auditor'] } }),
    ]);
    // Moving into an admin group ends the user's sessions.
    expect(events('session.revoked')).toEqual([expect.objectContaining({ authUserId: user.authUserId, reason: 'access_changed' })]);
  });

  it('never writes a secret of the workload', async () => {
    expect(secrets.size).toBeGreaterThan(8);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/Bearer /);
  });
});
