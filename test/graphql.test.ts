import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../src/ports/identity-provider.js';
import { seedGroups, startService, type TestService } from './helpers/service.js';

let service: TestService;
const identityBatches: number[] = [];
let identityDown = false;

beforeAll(async () => {
  service = await startService({
    wrap: (deps) => {
      const counted: IdentityProvider = {
        ...deps.identity,
        getUsers: (ids) => {
          identityBatches.push(ids.length);
          return identityDown ? Promise.reject(new Error('identity provider down')) : deps.identity.getUsers(ids);
        },
      };
      return { identity: counted };
    },
  });
  await seedGroups(service);
});
afterAll(() => service.close());

const USER_FIELDS = 'id userGroup username email blocked state properties authUserId identity { id username blocked }';

const CREATE = `mutation ($input: CreateUserInput!, $postpone: Boolean) {
  createUser(input: $input, postponeAuthUserCreation: $postpone) {
    __typename
    ... on MutationCreateUserSuccess { data { ${USER_FIELDS} } }
    ... on InvalidInputError { message code issues { path message } }
    ... on ConflictError { message code }
  }
}`;

async function create(input: Record<string, unknown>, postpone = false) {
  const res = await service.graphql(CREATE, { input, postpone });
  expect(res.errors).toBeUndefined();
  return res.data.createUser;
}

