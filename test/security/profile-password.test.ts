import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * `password` in an update: the creation takes it as the identity's password and stores none of
 * it, the import's inserts and POST /users/with-id refuse it, but PATCH /users/:id, GraphQL
 * `updateUser` and the import's update rows wrote it into the profile as a plain field, in clear
 * text, where every list, export and /userinfo showed it (and the password did not change). Each
 * is refused now, as `authUserId` is, and nothing of it is stored.
 */
const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Correct-horse-9';
const CLEAR = 'Clear-text-secret-7';
let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

async function newUser() {
  counter += 1;
  const username = `pw${counter}`;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'P',
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
  return { id: created.body._id as string, username };
}

/** The clear text is nowhere in the profile, and the password is the one the user had. */
async function expectUntouched(user: { id: string; username: string }) {
  const stored = await service.call('GET', `/users/${user.id}`);
  expect(JSON.stringify(stored.body)).not.toContain(CLEAR);
  const login = (password: string) => service.call('POST', '/oauth/token', { username: user.username, password }, anonymous);
  expect((await login(CLEAR)).status).toBe(401);
  expect((await login(PASSWORD)).status).toBe(200);
}

describe('password in an update of a profile', () => {
  it.each([
    ['a plain body', { password: CLEAR }],
    ['$set', { $set: { password: CLEAR } }],
    ['$set of a path below it', { $set: { 'password.value': CLEAR } }],
    ['$push', { $push: { password: CLEAR } }],
  ])('PATCH /users/:id with %s: 400, nothing stored', async (_name, update) => {
    const user = await newUser();
    const res = await service.call('PATCH', `/users/${user.id}`, update);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.message).toMatch(/password/);
    await expectUntouched(user);
  });

  it('still lets $unset remove one an older version stored', async () => {
    const user = await newUser();
    expect((await service.call('PATCH', `/users/${user.id}`, { $unset: { password: true } })).status).toBe(200);
  });

  it('GraphQL updateUser: InvalidInputError, nothing stored', async () => {
    const user = await newUser();
    const res = await service.graphql(
      'mutation ($id: ID!, $update: JSONObject!) { updateUser(id: $id, update: $update) { __typename ... on Error { message } } }',
      { id: user.id, update: { $set: { password: CLEAR } } },
    );
    expect(res.data.updateUser).toEqual({ __typename: 'InvalidInputError', message: expect.stringMatching(/password/) });
    await expectUntouched(user);
  });

  it('an import row that updates a user: skipped, nothing stored', async () => {
    const user = await newUser();
    const form = new FormData();
    form.append('file', new Blob([`_id,userGroup,name,password\n${user.id},customer,P,${CLEAR}\n`], { type: 'text/csv' }), 'u.csv');
    const response = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(response.status).toBe(200);
    const answer = await response.json();
    expect(answer).toEqual({ updated: [], inserted: [], invalid: [{ row: 1, error: expect.stringMatching(/password/) }] });
    await expectUntouched(user);
  });
});
