import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';
import { ADMIN_PASSWORD, NO_API_KEY } from '../helpers/admins.js';

/**
 * A `sid` cookie is percent-decoded when read (`sid=abc%0D%0A`), so it can hold bytes no request
 * line may carry. With the auth0-client the cookie is passed on in the `cookie` header of its
 * `/userinfo`: undici refused the header, and an anonymous caller got a 503 "auth0-client … is
 * unreachable", counted as the upstream's failure by its circuit breaker (5 such requests opened
 * it: every login and session check of every user answered 503 for 5 s). Every provider: a 401.
 */
const BAD_COOKIES = ['sid=abc%0D%0Ax-evil%3A%201', 'sid=%00', 'sid=a%0Ab', 'sid=%7F', 'sid=a%20b', 'sid=%C3%A9'];
let service: TestService;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

describe('a sid cookie with bytes no header may carry', () => {
  it.each(BAD_COOKIES)('%s is a 401 in REST and GraphQL', async (cookie) => {
    const rest = await service.call('GET', '/userinfo', undefined, { ...NO_API_KEY, cookie });
    expect(rest.status).toBe(401);
    expect(JSON.stringify(rest.body)).not.toMatch(/unreachable|UND_ERR/);
    const graphql = await service.graphql('{ me { __typename } }', undefined, { ...NO_API_KEY, cookie });
    expect(graphql.data?.me?.__typename).toBe('UnauthorizedError');
  });

  it('does not take the identity provider out of service for everyone', async () => {
    // In a row: a call the upstream answers (even a 401) would reset its breaker's count.
    for (let round = 0; round < 10; round += 1)
      await service.call('GET', '/userinfo', undefined, { ...NO_API_KEY, cookie: BAD_COOKIES[0]! });
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'cookiebytes',
      email: 'cookiebytes@example.com',
      name: 'C',
      password: ADMIN_PASSWORD,
    });
    expect(created.status).toBe(200);
    const login = await service.call('POST', '/oauth/token', { username: 'cookiebytes', password: ADMIN_PASSWORD }, NO_API_KEY);
    expect(login.status).toBe(200);
    const me = await service.call('GET', '/userinfo', undefined, { ...NO_API_KEY, authorization: `Bearer ${login.body.accessToken}` });
    expect(me.status).toBe(200);
  });
});
