import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

let service: TestService;
const scope = { actorId: 'test', headers: {} };

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
});
afterAll(() => service.close());

const DELETE = `mutation ($name: String!) {
  deleteUserGroup(userGroup: $name) { __typename ... on Error { code message } }
}`;

async function createGroup(userGroup: string) {
  await service.deps.groups.saveGroup(
    { userGroup, label: userGroup, authUserCreationDisabled: true, crudSchema: { type: 'object' } },
    scope,
  );
}

/**
 * Deletes the group `name` (and checks it was deleted) just before the store's next `method` call
 * runs, once; answers what puts the store's method back.
 */
function deleteGroupBefore(method: 'insert' | 'insertMany', name: string): () => void {
  const users = service.deps.users as unknown as Record<typeof method, (...args: unknown[]) => Promise<unknown>>;
  const original = users[method].bind(users);
  const restore = () => {
    users[method] = original;
  };
  users[method] = async (...args) => {
    restore();
    expect((await service.graphql(DELETE, { name })).data.deleteUserGroup.__typename).toBe('MutationDeleteUserGroupSuccess');
    return original(...args);
  };
  return restore;
}

async function groupNames(): Promise<string[]> {
  const res = await service.graphql('{ userGroups { userGroup } }');
  return res.data.userGroups.map((group: { userGroup: string }) => group.userGroup);
}

describe('deleteUserGroup', () => {
  it('refuses while users of any state are in the group, and keeps it', async () => {
    await createGroup('vip');
    // One user per state: a trashed or soft-deleted user still points at its group.
    for (const state of ['PUBLIC', 'DRAFT', 'TRASH', 'DELETED']) {
      await service.deps.users.insert({ userGroup: 'vip', __STATE__: state, name: state }, scope);
    }
    await service.deps.users.insert({ userGroup: 'customer', name: 'elsewhere' }, scope);

    const res = await service.graphql(DELETE, { name: 'vip' });
    expect(res.data.deleteUserGroup).toEqual({
      __typename: 'ConflictError',
      code: 'GROUP_IN_USE',
      message: 'user group "vip" still has 4 users (of any state): move or delete them first',
    });
    expect(await groupNames()).toContain('vip');
  });

  it('deletes a group no user is in', async () => {
    await createGroup('empty');
    const res = await service.graphql(DELETE, { name: 'empty' });
    expect(res.data.deleteUserGroup.__typename).toBe('MutationDeleteUserGroupSuccess');
    expect(await groupNames()).not.toContain('empty');
  });

  it('keeps the group when a user lands in it between the count and the delete', async () => {
    await createGroup('racing');
    // A creation that passed its group check while the delete was counting: its user is stored
    // right after the count answered 0.
    const users = service.deps.users;
    const count = users.count.bind(users);
    users.count = async (...args) => {
      const counted = await count(...args);
      users.count = count;
      await users.insert({ userGroup: 'racing', name: 'late' }, scope);
      return counted;
    };
    try {
      const res = await service.graphql(DELETE, { name: 'racing' });
      expect(res.data.deleteUserGroup).toMatchObject({ __typename: 'ConflictError', code: 'GROUP_IN_USE' });
      expect(await groupNames()).toContain('racing');
      const group = await service.graphql(
        '{ userGroup(userGroup: "racing") { ... on QueryUserGroupSuccess { data { label authUserCreationDisabled crudSchema } } } }',
      );
      expect(group.data.userGroup.data).toEqual({ label: 'racing', authUserCreationDisabled: true, crudSchema: { type: 'object' } });
    } finally {
      users.count = count;
    }
  });

  it('undoes a creation whose group was deleted between its group check and its insert', async () => {
    await createGroup('vanishing');
    // The delete runs after the creation checked the group and before it stores the user, so
    // the delete's two counts both see no user.
    const restore = deleteGroupBefore('insert', 'vanishing');
    try {
      const res = await service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'vanishing', name: 'late' });
      expect([res.status, res.body.message]).toEqual([400, 'userGroup "vanishing" does not exist']);
      const left = await service.call('GET', `/users/count?_st=PUBLIC,DRAFT,TRASH,DELETED&userGroup=vanishing`);
      expect(left.body).toBe(0);
    } finally {
      restore();
    }
  });

  it('takes back the imported rows of a group deleted while the import stored them', async () => {
    await createGroup('dropped');
    // The delete runs after the import read the group: its counts see none of these rows yet.
    const restore = deleteGroupBefore('insertMany', 'dropped');
    try {
      const form = new FormData();
      form.append('file', new Blob(['userGroup,name\ndropped,a\ncustomer,b\ndropped,c\n']), 'users.csv');
      const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
      const body = (await res.json()) as { inserted: string[]; invalid: { row: number; error: string }[] };
      expect(res.status).toBe(200);
      expect(body.inserted).toHaveLength(1);
      expect(body.invalid).toEqual([
        { row: 1, error: 'Skipping record: userGroup "dropped" does not exist' },
        { row: 3, error: 'Skipping record: userGroup "dropped" does not exist' },
      ]);
      expect((await service.call('GET', '/users/count?_st=PUBLIC,DRAFT,TRASH,DELETED&userGroup=dropped')).body).toBe(0);
    } finally {
      restore();
    }
  });

  it('answers not found for a group that does not exist', async () => {
    const res = await service.graphql(DELETE, { name: 'nobody' });
    expect(res.data.deleteUserGroup).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });
});

