import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

/** `POST /password-reset` is public: one client address may only try it so often, whatever the identity provider. */
const LIMIT = 3;
const anonymous = { 'x-api-key': '' };
let service: TestService;

beforeAll(async () => {
  service = await startService({ env: { PASSWORD_RESET_IP_MAX_ATTEMPTS: String(LIMIT), PASSWORD_RESET_IP_WINDOW_SECONDS: '600' } });
});
afterAll(() => service.close());

describe('password-reset throttle', () => {
  it('20 posts sent at once from one address: at most the limit are tried, the rest get 429 with Retry-After, then GraphQL too', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        service.call('POST', '/password-reset', { ticket: `guess-${index}`, password: 'New-password-2' }, anonymous),
      ),
    );
    expect(answers.filter((answer) => answer.status === 400).length).toBeLessThanOrEqual(LIMIT);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(20 - LIMIT);
    for (const answer of refused) {
      expect(answer.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      const retryAfter = Number(answer.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(600);
    }
    const graphql = await service.graphql(
      'mutation { resetPassword(ticket: "guess-graphql", password: "New-password-2") { __typename ... on Error { message } } }',
      undefined,
      anonymous,
    );
    expect(graphql.data.resetPassword).toMatchObject({
      __typename: 'TooManyRequestsError',
      message: expect.stringMatching(/password-reset/),
    });
  });
});
