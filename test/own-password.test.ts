import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from './helpers/service.js';

const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Correct-horse-9';
const NEW_PASSWORD = 'Battery-staple-7';

const CHANGE = `mutation ($c: String!, $n: String!) { changeOwnPassword(currentPassword: $c, newPassword: $n) {
  __typename
  ... on MutationChangeOwnPasswordSuccess { data }
  ... on Error { message code }
  ... on TooManyRequestsError { retryAfterSeconds }
} }`;

async function createUser(service: TestService, username: string): Promise<void> {
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: username,
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
}

async function login(service: TestService, username: string, password: string) {
  return service.call('POST', '/oauth/token', { username, password }, anonymous);
}

async function signedIn(service: TestService, username: string) {
  const res = await login(service, username, PASSWORD);
  expect(res.status).toBe(200);
  return { tokens: res.body, headers: { ...anonymous, authorization: `Bearer ${res.body.accessToken}` } };
}

describe('changeOwnPassword (embedded identity provider)', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ identity: 'embedded', env: { RANDOM_PWD_GEN: 'false', LOGIN_MAX_ATTEMPTS: '2' } });
    await seedGroups(service);
  });
  afterAll(() => service.close());

  it('refuses a wrong current password and counts it toward the login lockout', async () => {
    await createUser(service, 'wrongcur');
    const { headers } = await signedIn(service, 'wrongcur');
    const first = await service.graphql(CHANGE, { c: 'Not-the-one-1', n: NEW_PASSWORD }, headers);
    expect(first.data.changeOwnPassword).toEqual({
      __typename: 'UnauthorizedError',
      message: 'The current password is wrong',
      code: 'UNAUTHORIZED',
    });
    await service.graphql(CHANGE, { c: 'Not-the-one-2', n: NEW_PASSWORD }, headers);
    // Two failures with LOGIN_MAX_ATTEMPTS=2: the account's name is locked, even for the right password.
    expect((await login(service, 'wrongcur', PASSWORD)).status).toBe(429);
    const locked = await service.graphql(CHANGE, { c: PASSWORD, n: NEW_PASSWORD }, headers);
    expect(locked.data.changeOwnPassword).toMatchObject({ __typename: 'TooManyRequestsError', code: 'TOO_MANY_REQUESTS' });
    expect(locked.data.changeOwnPassword.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('answers a typed invalid-input error for a weak new password and keeps the old one', async () => {
    await createUser(service, 'weaknew');
    const { headers } = await signedIn(service, 'weaknew');
    const weak = await service.graphql(CHANGE, { c: PASSWORD, n: 'short' }, headers);
    expect(weak.data.changeOwnPassword.__typename).toBe('InvalidInputError');
    expect(weak.data.changeOwnPassword.message).toMatch(/^newPassword must have/);
    expect((await login(service, 'weaknew', PASSWORD)).status).toBe(200);
  });

  it('sets the new password, keeps the caller signed in and ends its other sessions', async () => {
    await createUser(service, 'changer');
    const other = await signedIn(service, 'changer');
    const mine = await signedIn(service, 'changer');
    const res = await service.call('POST', '/graphql', { query: CHANGE, variables: { c: PASSWORD, n: NEW_PASSWORD } }, mine.headers);
    expect(res.body.data.changeOwnPassword).toEqual({ __typename: 'MutationChangeOwnPasswordSuccess', data: true });
    expect(JSON.stringify(res.body)).not.toMatch(/ey[A-Za-z0-9_-]{10,}|\$argon|\$scrypt|\$2[aby]\$/);

    expect((await login(service, 'changer', PASSWORD)).status).toBe(401);
    expect((await login(service, 'changer', NEW_PASSWORD)).status).toBe(200);
    const refreshOther = await service.call('POST', '/refreshtoken', { refreshToken: other.tokens.refreshToken }, other.headers);
    expect(refreshOther.status).toBe(401);
    const me = await service.graphql('{ me { __typename } }', undefined, other.headers);
    expect(me.data.me.__typename).toBe('UnauthorizedError');
    // The caller's own session goes on.
    const refreshMine = await service.call('POST', '/refreshtoken', { refreshToken: mine.tokens.refreshToken }, mine.headers);
    expect(refreshMine.status).toBe(200);
  });

  it('refuses an API key: it has no password of its own', async () => {
    const res = await service.graphql(CHANGE, { c: PASSWORD, n: NEW_PASSWORD });
    expect(res.data.changeOwnPassword.__typename).toBe('InvalidInputError');
  });

  it('runs at most one password mutation per request', async () => {
    const twice = `mutation { a: changeOwnPassword(currentPassword: "x", newPassword: "y") { __typename }
      b: changeOwnPassword(currentPassword: "x", newPassword: "y") { __typename } }`;
    const res = await service.call('POST', '/graphql', { query: twice }, anonymous);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.errors)).toMatch(/password/i);
  });
});

describe('changeOwnPassword (connected identity provider)', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ identity: 'auth0', env: { RANDOM_PWD_GEN: 'false' } });
    await seedGroups(service);
  });
  afterAll(() => service.close());

  it("answers a clear 400-style error pointing to the provider's reset e-mail", async () => {
    await createUser(service, 'remote');
    const { headers } = await signedIn(service, 'remote');
    const res = await service.graphql(CHANGE, { c: PASSWORD, n: NEW_PASSWORD }, headers);
    expect(res.data.changeOwnPassword.__typename).toBe('InvalidInputError');
    expect(res.data.changeOwnPassword.message).toMatch(/requestPasswordChange.*reset e-mail/);
    expect((await login(service, 'remote', PASSWORD)).status).toBe(200);
  });
});
