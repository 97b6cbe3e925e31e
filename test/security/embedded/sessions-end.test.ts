import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * Issue #16, part 5, on the embedded provider: a change of group, a block, a state other than
 * PUBLIC and a deletion end every session of the user, so its access and refresh tokens stop
 * working at once (not only its administrator rights).
 */
const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Correct-horse-9';
let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({ store: 'embedded', identity: 'embedded', env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

async function loggedInUser() {
  counter += 1;
  const username = `member${counter}`;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'M',
    password: PASSWORD,
  });
  const tokens = (await service.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous)).body;
  const auth = { ...anonymous, authorization: `Bearer ${tokens.accessToken}` };
  expect((await service.call('GET', '/userinfo', undefined, auth)).status).toBe(200);
  return { id: created.body._id as string, auth, refreshToken: tokens.refreshToken as string };
}

describe('changes that end every session of the user', () => {
  it.each([
    ['a change of group', (id: string) => service.call('PATCH', `/users/${id}`, { userGroup: 'guest' })],
    ['a block', (id: string) => service.call('PATCH', `/users/${id}`, { blocked: true })],
    ['a move to TRASH', (id: string) => service.call('POST', '/users/state', [{ filter: { _id: id }, stateTo: 'TRASH' }])],
    ['a deletion', (id: string) => service.call('DELETE', `/users/${id}`)],
  ])('%s', async (_change, change) => {
    const { id, auth, refreshToken } = await loggedInUser();
    expect((await change(id)).status).toBeLessThan(300);
    expect((await service.call('GET', '/userinfo', undefined, auth)).status).toBe(401);
    expect((await service.call('POST', '/refreshtoken', { refreshToken }, auth)).status).toBe(401);
  });

  it('not an edit of other fields', async () => {
    const { id, auth } = await loggedInUser();
    expect((await service.call('PATCH', `/users/${id}`, { name: 'Renamed' })).status).toBe(200);
    expect((await service.call('GET', '/userinfo', undefined, auth)).status).toBe(200);
  });
});

describe('a deletion whose identity step has an unknown outcome (its answer lost, the provider then down)', () => {
  let trapped: TestService;
  let lost = false;
  beforeAll(async () => {
    trapped = await startService({
      store: 'embedded',
      identity: 'embedded',
      env: { RANDOM_PWD_GEN: 'false' },
      wrap: (deps) => ({
        identity: {
          ...deps.identity,
          async deleteUser(id) {
            if (lost) throw new UpstreamError('Auth0', 'DELETE /users/:id', 0, { unreachable: true });
            return deps.identity.deleteUser(id);
          },
          async getUsers(ids, fields) {
            if (lost) throw new UpstreamError('Auth0', 'GET /users', 0, { unreachable: true });
            return deps.identity.getUsers(ids, fields);
          },
        },
      }),
    });
    await seedGroups(trapped);
  });
  afterAll(() => trapped.close());

  it.each([
    ['DELETE', (id: string) => trapped.call('DELETE', `/users/${id}`)],
    ['soft delete', (id: string) => trapped.call('POST', `/users/${id}/soft-delete`)],
  ])('%s: the profile stays deleted and the sessions end at once, before the reconciler deletes the identity', async (_what, change) => {
    counter += 1;
    const username = `lost${counter}`;
    const body = { userGroup: 'customer', username, email: `${username}@example.com`, name: 'L', password: PASSWORD };
    const created = await trapped.call('POST', '/users/?sendResetPwdEmail=false', body);
    const tokens = (await trapped.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous)).body;
    const auth = { ...anonymous, authorization: `Bearer ${tokens.accessToken}` };
    lost = true;
    expect((await change(created.body._id)).status).toBe(503);
    lost = false;
    expect((await trapped.call('POST', '/refreshtoken', { refreshToken: tokens.refreshToken }, auth)).status).toBe(401);
  });
});
