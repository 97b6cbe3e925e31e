import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * Issue #16, part 5: an administrator moved out of ADMIN_GROUPS kept passing admin checks with
 * the token it had, for up to 15 minutes, and could promote itself back. Every identity
 * provider: the embedded one ends the sessions (401); with Auth0 the token runs on, but the
 * access check reads the current profile (403, or 401 once the user may not log in).
 */
const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Correct-horse-9';
let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
  await service.deps.groups.saveGroup(
    { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
    { actorId: 't', headers: {} },
  );
});
afterAll(() => service.close());

/** A new administrator, logged in: its profile id and the headers of its bearer token. */
async function loggedInAdmin(): Promise<{ id: string; auth: Record<string, string> }> {
  counter += 1;
  const username = `boss${counter}`;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'admin',
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
  const login = await service.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous);
  expect(login.status).toBe(200);
  const auth = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
  expect((await service.call('GET', '/users/count', undefined, auth)).status).toBe(200);
  return { id: created.body._id, auth };
}

describe('an administrator who loses the right', () => {
  it('is no administrator once moved to another group, and cannot move back', async () => {
    const { id, auth } = await loggedInAdmin();
    expect((await service.call('PATCH', `/users/${id}`, { userGroup: 'customer', name: 'Demoted' })).status).toBe(200);

    for (const [method, path, body] of [
      ['GET', '/users/count', undefined],
      ['GET', '/users/', undefined],
      ['PATCH', `/users/${id}`, { userGroup: 'admin' }],
    ] as const) {
      const res = await service.call(method, path, body, auth);
      expect([401, 403], `${method} ${path}`).toContain(res.status);
    }
    const graphql = await service.graphql('{ users(first: 1) { totalCount } }', undefined, auth);
    expect(graphql.data?.users ?? null).toBeNull();
    expect((await service.call('GET', `/users/${id}`)).body.userGroup).toBe('customer');
  });

  it.each([
    ['blocked', (id: string) => service.call('PATCH', `/users/${id}`, { blocked: true })],
    ['moved to DRAFT', (id: string) => service.call('POST', '/users/state', [{ filter: { _id: id }, stateTo: 'DRAFT' }])],
    ['soft deleted', (id: string) => service.call('POST', `/users/${id}/soft-delete`)],
    ['deleted', (id: string) => service.call('DELETE', `/users/${id}`)],
  ])('loses every right when %s', async (_change, change) => {
    const { id, auth } = await loggedInAdmin();
    expect((await change(id)).status).toBeLessThan(300);
    // 401 where the user still has a profile (it may not log in); 403 once it has none (a deleted user's Auth0 token).
    expect([401, 403]).toContain((await service.call('GET', '/users/count', undefined, auth)).status);
    expect([401, 403]).toContain((await service.call('POST', '/users/state', [{ filter: { _id: id }, stateTo: 'PUBLIC' }], auth)).status);
  });

  it('keeps its rights while its group stays an administrators one', async () => {
    const { id, auth } = await loggedInAdmin();
    expect((await service.call('PATCH', `/users/${id}`, { $set: { note: 'still admin' } })).status).toBe(200);
    expect((await service.call('GET', '/users/count', undefined, auth)).status).toBe(200);
  });
});
