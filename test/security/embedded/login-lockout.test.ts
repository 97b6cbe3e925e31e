import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * Attacks on the embedded provider's account lockout: parallel guesses that all read the counter
 * before any of them failed, and lockout answers that tell which accounts exist.
 */
const PASSWORD = 'Correct-horse-9';
const MAX = 5;
const LOCK = 600;
const anonymous = { 'x-api-key': '' };
let service: TestService;
let counter = 0;
/** The service's clock: a lock ends when the test moves it. */
const clock = new FakeClock();

beforeAll(async () => {
  // The per-address throttle is out of the way: these attacks are on the account's own lockout.
  service = await startService({
    clock,
    env: { RANDOM_PWD_GEN: 'false', LOGIN_MAX_ATTEMPTS: String(MAX), LOGIN_LOCK_SECONDS: String(LOCK), LOGIN_IP_MAX_FAILURES: '10000' },
  });
  await seedGroups(service);
});
afterAll(() => service.close());

async function newUser(): Promise<{ username: string; authUserId: string; _id: string }> {
  counter += 1;
  const username = `lock${counter}`;
  const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'L',
    password: PASSWORD,
  });
  expect(res.status).toBe(200);
  return (await service.call('GET', `/users/${res.body._id}`)).body;
}

const login = (username: string, password: string) => service.call('POST', '/oauth/token', { username, password }, anonymous);
const guesses = (username: string, n: number) =>
  Promise.all(Array.from({ length: n }, (_, index) => login(username, `Wrong-guess-${index}`)));
const statuses = (answers: { status: number }[]) => answers.map((answer) => answer.status);

