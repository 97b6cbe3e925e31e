import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * A logged-in user asked for 50 password e-mails in 1.7 s (`POST /users/change-password` with
 * their own id), and 10 more with one GraphQL request of aliased `requestPasswordChange`: each a
 * mail with a live reset ticket. Whatever the identity provider, a user gets at most
 * PASSWORD_EMAIL_MAX_PER_USER of them per window, then 429 with Retry-After. Administrators'
 * bulk change-password jobs count in the same window: several jobs naming one user mailed it once
 * each, without bound; a user over the limit is now a failure of the job, with the reason.
 */
const MAX = 3;
const WINDOW = 600;
const PASSWORD = 'Correct-horse-9';
const anonymous = { 'x-api-key': '' };
let service: TestService;
let counter = 0;
/** Users whose password e-mails the identity provider fails to send (a 500). */
const failingMails = new Set<string>();

beforeAll(async () => {
  service = await startService({
    env: {
      RANDOM_PWD_GEN: 'false',
      PASSWORD_EMAIL_MAX_PER_USER: String(MAX),
      PASSWORD_EMAIL_WINDOW_SECONDS: String(WINDOW),
      JOBS_POLL_MS: '50',
      AUTH0_JOB_POLLING_INTERVAL: '20',
    },
    background: true,
    wrap: (deps) => ({
      auth: {
        ...deps.auth,
        async requestPasswordChange(authUserId: string) {
          if (failingMails.has(authUserId)) throw new UpstreamError('Auth0', 'POST /dbconnections/change_password', 500);
          return deps.auth.requestPasswordChange(authUserId);
        },
      },
    }),
  });
  await seedGroups(service);
});
afterAll(() => service.close());

interface LoggedIn {
  authUserId: string;
  email: string;
  auth: Record<string, string>;
}

/** A new customer, logged in with a bearer token. */
async function loggedInUser(): Promise<LoggedIn> {
  counter += 1;
  const username = `mailer${counter}`;
  const email = `${username}@example.com`;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email,
    name: 'M',
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
  const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
  const login = await service.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous);
  expect(login.status).toBe(200);
  return { authUserId, email, auth: { ...anonymous, authorization: `Bearer ${login.body.accessToken}` } };
}

/** Password e-mails the identity provider was asked to send to the user. */
const mailsTo = (user: LoggedIn) => service.backend.passwordMails(user);

const ask = (user: LoggedIn, authUserId = user.authUserId, headers = user.auth) =>
  service.call('POST', '/users/change-password', { authUserId }, headers);

function expectThrottled(answer: { status: number; body: any; headers: Headers }) {
  expect(answer.status).toBe(429);
  expect(answer.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW);
}

