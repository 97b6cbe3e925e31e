import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * `acl_write_columns` names the fields a caller may edit; the service writes fields of its own
 * beside them (`expirationId` when `expirationDate` changes, `authUserId` at a creation). The CRUD
 * Service refuses a PATCH touching a column its header does not list (a 500), so on the CRUD such an
 * update or creation failed. The service's own fields are added to the header it sends
 * (docs/decisions.md); the caller's fields are still judged by it. Every backend.
 */
let service: TestService;
const later = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
});
afterAll(() => service.close());

async function newUser(fields: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'guest', name: 'w', ...fields }, headers);
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  return created.body._id as string;
}

const stored = async (id: string) => (await service.call('GET', `/users/${id}`)).body;

describe('acl_write_columns and the fields the service writes itself', () => {
  it('a caller allowed expirationDate changes it, and the new schedule is stored with it', async () => {
    const id = await newUser({ expirationDate: later(10) });
    const before = await stored(id);
    const date = later(20);
    const res = await service.call('PATCH', `/users/${id}`, { $set: { expirationDate: date } }, { acl_write_columns: 'expirationDate' });
    expect({ status: res.status, message: res.body.message }).toEqual({ status: 200, message: undefined });
    const after = await stored(id);
    expect(after.expirationDate).toBe(date);
    expect(after.expirationId).toEqual(expect.any(String));
    expect(after.expirationId).not.toBe(before.expirationId);
  });

  it('a first expirationDate is scheduled and stored', async () => {
    const id = await newUser();
    const res = await service.call('PATCH', `/users/${id}`, { expirationDate: later(5) }, { acl_write_columns: 'name,expirationDate' });
    expect(res.status).toBe(200);
    expect(await stored(id)).toMatchObject({ expirationDate: expect.any(String), expirationId: expect.any(String) });
  });

  it('a creation under the header stores the identity link and the schedule', async () => {
    const id = await newUser(
      { userGroup: 'customer', username: 'wcols', email: 'wcols@example.com', expirationDate: later(3) },
      { acl_write_columns: 'name' },
    );
    expect(await stored(id)).toMatchObject({ authUserId: expect.any(String), expirationId: expect.any(String) });
  });

  it('still refuses the caller a field the header does not name (400), and writes nothing', async () => {
    const id = await newUser({ expirationDate: later(10) });
    const before = await stored(id);
    const res = await service.call(
      'PATCH',
      `/users/${id}`,
      { $set: { expirationDate: later(30), name: 'x' } },
      { acl_write_columns: 'expirationDate' },
    );
    expect({ status: res.status, message: res.body.message }).toEqual({ status: 400, message: 'You cannot edit "name" field' });
    expect(await stored(id)).toEqual(before);
  });

  it("a header that names the service's own fields does not let the caller write them (400, REST and GraphQL)", async () => {
    // The service adds them to the header it sends: a caller's update naming them must never reach that step.
    const id = await newUser({ userGroup: 'customer', username: 'wspoof', email: 'wspoof@example.com', expirationDate: later(10) });
    const before = await stored(id);
    const headers = { acl_write_columns: 'name,authUserId,expirationId,expirationDate' };
    for (const body of [
      { $set: { authUserId: 'auth0|someone-else' } },
      { $set: { expirationId: 'forged', name: 'x' } },
      { $set: { 'authUserId.x': 1 } },
      { $unset: { authUserId: true } },
      { authUserId: 'auth0|someone-else' },
    ]) {
      const res = await service.call('PATCH', `/users/${id}`, body, headers);
      expect({ status: res.status, message: res.body.message }, JSON.stringify(body)).toEqual({
        status: 400,
        message: expect.stringMatching(/^(authUserId|expirationId)\S* is not editable$/),
      });
      const graphql = await service.graphql(
        'mutation($id: ID!, $u: JSONObject!) { updateUser(id: $id, update: $u) { __typename ... on Error { message } } }',
        { id, u: body },
        headers,
      );
      expect(graphql.data?.updateUser, JSON.stringify(body)).toEqual({ __typename: 'InvalidInputError', message: res.body.message });
    }
    expect(await stored(id)).toEqual(before);
  });
});
