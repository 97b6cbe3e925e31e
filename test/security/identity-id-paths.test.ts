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
});
