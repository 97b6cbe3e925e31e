import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMER_SECRET_HEADER } from '../../src/domain/expiration.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * Issue #16 follow-up (part 6: credentials before the body): `POST /internal/expirations` was a
 * public route whose operation checked the Timer Service's secret, so an anonymous `{bad` got the
 * JSON parser's 400 instead of a 401. Only the Timer Service (its secret) or an administrator may
 * call it, and that is checked before the body is read.
 */
const anonymous = { 'x-api-key': '' };
const json = { 'content-type': 'application/json' };
const PASSWORD = 'Correct-horse-9';
const PATH = '/internal/expirations';
let service: TestService;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

const timer = () => ({ ...anonymous, [TIMER_SECRET_HEADER]: service.deps.timerSecret });
const post = (body: unknown, headers: Record<string, string>) => service.call('POST', PATH, body, { ...json, ...headers });

describe('POST /internal/expirations: the Timer Service or an administrator, before the body', () => {
  it('answers a stranger 401 without parsing a malformed body', async () => {
    const answer = await post('{bad', anonymous);
    expect(answer.status).toBe(401);
    expect(answer.body.message).not.toMatch(/JSON|Unexpected token|position/i);
  });

  it('answers a wrong secret and a token that is not one 401, whatever the body', async () => {
    expect((await post('{bad', { ...anonymous, [TIMER_SECRET_HEADER]: 'guess' })).status).toBe(401);
    expect((await post('{bad', { ...anonymous, authorization: 'Bearer x.y.z' })).status).toBe(401);
    expect((await post({ userId: 'u', expirationDate: '2020-01-01T00:00:00.000Z' }, anonymous)).status).toBe(401);
  });

  it('refuses a user who is no administrator before reading the body', async () => {
    const username = 'plain-expiry-user';
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username,
      name: 'Plain',
      email: `${username}@example.com`,
      password: PASSWORD,
    });
    expect(created.status).toBe(200);
    const login = await service.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous);
    expect(login.status).toBe(200);
    const answer = await post('{bad', { ...anonymous, authorization: `Bearer ${login.body.accessToken}` });
    expect([401, 403]).toContain(answer.status);
  });

  it('reads the body of the Timer Service and of an administrator', async () => {
    expect((await post('{bad', timer())).status).toBe(400);
    expect((await post('{bad', {})).status).toBe(400);
    expect((await post({ userId: 'nobody', expirationDate: '2020-01-01T00:00:00.000Z' }, timer())).status).toBe(204);
    expect((await post({ userId: 'nobody' }, timer())).status).toBe(400);
  });
});
