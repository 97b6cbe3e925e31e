import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * The lockout must not tell which username and which e-mail belong to one account: a stranger who
 * alternates wrong passwords between a username and an e-mail must see exactly what they see for
 * two names that match no account (each name locked on its own, after the same number of tries).
 */
const PASSWORD = 'Correct-horse-9';
const MAX = 5;
const LOCK = 600;
const anonymous = { 'x-api-key': '' };
let service: TestService;
let counter = 0;

beforeAll(async () => {
  // The per-address throttle is out of the way: the attack is on the lockout's own answers.
  service = await startService({
    env: { RANDOM_PWD_GEN: 'false', LOGIN_MAX_ATTEMPTS: String(MAX), LOGIN_LOCK_SECONDS: String(LOCK), LOGIN_IP_MAX_FAILURES: '10000' },
  });
  await seedGroups(service);
});
afterAll(() => service.close());

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

const login = (username: string, password: string) => service.call('POST', '/oauth/token', { username, password }, anonymous);
const statuses = (answers: { status: number }[]) => answers.map((answer) => answer.status);

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
