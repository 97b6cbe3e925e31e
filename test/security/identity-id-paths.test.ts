import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * An identity id goes into Auth0's `/api/v2/users/:id` percent-encoded, but encodeURIComponent
 * leaves `.` as it is: `POST /users/with-id` with `authUserId: "."` sent `GET /api/v2/users/.`,
 * which URL parsers (the tenant's edge, the emulator's) read as `/api/v2/users/`, the list of every
 * user of the tenant, and `".."` sent `GET /api/v2/`. Such an id names no identity: refused
 * (a 400 "does not exist") without a request outside `/api/v2/users/<one id>`.
 */
let service: TestService;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

describe('an identity id that is a dot segment', () => {
  it.each(['.', '..'])('%s reaches no other Auth0 path than one user or the search', async (authUserId) => {
    const before = service.auth0?.requests.length ?? 0;
    const created = await service.call('POST', '/users/with-id', { userGroup: 'customer', name: 'Dot', authUserId });
    expect(created.status).toBe(400);
    expect(created.body.message).toContain('does not exist');
    const paths = (service.auth0?.requests ?? []).slice(before).map((request) => request.path);
    for (const path of paths) expect(path).toMatch(/^\/oauth\/token$|^\/api\/v2\/users$|^\/api\/v2\/users\/[^/]+$/);
  });

  // A lone surrogate (`"\ud800"` in JSON) made encodeURIComponent throw: a 500, and with the
  // auth0-client (the id in its query string) a 503 "unreachable" its circuit breaker counted.
  it('a lone surrogate is an identity that does not exist, and no upstream outage', async () => {
    for (let round = 0; round < 6; round += 1) {
      const created = await service.call('POST', '/users/with-id', { userGroup: 'customer', name: 'Half', authUserId: '\ud800' });
      expect(created.status).toBe(400);
      const mail = await service.call('POST', '/users/change-password', { authUserId: '\ud800' });
      expect(mail.status).toBe(404);
    }
    // The identity provider still answers (the breaker opens after 5 failures in a row).
    const user = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'halfsurrogate',
      email: 'halfsurrogate@example.com',
      name: 'H',
    });
    expect(user.status).toBe(200);
  });
});