describe('account lockout under parallel guesses', () => {
  it('40 wrong passwords sent at once: at most LOGIN_MAX_ATTEMPTS are checked, the rest and then the right password get 429', async () => {
    const user = await newUser();
    const answers = await guesses(user.username, 40);
    expect(statuses(answers).filter((status) => status === 401)).toHaveLength(MAX);
    expect(statuses(answers).filter((status) => status === 429)).toHaveLength(40 - MAX);
    const right = await login(user.username, PASSWORD);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a lock lasts LOGIN_LOCK_SECONDS on the service clock, then the right password logs in', async () => {
    const user = await newUser();
    await guesses(user.username, MAX);
    const locked = await login(user.username, PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBe(LOCK);
    await clock.advance((LOCK - 1) * 1000);
    expect((await login(user.username, PASSWORD)).headers.get('retry-after')).toBe('1');
    await clock.advance(1000);
    expect((await login(user.username, PASSWORD)).status).toBe(200);
  });

  it('guesses by e-mail and by username each have LOGIN_MAX_ATTEMPTS, whatever the case typed (login-lockout-pairs.test.ts: why not one budget)', async () => {
    const user = await newUser();
    const email = `${user.username}@example.com`;
    const answers = await Promise.all([guesses(user.username, 20), guesses(email.toUpperCase(), 10), guesses(email, 10)]);
    expect(statuses(answers.flat()).filter((status) => status === 401)).toHaveLength(2 * MAX);
    expect((await login(user.username, PASSWORD)).status).toBe(429);
    expect((await login(email, PASSWORD)).status).toBe(429);
  });

  it('an administrator unlock lets the user in again', async () => {
    const user = await newUser();
    await guesses(user.username, 10);
    const unlocked = await service.graphql('mutation ($id: ID!) { unlockUser(id: $id) { __typename } }', { id: user._id });
    expect(unlocked.data.unlockUser.__typename).toBe('MutationUnlockUserSuccess');
    expect((await login(user.username, PASSWORD)).status).toBe(200);
  });

  it('a successful login ends the streak: the next guesses start from zero', async () => {
    const user = await newUser();
    for (let round = 0; round < 3; round += 1) {
      expect(statuses(await guesses(user.username, MAX - 1)).every((status) => status === 401)).toBe(true);
      expect((await login(user.username, PASSWORD)).status).toBe(200);
    }
  });
});

describe('lockout answers do not tell which accounts exist', () => {
  /** What a stranger sees of a run of wrong passwords, one after the other. */
  async function probe(username: string) {
    const seen: { status: number; body: unknown; retryAfter: number | undefined }[] = [];
    for (let attempt = 0; attempt < MAX + 3; attempt += 1) {
      const res = await login(username, `Wrong-guess-${attempt}`);
      const retryAfter = res.headers.get('retry-after');
      seen.push({ status: res.status, body: res.body, retryAfter: retryAfter === null ? undefined : Number(retryAfter) });
    }
    return seen;
  }

  it('an unknown username gets the same statuses, bodies and Retry-After as a known one', async () => {
    const user = await newUser();
    const known = await probe(user.username);
    const unknown = await probe(`ghost-${user.username}`);
    expect(known.map((answer) => answer.status)).toEqual([...Array<number>(MAX).fill(401), 429, 429, 429]);
    expect(unknown.map(({ status, body }) => ({ status, body }))).toEqual(known.map(({ status, body }) => ({ status, body })));
    for (const [index, answer] of unknown.entries()) {
      expect(answer.retryAfter === undefined).toBe(known[index]!.retryAfter === undefined);
      if (answer.retryAfter === undefined) continue;
      expect(answer.retryAfter).toBeGreaterThan(0);
      expect(answer.retryAfter).toBeLessThanOrEqual(LOCK);
      expect(Math.abs(answer.retryAfter - known[index]!.retryAfter!)).toBeLessThanOrEqual(1);
    }
  });

  it('parallel guesses at an unknown username are locked after as many tries as at a known one', async () => {
    const answers = await guesses('nobody-here-at-all', 40);
    expect(statuses(answers).filter((status) => status === 401)).toHaveLength(MAX);
    expect(statuses(answers).filter((status) => status === 429)).toHaveLength(40 - MAX);
  });

  it('a name that differs only in case is the same name', async () => {
    await guesses('Case-Ghost', MAX);
    expect((await login('case-ghost', 'Wrong-guess')).status).toBe(429);
  });
});

/**
 * Pairs: the lockout must not tell which username and which e-mail belong to one account: a stranger who
 * alternates wrong passwords between a username and an e-mail must see exactly what they see for
 * two names that match no account (each name locked on its own, after the same number of tries).
 */
/** A real account's username and e-mail, and a pair of names that match no account. */
async function pairs(): Promise<{ known: [string, string]; unknown: [string, string]; _id: string }> {
  counter += 1;
  const username = `pull${counter}`;
  const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@x.com`,
    name: 'P',
    password: PASSWORD,
  });
  expect(res.status).toBe(200);
  return { known: [username, `${username}@x.com`], unknown: [`ghost${counter}`, `ghost${counter}@x.com`], _id: res.body._id };
}

/** Wrong passwords alternating between the two names, one after the other: what a stranger sees. */
async function alternate([first, second]: [string, string], attempts: number) {
  const seen: { status: number; body: unknown; retryAfter: boolean }[] = [];
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const res = await login(attempt % 2 === 0 ? first : second, `Wrong-guess-${attempt}`);
    seen.push({ status: res.status, body: res.body, retryAfter: res.headers.has('retry-after') });
  }
  return seen;
}

describe('lockout answers do not pair a username with its e-mail', () => {
  it('alternating wrong passwords: a real username/e-mail pair answers exactly like two unknown names', async () => {
    const { known, unknown } = await pairs();
    const real = await alternate(known, 2 * MAX + 2);
    const ghost = await alternate(unknown, 2 * MAX + 2);
    expect(statuses(ghost)).toEqual([...Array<number>(2 * MAX).fill(401), 429, 429]);
    expect(real).toEqual(ghost);
  });

  it('the same guesses sent at once: each name of the pair gets LOGIN_MAX_ATTEMPTS tries, known or not', async () => {
    const { known, unknown } = await pairs();
    const burst = ([first, second]: [string, string]) =>
      Promise.all(Array.from({ length: 4 * MAX }, (_, index) => login(index % 2 === 0 ? first : second, `Wrong-guess-${index}`)));
    const count = (answers: { status: number }[], status: number) => statuses(answers).filter((seen) => seen === status).length;
    const [real, ghost] = await Promise.all([burst(known), burst(unknown)]);
    for (const answers of [real, ghost]) {
      expect(count(answers, 401)).toBe(2 * MAX);
      expect(count(answers, 429)).toBe(2 * MAX);
    }
  });

  it('a locked username locks only that name: the e-mail answers as an unknown name would, and the owner can still log in with it', async () => {
    const { known, unknown } = await pairs();
    for (const name of [known[0], unknown[0]]) {
      expect(statuses(await Promise.all(Array.from({ length: MAX }, (_, index) => login(name, `Wrong-${index}`))))).toEqual(
        Array<number>(MAX).fill(401),
      );
      expect((await login(name, 'Wrong-again')).status).toBe(429);
    }
    expect((await login(known[1], 'Wrong-other')).status).toBe((await login(unknown[1], 'Wrong-other')).status);
    expect((await login(known[1], PASSWORD)).status).toBe(200);
    expect((await login(known[0], PASSWORD)).status).toBe(429);
  });

  it('an administrator unlock clears the username and the e-mail', async () => {
    const { known, _id } = await pairs();
    await alternate(known, 2 * MAX);
    expect((await login(known[0], PASSWORD)).status).toBe(429);
    expect((await login(known[1].toUpperCase(), PASSWORD)).status).toBe(429);
    const unlocked = await service.graphql('mutation ($id: ID!) { unlockUser(id: $id) { __typename } }', { id: _id });
    expect(unlocked.data.unlockUser.__typename).toBe('MutationUnlockUserSuccess');
    expect((await login(known[0], PASSWORD)).status).toBe(200);
    expect((await login(known[1], PASSWORD)).status).toBe(200);
  });
});

describe('the size of a login', () => {
  const graphqlLogin = (username: string, password: string) =>
    service.graphql(
      'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { __typename ... on Error { message } } }',
      { u: username, p: password },
      anonymous,
    );

  it('refuses a username over 320 characters or a password over 1,024 with a 400, counting nothing against the account', async () => {
    const user = await newUser();
    // GraphQL took any length: each try was counted against the name and hashed (argon2 of up to BODY_LIMIT_BYTES).
    for (let attempt = 0; attempt < MAX; attempt += 1) {
      const refused = await graphqlLogin(user.username, 'p'.repeat(1025));
      expect(refused.data.login).toEqual({ __typename: 'InvalidInputError', message: expect.stringMatching(/1,024/) });
    }
    expect((await login(user.username, PASSWORD)).status).toBe(200);
    for (const [username, password] of [
      ['u'.repeat(321), PASSWORD],
      [user.username, 'p'.repeat(1025)],
    ]) {
      const refused = await login(username!, password!);
      expect(refused.status).toBe(400);
      expect((await graphqlLogin(username!, password!)).data.login.__typename).toBe('InvalidInputError');
    }
    // At the limits, an ordinary refusal.
    expect((await login('u'.repeat(320), 'p'.repeat(1024))).status).toBe(401);
  });
});
