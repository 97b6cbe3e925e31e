import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CrudEmulator } from './emulators/crud.js';
import { RondEmulator } from './emulators/rond.js';
import { seedGroups, startService, type TestService } from './helpers/service.js';

const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Roles-pass-1';
let counter = 0;

async function newUser(service: TestService, extra: Record<string, unknown> = {}, query = '') {
  counter += 1;
  const username = `role${counter}`;
  const res = await service.call('POST', `/users/?sendResetPwdEmail=false${query}`, {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'R',
    password: PASSWORD,
    ...extra,
  });
  expect(res.status).toBe(200);
  return (await service.call('GET', `/users/${res.body._id}`)).body;
}

async function permissionsInUserinfo(service: TestService, username: string): Promise<unknown> {
  const login = await service.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous);
  return (await service.call('GET', '/userinfo', undefined, { ...anonymous, authorization: `Bearer ${login.body.accessToken}` })).body
    .permissions;
}

describe('embedded roles and bindings', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ env: { RANDOM_PWD_GEN: 'false', USERINFO_ADDITIONAL_PROPERTIES: 'name,roles,permissions' } });
    await seedGroups(service);
    const save = 'mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }';
    await service.graphql(save, { r: { roleId: 'reader', name: 'Reader', permissions: ['users.read'] } });
    await service.graphql(save, { r: { roleId: 'writer', name: 'Writer', permissions: ['users.read', 'users.write'] } });
  });
  afterAll(() => service.close());
  const bindings = async (subject: string) =>
    (await service.graphql('query ($s: String) { bindings(subject: $s) { subjects roles } }', { s: subject })).data.bindings;

  it('grants the roles of a new user to its authUserId and lists their permissions', async () => {
    const user = await newUser(service, { roles: ['reader', 'writer'] });
    expect(await bindings(user.authUserId)).toEqual([{ subjects: [user.authUserId], roles: ['reader', 'writer'] }]);
    expect(await permissionsInUserinfo(service, user.username)).toEqual(['users.read', 'users.write']);
    const graph = await service.graphql(`{ user(id: "${user._id}") { ... on QueryUserSuccess { data { permissions } } } }`);
    expect(graph.data.user.data.permissions).toEqual(['users.read', 'users.write']);
  });

  it('revokes and grants again when the roles change', async () => {
    const user = await newUser(service, { roles: ['writer'] });
    await service.call('PATCH', `/users/${user._id}`, { $set: { roles: ['reader'] } });
    expect(await bindings(user.authUserId)).toEqual([{ subjects: [user.authUserId], roles: ['reader'] }]);
    expect(await permissionsInUserinfo(service, user.username)).toEqual(['users.read']);
  });

  it('grants nothing to postponed users until they are registered', async () => {
    const user = await newUser(service, { roles: ['reader'] }, '&postponeAuthUserCreation=true');
    expect(user.authUserId).toBeUndefined();
    expect(
      (await service.graphql('{ bindings { subjects } }')).data.bindings.some((b: { subjects: string[] }) => b.subjects.length === 0),
    ).toBe(false);
    await service.call('POST', '/users/register', { _id: user._id, password: PASSWORD });
    const registered = (await service.call('GET', `/users/${user._id}`)).body;
    expect(await bindings(registered.authUserId)).toEqual([{ subjects: [registered.authUserId], roles: ['reader'] }]);
  });

  // `bindings(subject:)` filters by an authUserId: an empty one listed every binding (read as no
  // filter), and one of any length was looked up, where every other authUserId input names no
  // identity past 1,024 characters (namesNoIdentity).
  it('lists no binding for a subject no identity can have: empty or over 1,024 characters, unasked', async () => {
    await newUser(service, { roles: ['reader'] });
    const store = service.deps.roleAdmin!;
    const listBindings = vi.spyOn(store, 'listBindings');
    try {
      for (const subject of ['', 'a'.repeat(1_025), 'a'.repeat(100_000)]) {
        expect([subject.length, await bindings(subject)]).toEqual([subject.length, []]);
      }
      expect(listBindings).not.toHaveBeenCalled();
      expect((await bindings('a'.repeat(1_024))).length).toBe(0);
      expect(listBindings).toHaveBeenCalledTimes(1);
    } finally {
      listBindings.mockRestore();
    }
  });

  // saveRole took a roleId, a name and permissions of any length and number (a 100,000-character
  // roleId, name and permission were stored and listed by every roles query); a group's name, the
  // other name an administrator gives, is at most 200 characters.
  it('refuses a role past its limits, and stores nothing', async () => {
    const save = 'mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }';
    const long = 'r'.repeat(201);
    for (const role of [
      { roleId: long, name: 'Long', permissions: [] },
      { roleId: 'long-name', name: long, permissions: [] },
      { roleId: 'long-permission', name: 'Long', permissions: [long] },
      { roleId: 'many-permissions', name: 'Many', permissions: Array.from({ length: 1_001 }, (_, index) => `p${index}`) },
    ]) {
      expect([role.roleId.slice(0, 20), (await service.graphql(save, { r: role })).data?.saveRole]).toEqual([
        role.roleId.slice(0, 20),
        { __typename: 'InvalidInputError' },
      ]);
    }
    const roles = (await service.graphql('{ roles { roleId } }')).data.roles.map((r: { roleId: string }) => r.roleId);
    expect(roles).toEqual(['reader', 'writer']);
    const within = { roleId: 'r'.repeat(200), name: 'n'.repeat(200), permissions: Array.from({ length: 1_000 }, () => 'p'.repeat(200)) };
    expect((await service.graphql(save, { r: within })).data?.saveRole).toEqual({ __typename: 'MutationSaveRoleSuccess' });
    expect((await service.graphql('mutation { deleteRole(roleId: "' + within.roleId + '") { __typename } }')).errors).toBeUndefined();
  });

  it('lets only administrators manage roles', async () => {
    const res = await service.graphql('{ roles { roleId } }', undefined, anonymous);
    expect(res.errors?.[0].extensions.code).toBe('UNAUTHORIZED');
    expect((await service.graphql('{ roles { roleId } }')).data.roles.map((r: { roleId: string }) => r.roleId)).toEqual([
      'reader',
      'writer',
    ]);
  });
});