describe('GraphQL users', () => {
  it('creates a user with its identity, readable back with identity fields', async () => {
    const result = await create({ userGroup: 'customer', username: 'gq1', email: 'gq1@example.com', properties: { name: 'Gq', age: 3 } });
    expect(result.__typename).toBe('MutationCreateUserSuccess');
    expect(result.data).toMatchObject({
      userGroup: 'customer',
      username: 'gq1',
      email: 'gq1@example.com',
      state: 'PUBLIC',
      properties: { name: 'Gq', age: 3 },
      identity: { username: 'gq1', blocked: false },
    });
    expect(result.data.identity.id).toBe(result.data.authUserId);
    const rest = await service.call('GET', `/users/${result.data.id}`);
    expect(rest.body).toMatchObject({ name: 'Gq', age: 3, authUserId: result.data.authUserId });
  });

  it('returns typed errors with field paths for invalid input, unknown groups and conflicts', async () => {
    const invalid = await create({ userGroup: 'customer', username: 'gq2', email: 'gq2@example.com', properties: { age: -1 } });
    expect(invalid).toMatchObject({ __typename: 'InvalidInputError', code: 'INVALID_INPUT' });
    expect(invalid.issues).toEqual(
      expect.arrayContaining([
        { path: ['body', 'name'], message: "must have required property 'name'" },
        { path: ['body', 'age'], message: 'must be >= 0' },
      ]),
    );

    expect(await create({ userGroup: 'martians', username: 'gq3', email: 'gq3@example.com' })).toMatchObject({
      __typename: 'InvalidInputError',
      message: 'userGroup "martians" does not exist',
    });
    expect(await create({ userGroup: 'customer', username: 'gq4', email: 'bad', properties: { name: 'x' } })).toMatchObject({
      __typename: 'InvalidInputError',
      issues: [{ path: ['input', 'email'] }],
    });
    await create({ userGroup: 'customer', username: 'gq5', email: 'gq5@example.com', properties: { name: 'x' } });
    expect(await create({ userGroup: 'customer', username: 'gq5', email: 'gq5@example.com', properties: { name: 'x' } })).toMatchObject({
      __typename: 'ConflictError',
      code: 'CONFLICT',
    });
  });

  it('lists a page with one batched identity call, totalCount and cursors', async () => {
    for (let index = 0; index < 12; index += 1)
      await create({
        userGroup: 'customer',
        username: `page${index}`,
        email: `page${index}@example.com`,
        properties: { name: 'page', age: index },
      });
    identityBatches.length = 0;
    const query = `query ($after: String) {
      users(filter: {name: "page"}, first: 5, after: $after, sort: ["-age"]) {
        totalCount
        nodes { username identity { username } }
        pageInfo { hasNextPage endCursor }
      }
    }`;
    const first = await service.graphql(query);
    expect(first.errors).toBeUndefined();
    expect(first.data.users.totalCount).toBe(12);
    expect(first.data.users.nodes.map((n: { username: string }) => n.username)).toEqual(['page11', 'page10', 'page9', 'page8', 'page7']);
    expect(
      first.data.users.nodes.every((n: { username: string; identity: { username: string } }) => n.identity.username === n.username),
    ).toBe(true);
    expect(identityBatches).toEqual([5]);
    expect(first.data.users.pageInfo.hasNextPage).toBe(true);

    const last = await service.graphql(query, { after: first.data.users.pageInfo.endCursor });
    const third = await service.graphql(query, {
      after: (await service.graphql(query, { after: first.data.users.pageInfo.endCursor })).data.users.pageInfo.endCursor,
    });
    expect(last.data.users.nodes[0].username).toBe('page6');
    expect(third.data.users.nodes.map((n: { username: string }) => n.username)).toEqual(['page1', 'page0']);
    expect(third.data.users.pageInfo.hasNextPage).toBe(false);

    // A variable inside the filter literal is the request's, not lost (graphql-jit would drop it).
    const byVariable = await service.graphql('query ($n: String, $a: Int) { users(filter: {name: $n, age: $a}) { totalCount } }', {
      n: 'page',
      a: 2,
    });
    expect(byVariable).toEqual({ data: { users: { totalCount: 1 } } });

    const byOffset = await service.graphql('{ users(filter: {name: "page"}, offset: 10, first: 5) { nodes { username } } }');
    expect(byOffset.data.users.nodes).toHaveLength(2);
    const count = await service.graphql('query ($f: JSONObject) { usersCount(filter: $f) }', { f: { name: 'page', age: { $lt: 3 } } });
    expect(count.data.usersCount).toBe(3);
  });

  it("reads a page's identities in one call through edges and fragments, and not at all when none is selected", async () => {
    const page = 'users(filter: {name: "page"}, first: 4, sort: ["age"])';
    identityBatches.length = 0;
    const viaEdges = await service.graphql(`{ ${page} { edges { node { ...withIdentity } } } }
      fragment withIdentity on User { username ... on User { identity { username } } }`);
    expect(viaEdges.errors).toBeUndefined();
    expect(viaEdges.data.users.edges.map((edge: { node: unknown }) => edge.node)).toEqual(
      ['page0', 'page1', 'page2', 'page3'].map((username) => ({ username, identity: { username } })),
    );
    expect(identityBatches).toEqual([4]);

    identityBatches.length = 0;
    const both = await service.graphql(`{ ${page} { nodes { identity { id } } edges { node { identity { id } } } } }`);
    expect(both.data.users.edges.map((edge: { node: unknown }) => edge.node)).toEqual(both.data.users.nodes);
    expect(identityBatches).toEqual([4]);

    identityBatches.length = 0;
    const without = await service.graphql(`{ ${page} { nodes { username } } }`);
    expect(without.data.users.nodes).toHaveLength(4);
    expect(identityBatches).toEqual([]);
  });

  it('still lists the page when the identity provider fails, with an error on each identity', async () => {
    identityDown = true;
    try {
      const result = await service.graphql(
        '{ users(filter: {name: "page"}, first: 2, sort: ["age"]) { nodes { username identity { id } } } }',
      );
      expect(result.data.users.nodes).toEqual([
        { username: 'page0', identity: null },
        { username: 'page1', identity: null },
      ]);
      expect(result.errors!.map((error) => error.path)).toEqual([
        ['users', 'nodes', 0, 'identity'],
        ['users', 'nodes', 1, 'identity'],
      ]);
    } finally {
      identityDown = false;
    }
  });

  it('rejects forbidden filter operators and out-of-range page sizes', async () => {
    const forbidden = await service.graphql('query ($f: JSONObject) { users(filter: $f) { totalCount } }', {
      f: { name: { $where: '1' } },
    });
    expect(forbidden.errors?.[0]).toMatchObject({
      message: 'Unsupported operator: $where',
      extensions: { code: 'INVALID_INPUT' },
    });
    const tooMany = await service.graphql('{ users(first: 500) { totalCount } }');
    expect(tooMany.errors?.[0].extensions.code).toBe('INVALID_INPUT');
  });

  it('updates, changes state, soft deletes and deletes', async () => {
    const created = (await create({ userGroup: 'customer', username: 'life', email: 'life@example.com', properties: { name: 'L' } })).data;
    const updated = await service.graphql(
      'mutation ($id: ID!, $u: JSONObject!) { updateUser(id: $id, update: $u) { ... on MutationUpdateUserSuccess { data { properties blocked identity { blocked } } } } }',
      { id: created.id, u: { $set: { name: 'Life', blocked: true } } },
    );
    expect(updated.data.updateUser.data).toEqual({ properties: { name: 'Life' }, blocked: true, identity: { blocked: true } });

    const notEditable = await service.graphql(
      `mutation { updateUser(id: "${created.id}", update: {authUserId: "x"}) { __typename ... on InvalidInputError { message } } }`,
    );
    expect(notEditable.data.updateUser).toEqual({ __typename: 'InvalidInputError', message: 'authUserId is not editable' });

    const moved = await service.graphql(
      `mutation { changeUsersState(changes: [{filter: {_id: "${created.id}"}, stateTo: DRAFT}]) { ... on MutationChangeUsersStateSuccess { data } } }`,
    );
    expect(moved.data.changeUsersState.data).toBe(1);

    const soft = await service.graphql(
      `mutation { softDeleteUser(id: "${created.id}") { ... on MutationSoftDeleteUserSuccess { data { state identity { id } } } } }`,
    );
    expect(soft.data.softDeleteUser.data).toEqual({ state: 'DELETED', identity: null });

    const deleted = await service.graphql(`mutation { deleteUser(id: "${created.id}") { ... on MutationDeleteUserSuccess { data } } }`);
    expect(deleted.data.deleteUser.data).toBe(true);
    const gone = await service.graphql(`{ user(id: "${created.id}") { __typename ... on NotFoundError { message } } }`);
    expect(gone.data.user).toEqual({ __typename: 'NotFoundError', message: `user ${created.id} not found` });
  });

  it('registers a postponed user and links an existing identity', async () => {
    const postponed = (
      await create({ userGroup: 'customer', username: 'gql-reg', email: 'gql-reg@example.com', properties: { name: 'R' } }, true)
    ).data;
    expect(postponed.identity).toBeNull();
    const registered = await service.graphql(
      `mutation { registerUser(id: "${postponed.id}") { ... on MutationRegisterUserSuccess { data { identity { username } } } } }`,
    );
    expect(registered.data.registerUser.data.identity).toEqual({ username: 'gql-reg' });

    const identity = await service.deps.identity.createUser({
      username: 'gql-link',
      email: 'gql-link@example.com',
      password: 'pw-Long-enough1',
    });
    const linked = await service.graphql(
      `mutation ($input: CreateUserWithIdInput!) { createUserWithId(input: $input) { __typename ... on MutationCreateUserWithIdSuccess { data { username authUserId } } } }`,
      { input: { authUserId: identity.id, userGroup: 'customer', properties: { name: 'Link' } } },
    );
    expect(linked.data.createUserWithId.data).toEqual({ username: 'gql-link', authUserId: identity.id });
  });
});

