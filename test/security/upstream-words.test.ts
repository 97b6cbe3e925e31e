import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';
import { ADMIN_PASSWORD, NO_API_KEY } from '../helpers/admins.js';

/**
 * Answers carry the service's words, never an upstream's (docs/security.md): Auth0's
 * `error_description` of a locked account ("Your account has been blocked after multiple
 * consecutive login attempts…") was the message of the 429 an anonymous caller got.
 */
const AUTH0 = process.env.UMS_TEST_IDENTITY === 'auth0';
let service: TestService;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

describe.runIf(AUTH0)("Auth0's words", () => {
  it('stay out of the 429 of an account Auth0 locked', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'lockedat0',
      email: 'lockedat0@example.com',
      name: 'L',
      password: ADMIN_PASSWORD,
    });
    expect(created.status).toBe(200);
    const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
    service.auth0!.users.get(authUserId)!.failures = 10;
    for (const graphql of [false, true]) {
      const body = { username: 'lockedat0', password: ADMIN_PASSWORD };
      const answer = graphql
        ? await service.graphql(
            'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { __typename ... on Error { message } } }',
            { u: body.username, p: body.password },
            NO_API_KEY,
          )
        : await service.call('POST', '/oauth/token', body, NO_API_KEY);
      if (!graphql) expect((answer as { status: number }).status).toBe(429);
      const text = JSON.stringify(graphql ? answer : (answer as { body: unknown }).body);
      expect(text).toMatch(/locked/i);
      expect(text).not.toMatch(/consecutive|blocked after/i);
    }
  });
});