describe('Rönd (ROND_ENABLED=true)', () => {
  let rond: RondEmulator;
  let crud: CrudEmulator;
  let service: TestService;
  beforeAll(async () => {
    rond = await new RondEmulator().start();
    crud = await new CrudEmulator([
      { path: '/roles', defaultState: 'PUBLIC', unique: ['roleId'], fields: { roleId: 'string', name: 'string', permissions: 'array' } },
    ]).start();
    crud
      .docs('/roles')
      .push(
        { _id: 'a'.repeat(24), __STATE__: 'PUBLIC', roleId: 'reader', name: 'Reader', permissions: ['users.read'] },
        { _id: 'b'.repeat(24), __STATE__: 'PUBLIC', roleId: 'admin', name: 'Admin', permissions: ['users.read', 'users.manage'] },
      );
    service = await startService({
      env: {
        RANDOM_PWD_GEN: 'false',
        ROND_ENABLED: 'true',
        ROND_SERVICE: rond.url,
        CRUD_SERVICE: crud.url,
        ROLES_CRUD_ENDPOINT: '/roles',
        USERINFO_ADDITIONAL_PROPERTIES: 'permissions',
      },
    });
    await seedGroups(service);
  });
  afterAll(async () => {
    await service.close();
    await rond.stop();
    await crud.stop();
  });

  it('grants with the authUserId as subject, revokes then grants on a change, and reads permissions from ROLES_CRUD_ENDPOINT', async () => {
    const user = await newUser(service, { roles: ['reader'] });
    expect(rond.requests.at(-1)).toEqual({
      path: '/grant/bindings',
      body: { subjects: [user.authUserId], groups: [], roles: ['reader'], permissions: [] },
    });
    expect(await permissionsInUserinfo(service, user.username)).toEqual(['users.read']);

    await service.call('PATCH', `/users/${user._id}`, { $set: { roles: ['admin'] } });
    expect(rond.requests.slice(-2).map((r) => r.path)).toEqual(['/revoke/bindings', '/grant/bindings']);
    expect(rond.rolesOf(user.authUserId)).toEqual(['admin']);
    expect(await permissionsInUserinfo(service, user.username)).toEqual(['users.manage', 'users.read']);
  });

  it('leaves a user with no roles when the grant fails after the revoke, as documented, and says so', async () => {
    const user = await newUser(service, { roles: ['reader'] });
    rond.failures.push({ path: '/grant/bindings', status: 500 });
    const res = await service.call('PATCH', `/users/${user._id}`, { $set: { roles: ['admin'] } });
    expect(res.status).toBe(500);
    expect(res.body.message).toBe('Error while granting roles: Rond POST /grant/bindings responded with a 500 status code');
    expect(rond.rolesOf(user.authUserId)).toEqual([]);
    expect((await service.call('GET', `/users/${user._id}`)).body.roles).toEqual(['admin']);
  });

  it('gives profile-only users no bindings', async () => {
    const before = rond.requests.length;
    await service.call('POST', '/users/', { userGroup: 'guest', name: 'G', roles: ['reader'] });
    expect(rond.requests.length).toBe(before);
  });
});