describe('GraphQL user groups', () => {
  it('creates, lists, updates and deletes groups, refusing schemas that do not compile', async () => {
    const save = `mutation ($input: UserGroupInput!) { saveUserGroup(input: $input) { __typename ... on MutationSaveUserGroupSuccess { data { userGroup label authUserCreationDisabled crudSchema } } ... on InvalidInputError { message issues { path } } } }`;
    const created = await service.graphql(save, { input: { userGroup: 'vip', label: 'VIP', crudSchema: { type: 'object' } } });
    expect(created.data.saveUserGroup.data).toEqual({
      userGroup: 'vip',
      label: 'VIP',
      authUserCreationDisabled: false,
      crudSchema: { type: 'object' },
    });
    const updated = await service.graphql(save, {
      input: { userGroup: 'vip', label: 'Very', crudSchema: { type: 'object' }, authUserCreationDisabled: true },
    });
    expect(updated.data.saveUserGroup.data.label).toBe('Very');
    const broken = await service.graphql(save, { input: { userGroup: 'bad', label: 'Bad', crudSchema: { type: 'not-a-type' } } });
    expect(broken.data.saveUserGroup).toMatchObject({ __typename: 'InvalidInputError', issues: [{ path: ['crudSchema'] }] });

    const groups = await service.graphql('{ userGroups { userGroup } }');
    expect(groups.data.userGroups.map((g: { userGroup: string }) => g.userGroup)).toEqual(['customer', 'guest', 'vip']);
    const removed = await service.graphql('mutation { deleteUserGroup(userGroup: "vip") { __typename } }');
    expect(removed.data.deleteUserGroup.__typename).toBe('MutationDeleteUserGroupSuccess');
    const missing = await service.graphql('mutation { deleteUserGroup(userGroup: "vip") { __typename } }');
    expect(missing.data.deleteUserGroup.__typename).toBe('NotFoundError');
  });
});
