import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * A user id that is a dot segment (`GET /users/%2E`: Express gives the route the id `.`) went
 * into the CRUD's `/users/:id` as `/users/.`, which URL parsers read as `/users/`, the list route:
 * the caller got a 500 ("CRUD GET /users/:id answered an unexpected body") and, but for the read
 * before it, a PATCH would have gone to `PATCH /users/`, the CRUD's update of every matching
 * document. No upstream is sent a path with a `.` or `..` segment: such an id is not found (404).
 */
let service: TestService;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
  await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: 'dotty',
    email: 'dotty@example.com',
    name: 'Dot',
  });
});
afterAll(() => service.close());

/** A request whose path is sent as written (fetch would resolve `%2E` itself). */
function raw(method: string, path: string, body?: unknown): Promise<number> {
  const { hostname, port } = new URL(service.url);
  return new Promise((resolve, reject) => {
    const headers = { 'x-api-key': TEST_API_KEY, ...(body ? { 'content-type': 'application/json' } : {}) };
    const req = request({ host: hostname, port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe('a user id that is a dot segment', () => {
  it.each([
    ['GET', '/users/%2E'],
    ['GET', '/users/%2e%2E'],
    ['PATCH', '/users/%2E', { name: 'Everyone' }],
    ['DELETE', '/users/%2E'],
    ['POST', '/users/%2E/soft-delete'],
  ] as const)('%s %s is a 404 that lists or changes nobody', async (method, path, body?: unknown) => {
    const before = service.crud?.requests.length ?? 0;
    expect(await raw(method, path, body)).toBe(404);
    // The CRUD emulator records the path as it parsed it: `/users/.` would show as `/users/`.
    const sent = (service.crud?.requests ?? []).slice(before).filter((r) => r.path === '/users/' || r.path === '/');
    expect(sent).toEqual([]);
    const names = (await service.call('GET', '/users/')).body.map((user: { name: string }) => user.name);
    expect(names).toEqual(['Dot']);
  });

  // The empty segment is the same hole: GraphQL `user(id: "")` sent the CRUD `GET /users/?_st=…`,
  // its list (a 500, "answered an unexpected body"). A lone surrogate (`"\ud800"` in JSON) made
  // encodeURIComponent throw: a 500 "an unexpected error occurred". No id holds either.
  it.each(['', '\ud800'])('%j is not found by GraphQL nor by the Timer callback, nothing listed', async (id) => {
    const before = service.crud?.requests.length ?? 0;
    const read = await service.graphql('query ($id: ID!) { user(id: $id) { __typename } }', { id });
    expect(read.data?.user?.__typename).toBe('NotFoundError');
    const deleted = await service.graphql('mutation ($id: ID!) { deleteUser(id: $id) { __typename } }', { id });
    expect(deleted.data?.deleteUser?.__typename).toBe('NotFoundError');
    const expired = await service.call('POST', '/internal/expirations', { userId: id, expirationDate: new Date().toISOString() });
    expect(expired.status).toBe(204);
    const sent = (service.crud?.requests ?? []).slice(before).filter((r) => r.path === '/users/' || r.path === '/');
    expect(sent).toEqual([]);
  });

  it('is a NotFoundError in GraphQL', async () => {
    const answer = await service.graphql('{ user(id: ".") { __typename } }');
    expect(answer.data?.user?.__typename).toBe('NotFoundError');
  });
});
