import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';
import type { MultipartBody } from './emulators/crud.js';

let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({
    store: 'crud',
    env: { ADDITIONAL_HEADERS_TO_PROXY: 'x-tenant', CRUD_TIMEOUT_MS: '300', RANDOM_PWD_GEN: 'false' },
  });
  await seedGroups(service);
});
afterAll(() => service.close());
beforeEach(() => {
  service.crud!.hang = false;
  service.crud!.failures.length = 0;
});

const crud = () => service.crud!;
const lastRequest = (method: string, path: RegExp) => [...crud().requests].reverse().find((r) => r.method === method && path.test(r.path))!;

async function newUser() {
  counter += 1;
  const res = await service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'customer', username: `c${counter}`, name: 'C' });
  expect(res.status).toBe(200);
  return res.body._id as string;
}

describe('the CRUD Service as profile store', () => {
  it('creates users PUBLIC explicitly (the collection default is DRAFT) and records the caller', async () => {
    const id = await newUser();
    // POST /import: the one insert that takes the service's own _id (its file, a JSON array).
    const post = lastRequest('POST', /^\/users\/import$/);
    // A JSON file, which the CRUD parses by the type its part declares: application/json exactly.
    const [file] = (post.body as MultipartBody).files;
    expect(file).toMatchObject({ field: 'file', type: 'application/json' });
    expect(JSON.parse(file!.text)).toEqual([expect.objectContaining({ _id: id, userGroup: 'customer', __STATE__: 'PUBLIC' })]);
    expect(post.headers.miauserid).toBe('api-key');
    expect(
      crud()
        .docs('/users')
        .find((doc) => doc._id === id),
    ).toMatchObject({ __STATE__: 'PUBLIC', creatorId: 'api-key' });
  });

  it('passes GET /users/ and /users/count through unchanged, in one upstream call, with the platform headers', async () => {
    await newUser();
    const before = crud().requests.length;
    const query = `_q=${encodeURIComponent('{"userGroup":"customer"}')}&_l=5&_p=username`;
    const res = await service.call('GET', `/users/?${query}`, undefined, { acl_rows: '[{"name":"C"}]', 'x-tenant': 't1', 'x-other': 'no' });
    expect(res.status).toBe(200);
    expect(res.body.every((doc: Record<string, unknown>) => Object.keys(doc).sort().join() === '_id,username')).toBe(true);
    expect(crud().requests.length - before).toBe(1);
    const get = lastRequest('GET', /^\/users\/$/);
    expect(get.query.toString()).toBe(query);
    expect(get.headers).toMatchObject({ acl_rows: '[{"name":"C"}]', 'x-tenant': 't1', miauserid: 'api-key' });
    expect(get.headers['x-other']).toBeUndefined();

    const counted = crud().requests.length;
    expect((await service.call('GET', '/users/count?name=C')).body).toBeGreaterThan(0);
    expect(crud().requests.length - counted).toBe(1);
  });

  it('answers the CRUD text itself for list and count, and refuses one that is not a list or a count', async () => {
    await newUser();
    const query = '_l=3&_s=-username';
    const direct = await (await fetch(`${crud().url}/users/?${query}`)).text();
    const proxied = await fetch(`${service.url}/users/?${query}`, { headers: { 'x-api-key': TEST_API_KEY } });
    expect(proxied.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await proxied.text()).toBe(direct);
    const count = await fetch(`${service.url}/users/count`, { headers: { 'x-api-key': TEST_API_KEY } });
    expect(await count.text()).toBe(await (await fetch(`${crud().url}/users/count`)).text());

    crud().failNext('GET', /\/users\/$/, 200, { not: 'a list' });
    const odd = await service.call('GET', '/users/');
    expect(odd.status).toBe(500);
    expect(odd.body.message).toBe('Error while listing users: CRUD GET /users/ answered an unexpected body');
    crud().failNext('GET', /\/users\/count$/, 500);
    const down = await service.call('GET', '/users/count');
    expect(down.body.message).toBe('Error while counting users: CRUD GET /users/count responded with a 500 status code');
  });

  it("sends a query's reserved characters encoded, so the CRUD reads them back as they were", async () => {
    const name = `Ann + Bob's (50% & co) #${counter}`;
    const res = await service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'customer', username: `enc${counter}`, name });
    expect(res.status).toBe(200);
    const page = await service.graphql('query($filter: JSONObject) { users(filter: $filter) { nodes { id properties } } }', {
      filter: { name },
    });
    expect(page.errors).toBeUndefined();
    expect(page.data.users.nodes).toEqual([{ id: res.body._id, properties: expect.objectContaining({ name }) }]);
    expect(JSON.parse(lastRequest('GET', /^\/users\/$/).query.get('_q')!)).toMatchObject({ name });
  });

  it('answers the CRUD 400 for a query it refuses', async () => {
    const res = await service.call('GET', '/users/?unknownField=1');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'querystring must NOT have additional properties. Property "unknownField" is not defined in validation schema',
    });
  });

  it('passes the states it must see on by-id calls (the CRUD default would hide a DRAFT user)', async () => {
    const id = await newUser();
    await service.call('POST', '/users/state', [{ filter: { _id: id }, stateTo: 'DRAFT' }]);
    const patched = await service.call('PATCH', `/users/${id}`, { name: 'Draft' });
    expect(patched.status).toBe(200);
    expect(lastRequest('PATCH', /^\/users\/\w+$/).query.get('_st')).toBe('PUBLIC,DRAFT,TRASH');
    expect((await service.call('POST', `/users/${id}/soft-delete`)).status).toBe(204);
    expect(
      crud()
        .docs('/users')
        .find((doc) => doc._id === id)?.__STATE__,
    ).toBe('DELETED');
    expect((await service.call('DELETE', `/users/${id}`)).status).toBe(204);
    expect(lastRequest('DELETE', /^\/users\/\w+$/).query.get('_st')).toBe('PUBLIC,DRAFT,TRASH,DELETED');
  });

  it('patches many users in one PATCH /bulk, each filter naming its id and the states it may be in', async () => {
    const [a, b] = [await newUser(), await newUser()];
    await service.call('POST', '/users/state', [{ filter: { _id: b }, stateTo: 'DRAFT' }]);
    const states = ['PUBLIC', 'DRAFT'] as const;
    const update = { $set: { name: 'Bulk' } };
    const scope = { actorId: 'bulk-test', headers: { miauserid: 'bulk-test' } };
    const updates = [a, b, '650000000000000000000abc'].map((id) => ({ id, update }));
    expect(await service.deps.users.patchMany(updates, { states }, scope)).toBe(2);
    expect(lastRequest('PATCH', /^\/users\/bulk$/).body).toEqual(
      updates.map(({ id }) => ({ filter: { _id: id, _st: 'PUBLIC,DRAFT' }, update })),
    );
    const docs = crud().docs('/users');
    expect([a, b].map((id) => docs.find((doc) => doc._id === id))).toMatchObject([
      { name: 'Bulk', updaterId: 'bulk-test' },
      { name: 'Bulk', __STATE__: 'DRAFT' },
    ]);
  });

  it('maps a CRUD failure to the documented 500 message', async () => {
    const id = await newUser();
    crud().failNext('PATCH', /\/users\/\w+/, 500);
    const patched = await service.call('PATCH', `/users/${id}`, { name: 'x' });
    expect(patched.status).toBe(500);
    expect(patched.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Error while updating user: CRUD PATCH /users/:id responded with a 500 status code',
    });

    crud().failNext('GET', /\/users\/\w+/, 500);
    const deleted = await service.call('DELETE', `/users/${id}`);
    expect(deleted.body.message).toBe('Error while deleting user: CRUD GET /users/:id responded with a 500 status code');

    crud().failNext('POST', /\/users\/\w+\/state/, 500);
    const soft = await service.call('POST', `/users/${id}/soft-delete`);
    expect(soft.body.message).toBe('Error while soft deleting user: CRUD POST /users/:id/state responded with a 500 status code');
  });

  it('treats the older 422 duplicate answer as a conflict', async () => {
    crud().failNext('POST', /\/users\/import$/, 422);
    expect((await service.call('POST', '/users/', { userGroup: 'guest', name: 'dup' })).status).toBe(409);
  });

  it('never sends a POST twice, but retries reads', async () => {
    // POSTs of users only: the creation's intent is a POST to the jobs collection.
    const userPosts = () => crud().requests.filter((r) => r.method === 'POST' && r.path === '/users/import').length;
    const posts = userPosts();
    crud().failNext('POST', /\/users\/import$/, 503);
    expect((await service.call('POST', '/users/', { userGroup: 'guest', name: 'once' })).status).toBe(500);
    expect(userPosts() - posts).toBe(1);

    crud().failNext('GET', /\/users\/count/, 503);
    expect((await service.call('GET', '/users/count')).status).toBe(200);
  });

  it('gives up on a hung CRUD after CRUD_TIMEOUT_MS with a 503 naming the call', async () => {
    crud().hang = true;
    const started = Date.now();
    const res = await service.call('GET', '/users/');
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/^Error while listing users: CRUD GET \/users\/ is unreachable/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("GraphQL reads of the caller's own profile", () => {
  it('apply the acl_rows header, as /userinfo does: me.user is hidden by a row filter that hides the profile', async () => {
    const password = 'Correct-horse-9';
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'acl-me',
      name: 'Acl Me',
      password,
    });
    expect(created.status).toBe(200);
    const login = await service.call('POST', '/oauth/token', { username: 'acl-me', password }, { 'x-api-key': '' });
    const asUser = { 'x-api-key': '', authorization: `Bearer ${login.body.accessToken}` };
    const me = (acl: object[]) =>
      service.graphql('{ me { ... on QueryMeSuccess { data { userinfo user { username } } } } }', undefined, {
        ...asUser,
        acl_rows: JSON.stringify(acl),
      });

    const hidden = await me([{ name: 'Someone else' }]);
    expect(hidden.errors).toBeUndefined();
    expect(hidden.data.me.data.userinfo.name).toBeUndefined();
    expect(hidden.data.me.data.user).toBeNull();

    const shown = await me([{ name: 'Acl Me' }]);
    expect(shown.data.me.data.userinfo.name).toBe('Acl Me');
    expect(shown.data.me.data.user).toEqual({ username: 'acl-me' });
    const profileRead = lastRequest('GET', /^\/users\/$/);
    expect(profileRead.query.get('_q')).toContain('authUserId');
    expect(profileRead.headers.acl_rows).toBe(JSON.stringify([{ name: 'Acl Me' }]));
  });
});

