import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, GUEST_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

/** A group with a field of every type the CSV conventions know. */
const PARTNER_GROUP = {
  userGroup: 'partner',
  label: 'Partner',
  authUserCreationDisabled: true,
  crudSchema: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      company: { type: 'string' },
      age: { type: 'integer' },
      badge: { type: 'number' },
      tags: { type: 'array', items: { type: 'string' } },
      address: { type: 'object' },
    },
    required: ['name'],
  },
};

let service: TestService;
const scope = { actorId: 'test', headers: {} };

beforeAll(async () => {
  service = await startService();
  await seedGroups(service, [CUSTOMER_GROUP, GUEST_GROUP, PARTNER_GROUP]);
});
afterAll(() => service.close());

let counter = 0;
/** A company name unique to each test: its users are exported with the filter `company=<it>`. */
const unique = () => `co${(counter += 1)}x`;

async function download(target: TestService, query: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${target.url}/users/export?${query}`, { headers: { 'x-api-key': TEST_API_KEY, ...headers } });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function importCsv(target: TestService, csv: string) {
  const form = new FormData();
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
  const response = await fetch(`${target.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
  return { status: response.status, body: await response.json() };
}

/** Users written straight into the store (any value, however a spreadsheet would read it); answers them as stored. */
async function seed(docs: Record<string, unknown>[]) {
  const { ids } = await service.deps.users.insertMany(docs, scope);
  return Promise.all(ids.map(async (id) => (await service.call('GET', `/users/${id}`)).body));
}

const tricky = (company: string) =>
  [
    { name: '=1+1', age: 42, tags: ['a', 'b c'], blocked: false, address: { city: 'Milano', zip: '20100', lines: ['x', 1] } },
    { name: "'=already quoted", age: -5, badge: 1.5, tags: [], roles: ['admin', 'viewer'] },
    { name: '+39 02 1234', badge: -0.25, email: `plus@${company}.example.com`, username: `plus-${company}` },
    { name: '-dash', blocked: true, tags: ['-x', '=y'] },
    { name: '@mention' },
    { name: '\tTabbed' },
    { name: '\rCarriage' },
    { name: '  spaced  ' },
    { name: 'quote " and, comma\nand a new line' },
    { name: "'plain quote" },
    { name: 'unicode ✓ Zoë 😀' },
  ].map((fields) => ({ userGroup: 'partner', company, ...fields }));

describe('GET /users/export as CSV', () => {
  it('re-imports unchanged: every row updates its user to what it already was', async () => {
    const company = unique();
    const before = await seed(tricky(company));
    const exported = await download(service, `company=${company}`);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(exported.headers.get('content-disposition')).toMatch(/^attachment; filename="users-\d{8}T\d{6}Z\.csv"$/);
    expect(exported.headers.get('cache-control')).toBe('no-store');

    const reimport = await importCsv(service, exported.text);
    expect(reimport.status).toBe(200);
    expect(reimport.body).toEqual({ updated: expect.any(Array), inserted: [], invalid: [] });
    expect(reimport.body.updated.toSorted()).toEqual(before.map((user) => user._id).toSorted());
    for (const user of before) {
      const after = (await service.call('GET', `/users/${user._id}`)).body;
      // The import's own write is the only trace it leaves.
      expect({ ...after, updatedAt: undefined, updaterId: undefined }).toEqual({ ...user, updatedAt: undefined, updaterId: undefined });
    }
  });

  it('imports into an empty store as the same users (without the _id column)', async () => {
    const company = unique();
    const before = await seed(tricky(company).map((user, index) => ({ ...user, username: `u${index}-${company}` })));
    const { text } = await download(service, `company=${company}`);
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    const columns = Object.keys(rows[0]!).filter((column) => column !== '_id');
    const quote = (cell: string) => `"${cell.replaceAll('"', '""')}"`;
    const withoutIds = [columns, ...rows.map((row) => columns.map((column) => row[column]!))].map((cells) => cells.map(quote).join(','));

    const fresh = await startService();
    try {
      await seedGroups(fresh, [CUSTOMER_GROUP, GUEST_GROUP, PARTNER_GROUP]);
      const imported = await importCsv(fresh, withoutIds.join('\n'));
      expect(imported.body).toMatchObject({ invalid: [], updated: [] });
      expect(imported.body.inserted).toHaveLength(before.length);
      const writable = ({ _id, __STATE__, createdAt, updatedAt, creatorId, updaterId, ...fields }: Record<string, unknown>) => fields;
      for (const user of before) {
        const [copy] = (await fresh.call('GET', `/users/?username=${user.username}`)).body;
        expect(writable(copy)).toEqual(writable(user));
      }
    } finally {
      await fresh.close();
    }
  });

  it('leaves empty the cells no text would read back as their value, and the re-import leaves those fields alone', async () => {
    const company = unique();
    // A string in brackets would come back as an array; a number where the schema wants a string, as a string.
    const [user] = await seed([{ userGroup: 'customer', company, name: '[not an array]', tags: ['with, comma'] }]);
    const { text } = await download(service, `company=${company}`);
    const [row] = parse(text, { columns: true }) as Record<string, string>[];
    expect(row).toMatchObject({ _id: user._id, userGroup: 'customer', name: '', tags: '', company });
    const reimport = await importCsv(service, text);
    expect(reimport.body).toEqual({ updated: [user._id], inserted: [], invalid: [] });
    expect((await service.call('GET', `/users/${user._id}`)).body).toMatchObject({ name: '[not an array]', tags: ['with, comma'] });
  });

  it('has the standard columns, then those the groups declare; no read-only field', async () => {
    const company = unique();
    await seed([{ userGroup: 'guest', company, name: 'G' }]);
    const { text } = await download(service, `company=${company}`);
    const header = text.slice(0, text.indexOf('\r\n')).split(',');
    expect(header.slice(0, 7)).toEqual(['_id', 'userGroup', 'username', 'email', 'blocked', 'roles', 'expirationDate']);
    expect(header).toEqual(expect.arrayContaining(['name', 'age', 'tags', 'company', 'badge', 'address']));
    expect(header).not.toEqual(expect.arrayContaining(['__STATE__']));
    for (const field of ['createdAt', 'updatedAt', 'creatorId', 'updaterId', 'authUserId', 'expirationId'])
      expect(header).not.toContain(field);
  });
});

describe('GET /users/export filters', () => {
  async function exportedIds(query: string, headers: Record<string, string> = {}) {
    const response = await download(service, query, { accept: 'application/x-ndjson', ...headers });
    expect(response.status).toBe(200);
    return response.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line)._id as string)
      .toSorted();
  }

  it('selects users as GET /users/ does: _q, _st, field=value and the acl_rows header', async () => {
    const company = unique();
    const docs = [20, 35, 50, 65].map((age) => ({ userGroup: 'partner', company, name: `A${age}`, age }));
    const users = await seed([...docs, { userGroup: 'partner', company, name: 'Draft', age: 50, __STATE__: 'DRAFT' }]);
    const ids = (...indexes: number[]) => indexes.map((index) => users[index]._id).toSorted();
    expect(await exportedIds(`company=${company}`)).toEqual(ids(0, 1, 2, 3));
    expect(await exportedIds(`company=${company}&_q=${encodeURIComponent('{"age":{"$gt":30}}')}`)).toEqual(ids(1, 2, 3));
    expect(await exportedIds(`company=${company}&_st=DRAFT`)).toEqual(ids(4));
    expect(await exportedIds(`company=${company}&_st=PUBLIC,DRAFT&age=50`)).toEqual(ids(2, 4));
    expect(await exportedIds(`company=${company}`, { acl_rows: JSON.stringify([{ age: { $lt: 40 } }]) })).toEqual(ids(0, 1));
    expect(await exportedIds(`company=nobody-${company}`)).toEqual([]);
    // An empty _q is no filter, as the CRUD reads it.
    expect(await exportedIds(`company=${company}&_q=&_st=PUBLIC,DRAFT`)).toEqual(ids(0, 1, 2, 3, 4));
  });

  it.each([
    ['_q=not-json', /querystring\/_q/],
    [`_q=${encodeURIComponent('{"$where":"sleep(1)"}')}`, /\$where/],
    ['_st=SOMETIMES', /querystring\/_st/],
    ['_l=10', /additional properties/],
    ['_s=name', /additional properties/],
    ['identity=yes', /querystring\/identity must be boolean/],
    ['__proto__=1', /additional properties/],
    ['constructor=1', /constructor/],
    ['name[0]=x', /name\[0\]/],
  ])('answers 400 to %s, before sending a byte of the file', async (query, message) => {
    const response = await download(service, query);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-disposition')).toBeNull();
    expect(JSON.parse(response.text)).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) });
  });

  it('answers 400 to a malformed acl_rows header', async () => {
    const response = await download(service, '', { acl_rows: '{oops' });
    expect(response.status).toBe(400);
  });

  it('answers 406 to an Accept it cannot satisfy, 401 to a stranger', async () => {
    expect((await download(service, '', { accept: 'application/json' })).status).toBe(406);
    expect((await download(service, '', { accept: 'text/csv;q=0, */*;q=0' })).status).toBe(406);
    const stranger = await fetch(`${service.url}/users/export`);
    expect(stranger.status).toBe(401);
  });

  it('takes the format the client prefers, CSV when it likes both', async () => {
    const type = async (accept: string) => (await download(service, 'company=none', { accept })).headers.get('content-type');
    expect(await type('application/x-ndjson;q=0.9, text/csv;q=0.5')).toBe('application/x-ndjson; charset=utf-8');
    expect(await type('application/ndjson')).toBe('application/x-ndjson; charset=utf-8');
    expect(await type('text/html,application/xhtml+xml,*/*;q=0.8')).toBe('text/csv; charset=utf-8');
    expect(await type('text/*')).toBe('text/csv; charset=utf-8');
  });
});