async function finished(path: string) {
  for (let tries = 0; tries < 500; tries += 1) {
    const res = await service.call('GET', path);
    if (res.body.status !== 'pending') return res.body;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${path} still pending`);
}

describe('password e-mails per user', () => {
  it('50 requests at once for oneself: PASSWORD_EMAIL_MAX_PER_USER e-mails, the rest 429 with Retry-After', async () => {
    const user = await loggedInUser();
    const answers = await Promise.all(Array.from({ length: 50 }, () => ask(user)));
    expect(answers.filter((answer) => answer.status === 204)).toHaveLength(MAX);
    const refused = answers.filter((answer) => answer.status !== 204);
    expect(refused).toHaveLength(50 - MAX);
    for (const answer of refused) expectThrottled(answer);
    expect(mailsTo(user)).toBe(MAX);
    // The limit is the user's, whoever asks: an administrator's single request waits too.
    expectThrottled(await service.call('POST', '/users/change-password', { authUserId: user.authUserId }));
    expect(mailsTo(user)).toBe(MAX);
  });

  it('one GraphQL request with 10 aliased requestPasswordChange is refused before any mail; separate requests meet the limit', async () => {
    const user = await loggedInUser();
    const field = (alias: string) => `${alias}: requestPasswordChange(authUserId: $id) { __typename ... on Error { message } }`;
    const aliased = Array.from({ length: 10 }, (_, index) => field(`m${index}`)).join(' ');
    const refused = await service.graphql(`mutation ($id: String!) { ${aliased} }`, { id: user.authUserId }, user.auth);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors?.map((error: { message: string }) => error.message)).toEqual([
      'At most 1 requestPasswordChange per request, found 10.',
    ]);
    expect(mailsTo(user)).toBe(0);

    const one = `mutation ($id: String!) { ${field('m')} }`;
    const answers = await Promise.all(Array.from({ length: MAX + 2 }, () => service.graphql(one, { id: user.authUserId }, user.auth)));
    const kinds = answers.map((answer) => answer.data?.m.__typename as string);
    expect(kinds.filter((kind) => kind === 'MutationRequestPasswordChangeSuccess')).toHaveLength(MAX);
    expect(kinds.filter((kind) => kind === 'TooManyRequestsError')).toHaveLength(2);
    expect(mailsTo(user)).toBe(MAX);
  });

  it("requests refused before any mail (another user's id) do not use up that user's e-mails", async () => {
    const [victim, attacker] = [await loggedInUser(), await loggedInUser()];
    const refused = await Promise.all(Array.from({ length: 10 }, () => ask(attacker, victim.authUserId)));
    expect(refused.map((answer) => answer.status)).toEqual(Array<number>(10).fill(403));
    const own = await Promise.all(Array.from({ length: MAX }, () => ask(victim)));
    expect(own.map((answer) => answer.status)).toEqual(Array<number>(MAX).fill(204));
    expect(mailsTo(victim)).toBe(MAX);
  });

  it('a bulk job counts against the window too: a user who used up their e-mails is a failure of the job, with the reason', async () => {
    const [user, fresh] = [await loggedInUser(), await loggedInUser()];
    await Promise.all(Array.from({ length: MAX + 2 }, () => ask(user)));
    expect(mailsTo(user)).toBe(MAX);
    const job = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: [user.authUserId, fresh.authUserId] });
    expect(job.status).toBe(202);
    const done = await finished(`/jobs/change-password/bulk/${job.body.jobId}`);
    expect(done).toMatchObject({
      status: 'completed',
      summary: { failed: 1, completed: 1, total: 2 },
      completed: [{ authUserId: fresh.authUserId }],
      failures: [{ authUserId: user.authUserId, error: 'Too many password e-mails for this user: try again later' }],
    });
    expect(mailsTo(user)).toBe(MAX);
    expect(mailsTo(fresh)).toBe(1);
  });

  it('a bulk job whose e-mail the identity provider failed to send gives its place in the window back', async () => {
    const user = await loggedInUser();
    failingMails.add(user.authUserId);
    try {
      for (let index = 0; index < MAX; index += 1) {
        const job = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: [user.authUserId] });
        expect(job.status).toBe(202);
        expect(await finished(`/jobs/change-password/bulk/${job.body.jobId}`)).toMatchObject({ summary: { failed: 1, completed: 0 } });
      }
    } finally {
      failingMails.delete(user.authUserId);
    }
    expect(mailsTo(user)).toBe(0);
    for (let index = 0; index < MAX; index += 1) expect((await ask(user)).status).toBe(204);
    expect(mailsTo(user)).toBe(MAX);
  });

  it('several bulk jobs naming one user (REST and GraphQL) send it PASSWORD_EMAIL_MAX_PER_USER e-mails, the others failures', async () => {
    const user = await loggedInUser();
    const started: string[] = [];
    for (let index = 0; index < MAX + 2; index += 1) {
      if (index % 2 === 0) {
        const job = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: [user.authUserId] });
        expect(job.status).toBe(202);
        started.push(job.body.jobId);
      } else {
        const job = await service.graphql(
          'mutation ($ids: [String!]!) { startBulkPasswordChange(authUserIds: $ids) { __typename ... on MutationStartBulkPasswordChangeSuccess { data { jobId } } } }',
          { ids: [user.authUserId] },
        );
        started.push(job.data.startBulkPasswordChange.data.jobId);
      }
    }
    const done = await Promise.all(started.map((jobId) => finished(`/jobs/change-password/bulk/${jobId}`)));
    expect(done.filter((job) => job.summary.completed === 1)).toHaveLength(MAX);
    const refused = done.filter((job) => job.summary.failed === 1);
    expect(refused).toHaveLength(2);
    for (const job of refused) {
      expect(job.failures).toEqual([{ authUserId: user.authUserId, error: 'Too many password e-mails for this user: try again later' }]);
    }
    expect(mailsTo(user)).toBe(MAX);
    // The window is the user's whoever asks: their own request is refused now too.
    expectThrottled(await ask(user));
    expect(mailsTo(user)).toBe(MAX);
  });
});