describe('a CRUD Service that goes down and comes back', () => {
  it('answers 503 and reports not ready while down, and recovers', async () => {
    const port = crud().port;
    await crud().stop();
    const down = await service.call('GET', '/users/count');
    expect(down.status).toBe(503);
    expect(down.body.message).toContain('ECONNREFUSED');
    const ready = await service.call('GET', '/-/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks[0]).toMatchObject({ name: 'CRUD', ok: false });

    await crud().start(port);
    expect((await service.call('GET', '/users/count')).status).toBe(200);
    expect((await service.call('GET', '/-/ready')).status).toBe(200);
    expect((await service.call('GET', '/-/check-up')).status).toBe(200);
  });
});

describe('starting with the CRUD Service unreachable', () => {
  it('is not fatal', async () => {
    const offline = await startService({
      store: 'embedded',
      env: { CRUD_SERVICE: 'http://127.0.0.1:9', USERS_CRUD_ENDPOINT: '/users', UMS_CONFIG_CRUD_ENDPOINT: '/ums-config' },
    });
    try {
      expect((await offline.call('GET', '/-/healthz')).status).toBe(200);
      expect((await offline.call('GET', '/-/ready')).status).toBe(503);
      expect((await offline.call('GET', '/users/')).status).toBe(503);
    } finally {
      await offline.close();
    }
  });
});

describe('inserts that name their own _id', () => {
  /** A creation, then a CSV import of three rows whose second is a duplicate: what the CRUD holds after each. */
  async function createThenImport(target: TestService): Promise<void> {
    const store = () => target.crud!.docs('/users');
    const created = await target.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'customer', username: 'own-id', name: 'O' });
    expect(created.status).toBe(200);
    const stored = store().find((doc) => doc._id === created.body._id);
    expect(stored).toMatchObject({ username: 'own-id', __STATE__: 'PUBLIC', creatorId: 'api-key', authUserId: expect.any(String) });

    const form = new FormData();
    form.append('file', new Blob(['userGroup,username,name\ncustomer,imp-a,A\ncustomer,own-id,Dup\ncustomer,imp-b,B\n']), 'users.csv');
    const res = await fetch(`${target.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    const answer = (await res.json()) as { inserted: string[]; invalid: { row: number }[] };
    expect(res.status).toBe(200);
    expect(answer.invalid.map((row) => row.row)).toEqual([2]);
    expect(answer.inserted.map((id) => store().find((doc) => doc._id === id)?.username)).toEqual(['imp-a', 'imp-b']);
  }
  const userInserts = (target: TestService) =>
    target.crud!.requests.filter((r) => r.method === 'POST' && /^\/users\/(bulk|import)?$/.test(r.path)).map((r) => r.path);

  it('go through POST /import, the one insert whose schema takes an _id (POST / and POST /bulk refuse it)', async () => {
    const before = userInserts(service).length;
    await createThenImport(service);
    expect(new Set(userInserts(service).slice(before))).toEqual(new Set(['/users/import']));
  });

  it('go through POST / and POST /bulk, once asked, to a stand-in of the CRUD that serves no POST /import', async () => {
    const standIn = await startService({ store: 'crud', env: { RANDOM_PWD_GEN: 'false' } });
    try {
      await seedGroups(standIn);
      standIn.crud!.withoutImport = true;
      await createThenImport(standIn);
      // POST /import is asked once. The creation goes on to POST /; the import's batch to POST /bulk,
      // which stops at the duplicate, and the row after it, alone, to POST / again.
      expect(userInserts(standIn)).toEqual(['/users/import', '/users/', '/users/bulk', '/users/']);
    } finally {
      await standIn.close();
    }
  });

  it('go to POST /import again after a passing 404 there (a gateway mid-deploy), since the CRUD refuses the _id in POST /', async () => {
    const target = await startService({ store: 'crud', env: { RANDOM_PWD_GEN: 'false' } });
    try {
      await seedGroups(target);
      target.crud!.failNext('POST', /\/users\/import$/, 404);
      const create = (username: string) =>
        target.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'customer', username, name: 'G' });
      const [first, second] = [await create('passing-404'), await create('after-404')];
      expect([first.status, second.status]).toEqual([200, 200]);
      const usernames = [first, second].map((created) => target.crud!.docs('/users').find((doc) => doc._id === created.body._id)?.username);
      expect(usernames).toEqual(['passing-404', 'after-404']);
      // The 404, POST / refused (400: no _id there, nothing inserted), POST /import again; then POST /import alone.
      expect(userInserts(target)).toEqual(['/users/import', '/users/', '/users/import', '/users/import']);
    } finally {
      await target.close();
    }
  });
});
