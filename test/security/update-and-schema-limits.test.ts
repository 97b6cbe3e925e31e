import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * Attacks found after the first round of issue #16 (docs/security.md): one PATCH that padded an
 * array to a hundred million entries and took the process down, and group schemas that crashed it
 * ($async) or held the event loop (a backtracking `pattern`). Every backend.
 */
const QUICK = { timeout: 5_000 };
let service: TestService;
let userId: string;

beforeAll(async () => {
  service = await startService({ env: { BODY_LIMIT_BYTES: '4096' } });
  await seedGroups(service);
  const created = await service.call('POST', '/users/', { userGroup: 'guest', name: 'target', tags: ['a'] });
  userId = created.body._id;
});
afterAll(() => service.close());

/** Saves a group; answers the refusal's message, or '' when it was saved. */
async function saveGroup(crudSchema: object): Promise<string> {
  const res = await service.graphql(
    'mutation($g: UserGroupInput!) { saveUserGroup(input: $g) { __typename ... on InvalidInputError { message } } }',
    {
      g: { userGroup: `g${Math.random().toString(36).slice(2, 8)}`, label: 'G', crudSchema },
    },
  );
  return res.data?.saveUserGroup?.message ?? res.errors?.[0]?.message ?? '';
}

describe('updates that would grow a user without bound', () => {
  it('refuses an array index past the limit, in every spelling of the update', QUICK, async () => {
    for (const body of [{ $set: { 'tags.99999999': 'z' } }, { 'tags.10000': 'z' }, { $inc: { 'counts.123456789': 1 } }]) {
      const res = await service.call('PATCH', `/users/${userId}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.message).toContain('array index must be at most 9999');
    }
    expect((await service.call('PATCH', `/users/${userId}`, { $set: { 'tags.3': 'd' } })).status).toBe(200);
    expect((await service.call('GET', `/users/${userId}`)).body.tags).toEqual(['a', null, null, 'd']);
  });

  it('refuses an update that makes the user larger than BODY_LIMIT_BYTES (413), and stores nothing of it', async () => {
    expect((await service.call('PATCH', `/users/${userId}`, { $set: { first: 'x'.repeat(2500) } })).status).toBe(200);
    const res = await service.call('PATCH', `/users/${userId}`, { $set: { second: 'y'.repeat(2500) } });
    expect(res.status).toBe(413);
    expect((await service.call('GET', `/users/${userId}`)).body).not.toHaveProperty('second');
  });
});

describe('imports that would make a user larger than a request may', () => {
  async function importCsv(csv: string) {
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
    const response = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    return { status: response.status, body: await response.json() };
  }

  it('skips a row whose user would be larger than BODY_LIMIT_BYTES, and writes the rows around it', async () => {
    // POST /users/ refuses such a user (413) and PATCH /users/:id too; one CSV row made one of 3 MB.
    const csv = ['userGroup,name', 'guest,before', `guest,${'x'.repeat(5000)}`, 'guest,after'].join('\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    expect(res.body.inserted).toHaveLength(2);
    expect(res.body.invalid).toEqual([{ row: 2, error: 'Skipping record: the user would be larger than 4096 bytes (BODY_LIMIT_BYTES)' }]);
    const names = await Promise.all(res.body.inserted.map(async (id: string) => (await service.call('GET', `/users/${id}`)).body.name));
    expect(names).toEqual(['before', 'after']);
  });
});

describe('group schemas that would crash or stall the service', () => {
  it('refuses an asynchronous schema', async () => {
    expect(await saveGroup({ $async: true, type: 'object', properties: { name: { type: 'string' } } })).toContain('$async');
  });

  it('runs pattern and patternProperties in linear time', QUICK, async () => {
    const group = `redos${Math.random().toString(36).slice(2, 8)}`;
    await service.graphql('mutation($g: UserGroupInput!) { saveUserGroup(input: $g) { __typename } }', {
      g: {
        userGroup: group,
        label: 'R',
        authUserCreationDisabled: true,
        crudSchema: { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } },
      },
    });
    const evil = await service.call('POST', '/users/', { userGroup: group, name: `${'a'.repeat(48)}b` });
    expect(evil.status).toBe(400);
    expect((await service.call('POST', '/users/', { userGroup: group, name: 'a'.repeat(48) })).status).toBe(200);
  });

  it('refuses a pattern RE2 cannot run', async () => {
    expect(await saveGroup({ type: 'object', properties: { name: { type: 'string', pattern: '(a)\\1' } } })).toContain('backreferences');
  });
});