describe('saveUserGroup: schemas too dear to compile', () => {
  const SAVE = `mutation ($g: UserGroupInput!) {
    saveUserGroup(input: $g) { __typename ... on InvalidInputError { message } }
  }`;
  const save = async (userGroup: string, crudSchema: object) =>
    (await service.graphql(SAVE, { g: { userGroup, label: userGroup, authUserCreationDisabled: true, crudSchema } })).data.saveUserGroup;
  const properties = (count: number, schema: (index: number) => object) =>
    Object.fromEntries(Array.from({ length: count }, (_, index) => [`p${index}`, schema(index)]));
  const branches = (count: number) => Array.from({ length: count }, (_, index) => ({ const: index }));

  it('refuses a schema past each limit with a 400 naming it, and stores nothing', async () => {
    // The cheapest schema past each limit (each compiles in milliseconds): what they bound is measured in docs/decisions.md.
    const cases: [string, object, string][] = [
      [
        'values',
        { type: 'object', properties: { code: { enum: Array.from({ length: 2001 }, (_, index) => index) } } },
        'input/crudSchema holds more than 2000 values',
      ],
      [
        'branches',
        { type: 'object', properties: { a: { oneOf: branches(51) } } },
        'input/crudSchema/properties/a/oneOf has more than 50 branches',
      ],
      [
        'allbranches',
        { type: 'object', properties: properties(5, () => ({ anyOf: branches(41) })) },
        'input/crudSchema has more than 200 oneOf, anyOf and allOf branches',
      ],
      [
        'patterns',
        { type: 'object', properties: properties(51, (index) => ({ type: 'string', pattern: `^${index}` })) },
        'input/crudSchema has more than 50 patterns',
      ],
    ];
    for (const [name, crudSchema, message] of cases) {
      expect(await save(`costly-${name}`, crudSchema), name).toEqual({ __typename: 'InvalidInputError', message });
    }
    expect((await groupNames()).filter((name) => name.startsWith('costly-'))).toEqual([]);
  });

  it('saves a large realistic schema: hundreds of properties and a few combinators', async () => {
    const crudSchema = {
      type: 'object',
      properties: {
        ...properties(300, () => ({ type: 'string', maxLength: 100 })),
        ...Object.fromEntries(
          ['x', 'y', 'z'].map((name) => [name, { oneOf: [{ type: 'string', pattern: '^[a-z]+$' }, { type: 'integer' }] }]),
        ),
      },
      required: ['p0'],
    };
    expect(await save('realistic', crudSchema)).toEqual({ __typename: 'MutationSaveUserGroupSuccess' });
    expect(await groupNames()).toContain('realistic');
  });

  // A `$ref` that comes back to itself through allOf/anyOf/oneOf/not/if/then/else, without going
  // into a property or an item, never ends: the schema was saved, and every user of the group
  // with an `a` was a 500 (ajv's validation ran out of stack), on creation, update and import.
  it('refuses a $ref that comes back to itself without descending into the data; a recursive tree is fine', async () => {
    const endless: [string, object, string][] = [
      ['allof', { type: 'object', properties: { a: { allOf: [{ $ref: '#/properties/a' }] } } }, 'input/crudSchema/properties/a/allOf/0'],
      [
        'defs',
        {
          type: 'object',
          definitions: { d: { anyOf: [{ type: 'string' }, { not: { $ref: '#/definitions/d' } }] } },
          properties: { a: { $ref: '#/definitions/d' } },
        },
        'input/crudSchema/definitions/d/anyOf/1/not',
      ],
      ['root', { type: 'object', properties: { a: { type: 'string' } }, if: { $ref: '#' } }, 'input/crudSchema/if'],
    ];
    for (const [name, crudSchema, where] of endless) {
      expect(await save(`endless-${name}`, crudSchema), name).toEqual({
        __typename: 'InvalidInputError',
        message: `${where} $ref comes back to where it started without descending into the data`,
      });
    }
    expect((await groupNames()).filter((name) => name.startsWith('endless-'))).toEqual([]);
    const tree = {
      type: 'object',
      definitions: { node: { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/definitions/node' } } } } },
      properties: { nested: { $ref: '#/definitions/node' } },
    };
    expect(await save('tree', tree)).toEqual({ __typename: 'MutationSaveUserGroupSuccess' });
    const created = await service.call('POST', '/users/', { userGroup: 'tree', name: 't', nested: { kids: [{ kids: [] }] } });
    expect(created.status).toBe(200);
    expect((await service.call('POST', '/users/', { userGroup: 'tree', name: 't', nested: { kids: [1] } })).status).toBe(400);
  });

  // A loop through an `$anchor`, a subschema's `$id` (its own `#` included) or a reference the check
  // could not follow was saved, then every creation and update of a user holding `a` was a 500.
  it('refuses an $anchor, a $dynamicAnchor, a $id below the root and a $ref it cannot follow, naming where', async () => {
    const refused: [string, object, string][] = [
      ['anchor', { properties: { a: { $anchor: 'A', allOf: [{ $ref: '#A' }] } } }, 'input/crudSchema/properties/a/$anchor'],
      ['dynamic', { properties: { a: { $dynamicAnchor: 'A', allOf: [{ $ref: '#A' }] } } }, 'input/crudSchema/properties/a/$dynamicAnchor'],
      ['id-fragment', { properties: { a: { $id: '#A', allOf: [{ $ref: '#A' }] } } }, 'input/crudSchema/properties/a/$id'],
      ['id-own-root', { properties: { a: { $id: 'http://y/a', allOf: [{ $ref: '#' }] } } }, 'input/crudSchema/properties/a/$id'],
      [
        'id-relative',
        { $id: 'http://x/root', properties: { a: { allOf: [{ $ref: 'root' }] } }, allOf: [{ $ref: 'root' }] },
        'input/crudSchema/allOf/0/$ref',
      ],
    ];
    for (const [name, crudSchema, where] of refused) {
      expect(await save(`anchor-${name}`, crudSchema), name).toEqual({
        __typename: 'InvalidInputError',
        message: expect.stringMatching(new RegExp(`^${where.replaceAll('$', '\\$')} `)),
      });
    }
    expect((await groupNames()).filter((name) => name.startsWith('anchor-'))).toEqual([]);
    // The forms the check follows are kept: a JSON pointer, the root's `$id`, a property named `$id`.
    const kept = { $id: 'http://x/kept', properties: { $id: { type: 'string' }, b: { $ref: 'http://x/kept#/properties/$id' } } };
    expect(await save('anchor-kept', kept)).toEqual({ __typename: 'MutationSaveUserGroupSuccess' });
  });

  // Every schema was compiled by one ajv, which keeps each root `$id` it has seen: the group could
  // not be saved with another schema until a restart, nor another group with the same `$id`, nor a
  // fixed schema after a refused one with that `$id` ("schema with key or id … already exists").
  it('saves a group with a root $id again with another schema, and validates users by the new one', async () => {
    const named = (company: object) => ({ $id: 'http://x/named', type: 'object', properties: { company } });
    const create = async (userGroup: string, company: string) =>
      (await service.call('POST', '/users/', { userGroup, name: 'n', company })).status;
    expect(await save('named-bad', named({ type: 'no-such-type' }))).toMatchObject({ __typename: 'InvalidInputError' });
    expect(await save('named', named({ type: 'string', maxLength: 3 }))).toEqual({ __typename: 'MutationSaveUserGroupSuccess' });
    expect(await create('named', 'acme')).toBe(400);

    expect(await save('named', named({ type: 'string', maxLength: 10 }))).toEqual({ __typename: 'MutationSaveUserGroupSuccess' });
    expect(await create('named', 'acme')).toBe(200);
    expect(await create('named', 'acme corporation')).toBe(400);

    // Another group with the same `$id`, and a `$ref` through it, each validating by its own schema.
    const own = {
      $id: 'http://x/named',
      type: 'object',
      properties: { colour: { type: 'string', maxLength: 2 }, company: { $ref: 'http://x/named#/properties/colour' } },
    };
    expect(await save('named-too', own)).toEqual({ __typename: 'MutationSaveUserGroupSuccess' });
    expect(await create('named-too', 'acme')).toBe(400);
    expect(await create('named-too', 'ac')).toBe(200);
    expect(await create('named', 'acme')).toBe(200);
  });

  it('answers a 400 naming the group, not a 500, for a looping schema stored before the check', async () => {
    const crudSchema = { type: 'object', properties: { a: { $anchor: 'A', allOf: [{ $ref: '#A' }] } } };
    await service.deps.groups.saveGroup({ userGroup: 'looping', label: 'Looping', authUserCreationDisabled: true, crudSchema }, scope);
    const message =
      'user group "looping" has a crudSchema that never ends validating (a $ref loop): save the group again with a fixed crudSchema';
    const created = await service.call('POST', '/users/', { userGroup: 'looping', name: 'l', a: 1 });
    expect([created.status, created.body.message]).toEqual([400, message]);
    const plain = await service.call('POST', '/users/', { userGroup: 'looping', name: 'l' });
    expect(plain.status).toBe(200);
    const patched = await service.call('PATCH', `/users/${plain.body._id}`, { $set: { a: 1 } });
    expect([patched.status, patched.body.message]).toEqual([400, message]);
    const graphql = await service.graphql(
      'mutation ($p: JSONObject) { createUser(input: { userGroup: "looping", properties: $p }) { __typename ... on Error { message } } }',
      { p: { a: 1 } },
    );
    expect(graphql.data.createUser).toEqual({ __typename: 'InvalidInputError', message });
    const form = new FormData();
    form.append('file', new Blob(['userGroup,name,a\nlooping,x,1\n']), 'users.csv');
    const imported = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(imported.status).toBe(200);
    expect(((await imported.json()) as { invalid: { error: string }[] }).invalid).toEqual([
      { row: 1, error: expect.stringContaining(message) },
    ]);
  });

  it('keeps serving a group stored before the limits, whose schema is past them', async () => {
    const names = Array.from({ length: 2001 }, (_, index) => `n${index}`);
    await service.deps.groups.saveGroup(
      {
        userGroup: 'legacy',
        label: 'Legacy',
        authUserCreationDisabled: true,
        crudSchema: { type: 'object', properties: { name: { enum: names } } },
      },
      scope,
    );
    expect((await service.call('POST', '/users/', { userGroup: 'legacy', name: 'n2000' })).status).toBe(200);
    expect((await service.call('POST', '/users/', { userGroup: 'legacy', name: 'n2001' })).status).toBe(400);
  });
});
