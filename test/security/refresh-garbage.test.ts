import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';
import { NO_API_KEY } from '../helpers/admins.js';

/**
 * `POST /refreshtoken` reads the access token it is sent with before anything else. With Auth0 a
 * bearer that is no JWT at all (`garbage`, `a.b.c`) made jose's decodeJwt throw outside the
 * verification: an anonymous caller got a 500 ("Unexpected error." in GraphQL) and an error log
 * line. Every provider: a 401, and nothing asked of the identity provider's token endpoint.
 */
const NOT_JWTS = ['garbage', 'a.b.c', 'a.b', '..', 'eyJhbGciOiJub25lIn0.bm90IGpzb24.', 'eyJhbGciOiJub25lIn0.WzFd.'];
let service: TestService;

beforeAll(async () => {
  service = await startService();
});
afterAll(() => service.close());

describe('a refresh sent with an access token that is no JWT', () => {
  it.each(NOT_JWTS)('%s is a 401 in REST and GraphQL', async (token) => {
    const headers = { ...NO_API_KEY, authorization: `Bearer ${token}` };
    const grants = () => service.auth0?.requests.filter((r) => r.path === '/oauth/token').length ?? 0;
    const before = grants();
    const rest = await service.call('POST', '/refreshtoken', { refreshToken: 'some-refresh-token' }, headers);
    expect(rest.status).toBe(401);
    const graphql = await service.graphql(
      'mutation { refreshToken(refreshToken: "some-refresh-token") { __typename } }',
      undefined,
      headers,
    );
    expect(graphql.data?.refreshToken?.__typename).toBe('UnauthorizedError');
    expect(grants()).toBe(before);
  });
});
