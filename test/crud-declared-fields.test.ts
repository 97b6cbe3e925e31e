import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CRUD_COLLECTIONS,
  CUSTOMER_GROUP,
  countIdentities,
  seedGroups,
  startService,
  TEST_API_KEY,
  type TestService,
} from './helpers/service.js';

/**
 * A field the CRUD collection does not declare, in a group whose schema is open: the CRUD's
 * `POST /` refuses it, but `POST /import` (the service's creations, which name their `_id`) drops
 * it and answers success. The service checks the names against `GET /users/schema` first.
 */
const OPEN_GROUP = {
  ...CUSTOMER_GROUP,
  userGroup: 'open',
  crudSchema: { type: 'object', properties: { name: { type: 'string' }, nickname: { type: 'string' }, profile: { type: 'object' } } },
};
/** The users collection with `profile`, an object field whose definition closes it (`additionalProperties: false`). */
const COLLECTIONS = CRUD_COLLECTIONS.map((spec) =>
  spec.path === '/users'
    ? { ...spec, fields: { ...spec.fields, profile: 'object', 'profile.city': 'string' } as const, closed: ['profile'] }
    : spec,
);

let service: TestService;
beforeAll(async () => {
  service = await startService({ store: 'crud', crudCollections: COLLECTIONS, env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service, [CUSTOMER_GROUP, OPEN_GROUP]);
});
afterAll(() => service.close());

const crud = () => service.crud!;
const stored = (username: string) =>
  crud()
    .docs('/users')
    .find((doc) => doc.username === username);
const schemaReads = () => crud().requests.filter((r) => r.method === 'GET' && r.path === '/users/schema').length;

async function crudCall(method: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${crud().url}${path}`, {
    method,
    body: body instanceof FormData ? body : JSON.stringify(body),
    headers: body instanceof FormData ? {} : { 'content-type': 'application/json' },
  });
  return { status: res.status, body: await res.json() };
}

describe('the CRUD emulator, on fields its collection does not declare', () => {
  const refused = (where: string) =>
    `${where} must NOT have additional properties. Property "nickname" is not defined in validation schema`;

  it('refuses them in POST / and POST /bulk, inserting nothing', async () => {
    const one = await crudCall('POST', '/users/', { username: 'emu-one', nickname: 'N' });
    expect(one).toEqual({ status: 400, body: { statusCode: 400, error: 'Bad Request', message: refused('body') } });
    const many = await crudCall('POST', '/users/bulk', [{ username: 'emu-bulk' }, { username: 'emu-bulk-2', nickname: 'N' }]);
    expect(many).toMatchObject({ status: 400, body: { message: refused('body/1') } });
    expect([stored('emu-one'), stored('emu-bulk-2')]).toEqual([undefined, undefined]);
  });

  it('drops them in POST /import, which answers success (ajv removeAdditional)', async () => {
    const form = new FormData();
    form.append('file', new Blob([JSON.stringify([{ username: 'emu-import', nickname: 'N' }])], { type: 'application/json' }), 'f.json');
    expect((await crudCall('POST', '/users/import', form)).status).toBe(201);
    expect(stored('emu-import')).toMatchObject({ username: 'emu-import' });
    expect(stored('emu-import')).not.toHaveProperty('nickname');
  });

  it('refuses (POST /) and drops (POST /import) a key a closed object field does not declare', async () => {
    const one = await crudCall('POST', '/users/', { username: 'emu-closed', profile: { city: 'C', zip: '1' } });
    expect(one).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^body\/profile must NOT have additional properties. Property "zip"/) },
    });
    const form = new FormData();
    const docs = [{ username: 'emu-closed', profile: { city: 'C', zip: '1' } }];
    form.append('file', new Blob([JSON.stringify(docs)], { type: 'application/json' }), 'f.json');
    expect((await crudCall('POST', '/users/import', form)).status).toBe(201);
    expect(stored('emu-closed')?.profile).toEqual({ city: 'C' });
  });

  it('answers GET /users/schema with the declared fields and its own', async () => {
    const res = await fetch(`${crud().url}/users/schema`);
    const schema = (await res.json()) as { type: string; properties: Record<string, unknown>; required: string[] };
    expect(res.status).toBe(200);
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['_id', '__STATE__', 'createdAt', 'updaterId', 'username', 'address']),
    );
    expect(schema.properties).not.toHaveProperty('nickname');
    expect(schema.properties.expirationDate).toEqual({ type: 'string', format: 'date-time' });
    expect(schema.required).toEqual(expect.arrayContaining(['_id', '__STATE__']));
    expect(schema.properties.profile).toEqual({ type: 'object', properties: { city: { type: 'string' } }, additionalProperties: false });
  });
});

describe('connected creations with a field the CRUD collection does not declare', () => {
  it('are refused with a 400 naming the field, and nothing is stored (no identity either)', async () => {
    const identities = countIdentities(service);
    const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'open',
      username: 'nick',
      name: 'N',
      nickname: 'Nick',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringContaining('"nickname"') });
    expect(stored('nick')).toBeUndefined();
    expect(countIdentities(service)).toBe(identities);
  });

  it('are refused for a key a closed object field does not declare, naming its path; declared keys go in', async () => {
    const create = (username: string, profile: object) =>
      service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'open', username, name: 'N', profile });
    const refused = await create('closed-a', { city: 'C', zip: '1' });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain('"profile.zip"');
    expect(stored('closed-a')).toBeUndefined();
    expect((await create('closed-b', { city: 'C' })).status).toBe(200);
    expect(stored('closed-b')?.profile).toEqual({ city: 'C' });
  });

  it('still go in with only declared fields, the schema read once for many creations', async () => {
    const before = schemaReads();
    for (const username of ['plain-a', 'plain-b']) {
      const res = await service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'open', username, name: 'P' });
      expect(res.status).toBe(200);
    }
    expect([stored('plain-a')?.name, stored('plain-b')?.name]).toEqual(['P', 'P']);
    expect(schemaReads() - before).toBeLessThanOrEqual(1);
  });

  it('are refused on every creation path: GraphQL createUser and createUserWithId, POST /users/with-id', async () => {
    const identities = countIdentities(service);
    const created = await service.graphql(
      'mutation ($input: CreateUserInput!) { createUser(input: $input) { __typename ... on Error { message } } }',
      { input: { userGroup: 'open', username: 'gql-nick', properties: { name: 'N', nickname: 'Nick' } } },
    );
    expect(created.data?.createUser).toEqual({ __typename: 'InvalidInputError', message: expect.stringContaining('"nickname"') });
    expect([stored('gql-nick'), countIdentities(service)]).toEqual([undefined, identities]);
    for (const username of ['with-id-rest', 'with-id-gql']) {
      const identity = await service.deps.identity.createUser({ username, email: `${username}@example.com`, password: 'pw-Long-enough1' });
      const input = { authUserId: identity.id, userGroup: 'open', properties: { name: 'N', nickname: 'Nick' } };
      const answer =
        username === 'with-id-rest'
          ? (await service.call('POST', '/users/with-id', { authUserId: identity.id, userGroup: 'open', name: 'N', nickname: 'Nick' })).body
          : (
              await service.graphql(
                'mutation ($input: CreateUserWithIdInput!) { createUserWithId(input: $input) { __typename ... on Error { message } } }',
                { input },
              )
            ).data?.createUserWithId;
      expect(answer, username).toMatchObject({ message: expect.stringContaining('"nickname"') });
      expect(
        crud()
          .docs('/users')
          .find((doc) => doc.authUserId === identity.id),
      ).toBeUndefined();
    }
  });

  it('in a CSV import: the row with it is reported invalid, the rows around it go in', async () => {
    const form = new FormData();
    const csv = 'userGroup,username,name,nickname\nopen,csv-a,A,\nopen,csv-b,B,Bee\nopen,csv-c,C,\n';
    form.append('file', new Blob([csv]), 'users.csv');
    const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    const answer = (await res.json()) as { inserted: string[]; invalid: { row: number; reason?: string }[] };
    expect(res.status).toBe(200);
    expect(answer.invalid).toEqual([expect.objectContaining({ row: 2 })]);
    expect(JSON.stringify(answer.invalid)).toContain('nickname');
    expect([stored('csv-a')?.name, stored('csv-b'), stored('csv-c')?.name]).toEqual(['A', undefined, 'C']);
  });
});
