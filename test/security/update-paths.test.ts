import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * Update paths a hostile caller wrote in a PATCH body (docs/security.md): each once answered 200
 * and wrote something else than asked, or nothing. MongoDB refuses them; so does the service,
 * before anything is written. Every backend.
 */
let service: TestService;
let userId: string;

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
  const created = await service.call('POST', '/users/', { userGroup: 'guest', name: 'target', tags: ['a'], nested: { x: 1 } });
  userId = created.body._id;
});
afterAll(() => service.close());

async function stored(): Promise<Record<string, unknown>> {
  return (await service.call('GET', `/users/${userId}`)).body;
}

describe('update paths with an empty segment', () => {
  it('refuses "", ".", "a..b", "a." and ".a" (400) and stores nothing of them', async () => {
    const before = await stored();
    for (const path of ['', '.', 'nested..x', 'nested.', '.nested', 'tags..0']) {
      for (const body of [{ $set: { [path]: 7 } }, { $unset: { [path]: true } }, { $inc: { [path]: 1 } }]) {
        const res = await service.call('PATCH', `/users/${userId}`, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.message).toContain('empty');
      }
    }
    const after = await stored();
    expect(after).toEqual({ ...before, updatedAt: after.updatedAt });
  });
});

describe('update paths through a value that is not an object', () => {
  it('refuses a field inside a string, a number or an array (400), as MongoDB does', async () => {
    await service.call('PATCH', `/users/${userId}`, { $set: { count: 3 } });
    const before = await stored();
    for (const body of [
      { $set: { 'name.x': 1 } },
      { $set: { 'count.x.y': 1 } },
      { $inc: { 'name.x': 1 } },
      { $set: { 'tags.x': 1 } },
      { $push: { 'name.list': 'v' } },
    ]) {
      const res = await service.call('PATCH', `/users/${userId}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.message).toContain('cannot create field');
    }
    const after = await stored();
    expect(after).toEqual({ ...before, updatedAt: after.updatedAt });
  });

  it('still writes inside objects, array items by index, and new paths', async () => {
    const res = await service.call('PATCH', `/users/${userId}`, { $set: { 'nested.y': 2, 'tags.1': 'b', 'fresh.deep': true } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ nested: { x: 1, y: 2 }, tags: ['a', 'b'], fresh: { deep: true } });
    expect((await service.call('PATCH', `/users/${userId}`, { $unset: { 'name.x': true } })).status).toBe(200);
  });
});

/**
 * A field name holding a NUL character: BSON ends a name with one, so MongoDB's driver refuses to
 * encode it (the CRUD's 500 on a creation, an update or a filter), while the embedded store wrote
 * `"name\u0000": 1` beside `name`. Refused everywhere a field is named, in both modes.
 */
describe('field names with a NUL character', () => {
  it('are a 400 in a PATCH, a creation, a filter and a GraphQL update, and nothing is written', async () => {
    const before = await stored();
    const count = (await service.call('GET', '/users/count')).body;
    const answers = [
      await service.call('PATCH', `/users/${userId}`, { $set: { 'name\u0000': 1 } }),
      await service.call('PATCH', `/users/${userId}`, { $set: { nested: { 'x\u0000y': 1 } } }),
      await service.call('PATCH', `/users/${userId}`, { 'tags\u0000': ['b'] }),
      await service.call('POST', '/users/', { userGroup: 'guest', name: 'nul', 'a\u0000': 1 }),
      await service.call('GET', `/users/?_q=${encodeURIComponent(JSON.stringify({ 'name\u0000': 'x' }))}`),
      await service.call('GET', `/users/?_p=${encodeURIComponent('name\u0000')}`),
    ];
    expect(answers.map((answer) => [answer.status, answer.body.message])).toEqual(
      answers.map(() => [400, expect.stringMatching(/is not an? (allowed|valid) field name$/)]),
    );
    const graphql = await service.graphql('mutation ($u: JSONObject!) { updateUser(id: "' + userId + '", update: $u) { __typename } }', {
      u: { $set: { 'a\u0000': 1 } },
    });
    expect(JSON.stringify(graphql)).toMatch(/INVALID_INPUT|InvalidInputError/);
    const after = await stored();
    expect(after).toEqual({ ...before, updatedAt: after.updatedAt });
    expect((await service.call('GET', '/users/count')).body).toBe(count);
  });
});

/**
 * A field of a new user whose name starts with `$` or holds a dot: the embedded store wrote it as
 * it came (`"$x": 1`, `"a.b": 1` beside `a`), a field no query can name (`a.b` is the path into
 * `a`) and no CRUD collection can declare, while connected mode refused it as undeclared. A 400
 * in both modes, nothing written; an update's `$set` of `a.b` is the path into `a`, as ever.
 */
describe('top-level field names MongoDB reads as operators or paths', () => {
  it('are a 400 when a user is created, by REST, GraphQL or an import, and nothing is written', async () => {
    const count = (await service.call('GET', '/users/count')).body;
    for (const name of ['$x', 'a.b', '.a', '$']) {
      const created = await service.call('POST', '/users/', { userGroup: 'guest', name: 'n', [name]: 1 });
      expect([created.status, created.body.message], name).toEqual([
        400,
        `body/${name}: is not an allowed field name: it starts with $ or holds a dot`,
      ]);
      const withId = await service.call('POST', '/users/with-id', { userGroup: 'guest', authUserId: 'auth0|x', name: 'n', [name]: 1 });
      expect([withId.status, withId.body.message], name).toEqual([
        400,
        `body/${name}: is not an allowed field name: it starts with $ or holds a dot`,
      ]);
      const graphql = await service.graphql(
        'mutation ($p: JSONObject) { createUser(input: { userGroup: "guest", properties: $p }) { __typename ... on Error { message } } }',
        { p: { name: 'n', [name]: 1 } },
      );
      expect(graphql.data.createUser, name).toEqual({
        __typename: 'InvalidInputError',
        message: expect.stringContaining('is not an allowed field name: it starts with $ or holds a dot'),
      });
    }
    const form = new FormData();
    form.append('file', new Blob(['userGroup,name,$x\nguest,n,1\n']), 'users.csv');
    const imported = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    // An import refused the name already, row by row.
    expect([imported.status, await imported.json()]).toEqual([
      200,
      { inserted: [], updated: [], invalid: [{ row: 1, error: 'Skipping record: "$x" is not a field name' }] },
    ]);
    // Inside an object, such names are data, as MongoDB stores them.
    expect((await service.call('POST', '/users/', { userGroup: 'guest', name: 'n', nested: { $y: 1, 'a.b': 2 } })).status).toBe(200);
    expect((await service.call('GET', '/users/count')).body).toBe(count + 1);
  });

  it('are skipped by an import whose header names one with a dot, as one starting with $', async () => {
    const count = (await service.call('GET', '/users/count')).body;
    const form = new FormData();
    form.append('file', new Blob(['userGroup,name,a.b\nguest,n,1\n']), 'users.csv');
    const imported = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    // The embedded store wrote "a.b" as a top-level field (a name no query can read back).
    expect([imported.status, await imported.json()]).toEqual([
      200,
      { inserted: [], updated: [], invalid: [{ row: 1, error: 'Skipping record: "a.b" is not a field name' }] },
    ]);
    expect((await service.call('GET', '/users/count')).body).toBe(count);
  });
});
