import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, GUEST_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

/** Identity-provider reads, as the number of ids each asked for. */
const identityCalls: number[] = [];
/** When set, the identity provider fails every read. */
let identityDown = false;

let service: TestService;
const scope = { actorId: 'test', headers: {} };

beforeAll(async () => {
  service = await startService({
    wrap: (deps) => ({
      identity: {
        ...deps.identity,
        getUsers: (ids, fields) => {
          identityCalls.push(ids.length);
          if (identityDown) return Promise.reject(new Error('the identity provider broke down'));
          return deps.identity.getUsers(ids, fields);
        },
      },
    }),
  });
  await seedGroups(service, [CUSTOMER_GROUP, GUEST_GROUP]);
});
afterAll(() => service.close());

async function insert(docs: Record<string, unknown>[]): Promise<void> {
  for (let start = 0; start < docs.length; start += 200) await service.deps.users.insertMany(docs.slice(start, start + 200), scope);
}

async function download(query: string, accept = 'text/csv') {
  const response = await fetch(`${service.url}/users/export?${query}`, { headers: { 'x-api-key': TEST_API_KEY, accept } });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('GET /users/export?identity=true', () => {
  it('adds the identity columns, read 100 users per identity-provider call', async () => {
    const created = await service.call('POST', '/users/', { userGroup: 'customer', username: 'idn', email: 'idn@example.com', name: 'I' });
    expect(created.status).toBe(200);
    // Profiles linked to identities the provider does not know: each page still asks for them, in one call.
    const linked = Array.from({ length: 249 }, (_, index) => ({ userGroup: 'guest', name: `L${index}`, authUserId: `auth0|gone${index}` }));
    await insert(linked);
    identityCalls.length = 0;

    const { status, text } = await download(`_q=${encodeURIComponent('{"authUserId":{"$exists":true}}')}&identity=true`);
    expect(status).toBe(200);
    expect(identityCalls).toEqual([100, 100, 50]);
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(250);
    const mine = rows.find((row) => row.username === 'idn')!;
    expect(mine).toMatchObject({ 'identity.username': 'idn', 'identity.email': 'idn@example.com', 'identity.blocked': 'false' });
    expect(mine['identity.createdAt']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(rows.find((row) => row.name === 'L0')).toMatchObject({ 'identity.username': '', 'identity.loginsCount': '' });

    // The identity columns are read-only: the same file re-imports without touching them or the identities.
    const form = new FormData();
    form.append('file', new Blob([text], { type: 'text/csv' }), 'users.csv');
    const reimport = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(await reimport.json()).toMatchObject({ inserted: [], invalid: [] });
    expect((await service.call('GET', `/users/${created.body._id}`)).body).not.toHaveProperty('identity');
  });

  it('gives NDJSON lines the identity, or null', async () => {
    identityCalls.length = 0;
    const { text } = await download('username=idn&identity=true', 'application/x-ndjson');
    const [line, ...rest] = text.split('\n');
    expect(rest).toEqual(['']);
    const user = JSON.parse(line!);
    expect(user).toMatchObject({ username: 'idn', identity: { id: user.authUserId, username: 'idn', email: 'idn@example.com' } });
    expect(identityCalls).toEqual([1]);
    const { text: gone } = await download('name=L7&_st=PUBLIC&identity=true', 'application/x-ndjson');
    expect(JSON.parse(gone).identity).toBeNull();
    const { text: without } = await download('username=idn', 'application/x-ndjson');
    expect(JSON.parse(without)).not.toHaveProperty('identity');
  });

  it('answers an ordinary 500 when the identities of the first page cannot be read: no file has begun', async () => {
    identityDown = true;
    try {
      const response = await download('username=idn&identity=true');
      expect(response.status).toBe(500);
      expect(response.headers.get('content-disposition')).toBeNull();
      expect(JSON.parse(response.text)).toMatchObject({ statusCode: 500, message: expect.stringMatching(/^Error while exporting users/) });
    } finally {
      identityDown = false;
    }
  });
});
