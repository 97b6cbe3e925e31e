import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from './helpers/service.js';

const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Correct-horse-9';
const logLines: string[] = [];
let service: TestService;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  service = await startService({
    env: { RANDOM_PWD_GEN: 'false', WEBSITE_CLIENT_TYPES: 'backoffice', COOKIE_SECURE: 'true', LOGIN_MAX_ATTEMPTS: '2' },
    logger: pino({ level: 'info' }, sink),
  });
  await seedGroups(service);
  await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: 'gq',
    email: 'gq@example.com',
    name: 'G',
    password: PASSWORD,
  });
});
afterAll(() => service.close());

const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) {
  __typename
  ... on MutationLoginSuccess { data { accessToken refreshToken expireAt } }
  ... on Error { message code }
  ... on TooManyRequestsError { retryAfterSeconds }
} }`;

describe('GraphQL authentication', () => {
  it('logs in, refreshes, and logs out', async () => {
    const login = await service.graphql(LOGIN, { u: 'gq', p: PASSWORD }, anonymous);
    const tokens = login.data.login.data;
    expect(tokens.accessToken).toMatch(/^ey/);
    const asUser = { ...anonymous, authorization: `Bearer ${tokens.accessToken}` };

    const refreshed = await service.graphql(
      'mutation ($r: String!) { refreshToken(refreshToken: $r) { ... on MutationRefreshTokenSuccess { data { accessToken refreshToken } } } }',
      { r: tokens.refreshToken },
      asUser,
    );
    const next = refreshed.data.refreshToken.data;
    expect(next.refreshToken).not.toBe(tokens.refreshToken);

    const asNext = { ...anonymous, authorization: `Bearer ${next.accessToken}` };
    const out = await service.graphql('mutation { logout { ... on MutationLogoutSuccess { data } } }', undefined, asNext);
    expect(out.data.logout.data).toBe(true);
    const after = await service.graphql('{ me { __typename } }', undefined, asNext);
    expect(after.data.me.__typename).toBe('UnauthorizedError');
  });

  it('answers typed errors for bad credentials and a locked account', async () => {
    const wrong = await service.graphql(LOGIN, { u: 'gq', p: 'Wrong-pass-1' }, anonymous);
    expect(wrong.data.login).toEqual({ __typename: 'UnauthorizedError', message: 'Wrong username or password', code: 'UNAUTHORIZED' });
    await service.graphql(LOGIN, { u: 'gq', p: 'Wrong-pass-1' }, anonymous);
    const locked = await service.graphql(LOGIN, { u: 'gq', p: PASSWORD }, anonymous);
    expect(locked.data.login).toMatchObject({ __typename: 'TooManyRequestsError', code: 'TOO_MANY_REQUESTS' });
    expect(locked.data.login.retryAfterSeconds).toBeGreaterThan(0);
    const [profile] = await service.deps.users.find({ username: 'gq' }, { states: ['PUBLIC'] });
    await service.graphql(`mutation { unlockUser(id: "${profile!._id}") { __typename } }`);
  });

  it('sets a Secure sid cookie for website clients', async () => {
    const res = await service.call(
      'POST',
      '/graphql',
      { query: LOGIN, variables: { u: 'gq', p: PASSWORD } },
      { ...anonymous, 'client-type': 'backoffice' },
    );
    expect(res.body.data.login.data).toEqual({ accessToken: null, refreshToken: null, expireAt: null });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^sid=/);
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('HttpOnly');
  });

  it('resets a password from the outbox link, and never logs the link', async () => {
    const [profile] = await service.deps.users.find({ username: 'gq' }, { states: ['PUBLIC'] });
    const asked = await service.graphql('mutation ($id: String!) { requestPasswordChange(authUserId: $id) { __typename } }', {
      id: profile!.authUserId,
    });
    expect(asked.data.requestPasswordChange.__typename).toBe('MutationRequestPasswordChangeSuccess');
    const [mail] = (await service.graphql('{ mailOutbox(first: 1) { text } }')).data.mailOutbox;
    const ticket = /ticket=([\w%-]+)/.exec(mail.text)![1]!;
    expect(logLines.join('')).toContain('mail kept in the outbox');
    expect(logLines.join('')).not.toContain(ticket);

    const reset = await service.graphql(
      'mutation ($t: String!, $p: String!) { resetPassword(ticket: $t, password: $p) { __typename ... on InvalidInputError { message } } }',
      { t: decodeURIComponent(ticket), p: 'Brand-new-pass-2' },
      anonymous,
    );
    expect(reset.data.resetPassword.__typename).toBe('MutationResetPasswordSuccess');
    const login = await service.graphql(LOGIN, { u: 'gq', p: 'Brand-new-pass-2' }, anonymous);
    expect(login.data.login.__typename).toBe('MutationLoginSuccess');
    expect(logLines.join('')).not.toContain('Brand-new-pass-2');
  });
});
