import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UserStore } from '../../../src/ports/user-store.js';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

// Counts the argon2 hashes the service computes (the real function still runs).
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...real, hash: vi.fn(real.hash) };
});

/**
 * Attacks on password reset in the embedded provider: hashing for strangers, an old ticket that
 * outlives a newer one, and logins that verified the old password while a reset replaced it.
 */
const OLD = 'Old-password-1';
const NEW = 'New-password-2';
const anonymous = { 'x-api-key': '' };
let service: TestService;
let counter = 0;
/** Runs once inside the next login of `target`, between its password check and its session. */
let duringLogin: { target: string; run: () => Promise<void> } | undefined;

beforeAll(async () => {
  service = await startService({
    env: { RANDOM_PWD_GEN: 'false', LOGIN_IP_MAX_FAILURES: '10000', LOGIN_MAX_ATTEMPTS: '1000', PASSWORD_RESET_IP_MAX_ATTEMPTS: '1000' },
    // The embedded provider reads the user's profile after the password verified and before it
    // opens the session: the hook runs a reset exactly there.
    wrap: (deps) => {
      const find = deps.users.find.bind(deps.users);
      (deps.users as { find: UserStore['find'] }).find = async (filter, options) => {
        const hook = duringLogin;
        if (hook && (filter as { authUserId?: unknown }).authUserId === hook.target) {
          duringLogin = undefined;
          await hook.run();
        }
        return find(filter, options);
      };
      return {};
    },
  });
  await seedGroups(service);
});
afterAll(() => service.close());
beforeEach(() => {
  duringLogin = undefined;
});

async function newUser(): Promise<{ username: string; authUserId: string }> {
  counter += 1;
  const username = `reset${counter}`;
  const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'R',
    password: OLD,
  });
  expect(res.status).toBe(200);
  return (await service.call('GET', `/users/${res.body._id}`)).body;
}

/** Asks for a reset e-mail and answers the ticket of its link. */
async function ticketFor(authUserId: string): Promise<string> {
  expect((await service.call('POST', '/users/change-password', { authUserId })).status).toBe(204);
  const outbox = (await service.graphql('{ mailOutbox { text } }')).data.mailOutbox as { text: string }[];
  return /\/password-reset\?ticket=([\w-]+)/.exec(outbox[0]!.text)![1]!;
}

const login = (username: string, password: string) => service.call('POST', '/oauth/token', { username, password }, anonymous);
const reset = (ticket: string, password: string) => service.call('POST', '/password-reset', { ticket, password }, anonymous);
const userinfo = (token: string) => service.call('GET', '/userinfo', undefined, { ...anonymous, authorization: `Bearer ${token}` });

describe('password reset', () => {
  it('never hashes a password for a ticket that is not live', async () => {
    const before = vi.mocked(hash).mock.calls.length;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => reset(`forged-ticket-${index}`, NEW)));
    expect(answers.map((answer) => answer.status)).toEqual(Array<number>(20).fill(400));
    expect(vi.mocked(hash).mock.calls.length).toBe(before);
  });

  it('a used ticket hashes nothing either, and sets nothing', async () => {
    const user = await newUser();
    const ticket = await ticketFor(user.authUserId);
    expect((await reset(ticket, NEW)).status).toBe(204);
    const before = vi.mocked(hash).mock.calls.length;
    expect((await reset(ticket, 'Third-password-3')).status).toBe(400);
    expect(vi.mocked(hash).mock.calls.length).toBe(before);
    expect((await login(user.username, NEW)).status).toBe(200);
  });

  it('refuses an older ticket once a newer one was used', async () => {
    const user = await newUser();
    const older = await ticketFor(user.authUserId);
    const newer = await ticketFor(user.authUserId);
    expect((await reset(newer, NEW)).status).toBe(204);
    const res = await reset(older, 'Attacker-pass-3');
    expect(res.status).toBe(400);
    expect((await login(user.username, 'Attacker-pass-3')).status).toBe(401);
    expect((await login(user.username, NEW)).status).toBe(200);
  });

  it('two posts of one ticket at once set one password', async () => {
    const user = await newUser();
    const ticket = await ticketFor(user.authUserId);
    const answers = await Promise.all([reset(ticket, 'First-racer-1'), reset(ticket, 'Second-racer-2')]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([204, 400]);
  });
});

describe('sessions after a reset', () => {
  it('a login that verified the old password while the reset ran gets 401, not a session', async () => {
    const user = await newUser();
    const ticket = await ticketFor(user.authUserId);
    duringLogin = {
      target: user.authUserId,
      run: async () => expect((await reset(ticket, NEW)).status).toBe(204),
    };
    const res = await login(user.username, OLD);
    expect(duringLogin).toBeUndefined();
    if (res.status === 200) expect((await userinfo(res.body.accessToken)).status).toBe(401);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Wrong username or password' });
  });

  it('60 logins with the old password racing a reset leave no working token or refresh token', async () => {
    const user = await newUser();
    const ticket = await ticketFor(user.authUserId);
    const before = await login(user.username, OLD);
    const [done, ...logins] = await Promise.all([reset(ticket, NEW), ...Array.from({ length: 60 }, () => login(user.username, OLD))]);
    expect(done!.status).toBe(204);
    const opened = [before, ...logins].filter((res) => res.status === 200);
    for (const res of opened) {
      expect((await userinfo(res.body.accessToken)).status).toBe(401);
      const refreshed = await service.call(
        'POST',
        '/refreshtoken',
        { refreshToken: res.body.refreshToken },
        { ...anonymous, authorization: `Bearer ${res.body.accessToken}` },
      );
      expect(refreshed.status).toBe(401);
    }
    expect((await login(user.username, NEW)).status).toBe(200);
  });
});
