import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countIdentities,
  countProfiles,
  CUSTOMER_GROUP,
  GUEST_GROUP,
  seedGroups,
  startService,
  TEST_API_KEY,
  type TestService,
} from './helpers/service.js';

let service: TestService;

beforeAll(async () => {
  // Batches of 2: every case also crosses batch boundaries.
  service = await startService({ env: { USER_IMPORT_BATCH_SIZE: '2', USER_IMPORT_MAX_FILE_BYTES: '4096' } });
  await seedGroups(service, [CUSTOMER_GROUP, GUEST_GROUP]);
});
afterAll(() => service.close());

let counter = 0;
/** A prefix unique to each test, so rows of different tests never collide on username or email. */
const unique = () => `i${(counter += 1)}x`;

async function importCsv(csv: string | Buffer<ArrayBuffer>, fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
  const response = await fetch(`${service.url}/users/import`, {
    method: 'PATCH',
    body: form,
    headers: { 'x-api-key': TEST_API_KEY, ...headers },
  });
  return { status: response.status, body: await response.json() };
}

/** A user created through POST /users/, so it has an identity; answers the stored profile. */
async function createCustomer(username: string, name: string) {
  const created = await service.call('POST', '/users/', { userGroup: 'customer', username, email: `${username}@example.com`, name });
  expect(created.status).toBe(200);
  return getUser(created.body._id);
}

const getUser = async (id: string) => (await service.call('GET', `/users/${id}`)).body;

describe('PATCH /users/import', () => {
  it('inserts the rows without _id as profile-only users, typed by the group schema', async () => {
    const p = unique();
    const identities = countIdentities(service);
    const csv = [
      'userGroup;username;email;name;age;tags;blocked',
      `customer;${p}a;${p}a@example.com;Ann;31;[red, blue];false`,
      `customer;${p}b;${p}b@example.com;Bob;;[];true`,
      `guest;;;Guest ${p};;;`,
    ].join('\n');
    const res = await importCsv(csv, { delimiter: ';' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ updated: [], inserted: [expect.any(String), expect.any(String), expect.any(String)], invalid: [] });
    const [ann, bob, guest] = await Promise.all(res.body.inserted.map(getUser));
    expect(ann).toMatchObject({ userGroup: 'customer', username: `${p}a`, name: 'Ann', age: 31, tags: ['red', 'blue'], blocked: false });
    expect(ann.__STATE__).toBe('PUBLIC');
    expect(ann).not.toHaveProperty('authUserId');
    expect(bob).toMatchObject({ tags: [], blocked: true });
    expect(bob).not.toHaveProperty('age');
    expect(guest).toMatchObject({ userGroup: 'guest', name: `Guest ${p}` });
    expect(guest).not.toHaveProperty('username');
    // Identities come with the bulk activation, not with the import.
    expect(countIdentities(service)).toBe(identities);
  });

  it('answers compact JSON with its Content-Length, the same summary GraphQL gives', async () => {
    const p = unique();
    const csv = [
      'userGroup;username;email;name',
      `customer;${p}a;${p}a@example.com;Ann`,
      'customer;"quote""d";bad;"Bob ""B"""',
      ';x;y;z',
    ].join('\n');
    const form = new FormData();
    form.append('delimiter', ';');
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
    const response = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    const body = JSON.parse(text);
    expect(text).toBe(JSON.stringify(body));
    expect(body).toEqual({
      updated: [],
      inserted: [expect.any(String)],
      invalid: [
        { row: 2, error: 'Skipping record: invalid json schema, email Invalid email address' },
        { row: 3, error: 'Skipping record: userGroup missing on csv record' },
      ],
    });
  });

  it('applies two rows of one user in one batch one after the other, in the order of the file', async () => {
    const p = unique();
    const before = await createCustomer(`${p}u`, 'Old');
    const csv = `_id,userGroup,name,email\n${before._id},customer,First,${p}one@example.com\n${before._id},customer,Second,${p}two@example.com\n`;
    const res = await importCsv(csv);
    // Concurrently, the second row met the first one's lock on the user (USER_BUSY) and was skipped.
    expect(res.body).toEqual({ updated: [before._id, before._id], inserted: [], invalid: [] });
    expect(await getUser(before._id)).toMatchObject({ name: 'Second', email: `${p}two@example.com` });
    const [identity] = await service.deps.identity.getUsers([before.authUserId]);
    expect(identity?.email).toBe(`${p}two@example.com`);
  });

  it('updates the rows with _id as PATCH /users/:id does, the identity included', async () => {
    const p = unique();
    const before = await createCustomer(`${p}u`, 'Old');
    const res = await importCsv(`_id,userGroup,name,email\n${before._id},customer,New,${p}new@example.com\n`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ updated: [before._id], inserted: [], invalid: [] });
    const after = await getUser(before._id);
    expect(after).toMatchObject({ name: 'New', email: `${p}new@example.com`, username: `${p}u`, authUserId: before.authUserId });
    const [identity] = await service.deps.identity.getUsers([before.authUserId]);
    expect(identity?.email).toBe(`${p}new@example.com`);
  });

  it('skips invalid rows with their row number and reason, and writes the others', async () => {
    const p = unique();
    await createCustomer(`${p}taken`, 'T');
    const csv = [
      '_id,userGroup,username,email,name,age',
      `,customer,${p}1,${p}1@example.com,One,1`,
      `,,${p}2,${p}2@example.com,Two,2`,
      `,nosuchgroup,${p}3,${p}3@example.com,Three,3`,
      `,customer,${p}4,${p}4@example.com,,4`,
      `,customer,${p}5,${p}5@example.com,Five,-1`,
      `,customer,${p}taken,${p}6@example.com,Six,6`,
      `,customer,${p}7,${p}7@example.com,Seven`,
      `,customer,${p}8,not-an-email,Eight,8`,
      `0123456789abcdef01234567,customer,${p}9,${p}9@example.com,Nine,9`,
      `,customer,${p}10,${p}10@example.com,Ten,10,extra`,
      `,customer,${p}1,${p}11@example.com,Eleven,11`,
    ].join('\r\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    expect(res.body.inserted).toHaveLength(2);
    expect(res.body.updated).toEqual([]);
    expect(res.body.invalid.map((entry: { row: number }) => entry.row)).toEqual([2, 3, 4, 5, 6, 8, 9, 10, 11]);
    const reasons = Object.fromEntries(res.body.invalid.map((entry: { row: number; error: string }) => [entry.row, entry.error]));
    expect(reasons[2]).toBe('Skipping record: userGroup missing on csv record');
    expect(reasons[3]).toBe('Skipping record: userGroup "nosuchgroup" does not exist');
    expect(reasons[4]).toMatch(/^Skipping record: invalid json schema, .*name/);
    expect(reasons[5]).toMatch(/^Skipping record: invalid json schema, .*age/);
    expect(reasons[6]).toMatch(/^Skipping record: /);
    expect(reasons[8]).toMatch(/^Skipping record: invalid json schema, .*email/);
    expect(reasons[9]).toMatch(/^Skipping record: .*not found/);
    expect(reasons[10]).toMatch(/^Skipping record: .*column/i);
    expect(reasons[11]).toMatch(/^Skipping record: /);
    const written = await Promise.all(res.body.inserted.map(getUser));
    expect(written.map((user) => user.name)).toEqual(['One', 'Seven']);
    expect((await service.call('GET', `/users/?username=${p}1`)).body).toHaveLength(1);
  });

  it('skips a row whose username or email is longer than a login takes (320), inserting and updating nothing of it', async () => {
    const p = unique();
    const before = await createCustomer(`${p}u`, 'Old');
    const profiles = await countProfiles(service);
    const identities = countIdentities(service);
    const csv = [
      '_id,userGroup,username,email,name',
      `,customer,${'n'.repeat(321)},${p}1@example.com,One`,
      `,customer,${p}2,${'e'.repeat(309)}@example.com,Two`,
      `${before._id},customer,,${'e'.repeat(309)}@example.com,New`,
    ].join('\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      inserted: [],
      updated: [],
      invalid: [
        { row: 1, error: 'Skipping record: invalid json schema, username at most 320 characters' },
        { row: 2, error: 'Skipping record: invalid json schema, email at most 320 characters' },
        { row: 3, error: 'Skipping record: body/email: at most 320 characters' },
      ],
    });
    expect(await countProfiles(service)).toBe(profiles);
    expect(countIdentities(service)).toBe(identities);
    expect(await getUser(before._id)).toEqual(before);
  });

  it('skips a duplicate in the middle of a batch and keeps the rows around it', async () => {
    const p = unique();
    await createCustomer(`${p}t`, 'T');
    const csv = `userGroup,username,name\ncustomer,${p}1,A\ncustomer,${p}t,B\ncustomer,${p}2,C\n`;
    const res = await importCsv(csv);
    expect(res.body.invalid).toEqual([{ row: 2, error: expect.stringMatching(/^Skipping record: /) }]);
    expect((await Promise.all(res.body.inserted.map(getUser))).map((user) => user.username)).toEqual([`${p}1`, `${p}2`]);
    expect((await service.call('GET', `/users/count?username=${p}t`)).body).toBe(1);
  });

  it('schedules the expiration of imported users with an expirationDate', async () => {
    const p = unique();
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const csv = `userGroup,username,name,expirationDate\ncustomer,${p}f,F,${future}\ncustomer,${p}p,P,2001-01-01T00:00:00.000Z\n`;
    const res = await importCsv(csv);
    // A date gone by is imported as the usage page imports every such row: kept, never scheduled,
    // and blocked, as its schedule would have blocked it on that date.
    expect(res.body.invalid).toEqual([]);
    const user = await getUser(res.body.inserted[0]);
    expect(user).toMatchObject({ expirationDate: future, expirationId: expect.any(String) });
    expect(user.blocked).not.toBe(true);
    const past = await getUser(res.body.inserted[1]);
    expect(past).toMatchObject({ expirationDate: '2001-01-01T00:00:00.000Z', blocked: true });
    expect(past.expirationId).toBeUndefined();
  });

  it('reads the delimiter, escape and encoding fields', async () => {
    const p = unique();
    const latin1 = Buffer.from(`userGroup|username|name\ncustomer|${p}l|"Zoë ""Z"""\n`, 'latin1');
    const res = await importCsv(latin1, { delimiter: '|', encoding: 'latin1' });
    expect(res.status).toBe(200);
    expect((await getUser(res.body.inserted[0])).name).toBe('Zoë "Z"');
    const escaped = await importCsv(`userGroup,username,name\ncustomer,${p}e,"say \\"hi\\""\n`, { escape: '\\' });
    expect((await getUser(escaped.body.inserted[0])).name).toBe('say "hi"');
    const quoted = await importCsv(`userGroup;username;name\ncustomer;${p}q;Q\n`, { delimiter: '";"' });
    expect(quoted.body.inserted).toHaveLength(1);
  });

  it('refuses a file that is not CSV, and writes nothing', async () => {
    const p = unique();
    const before = await countProfiles(service);
    const res = await importCsv(`userGroup,username,name\ncustomer,${p}a,A\ncustomer,${p}b,"unclosed\n`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/CSV/) });
    expect(await countProfiles(service)).toBe(before);
  });

  it('answers 400 for bad options, a missing file or a body that is not multipart', async () => {
    expect((await importCsv('userGroup\n', { encoding: 'klingon' })).status).toBe(400);
    expect((await importCsv('userGroup\n', { escape: 'ab' })).status).toBe(400);
    const noFile = new FormData();
    noFile.append('delimiter', ';');
    const missing = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: noFile, headers: { 'x-api-key': TEST_API_KEY } });
    expect(missing.status).toBe(400);
    expect((await missing.json()).message).toMatch(/file/);
    const json = await service.call('PATCH', '/users/import', { file: 'userGroup' });
    expect(json.status).toBe(400);
  });

  it('answers 413 for a file over USER_IMPORT_MAX_FILE_BYTES, and writes nothing', async () => {
    const before = await countProfiles(service);
    const rows = Array.from({ length: 200 }, (_, index) => `customer,big${index},Name ${index}`);
    const res = await importCsv(`userGroup,username,name\n${rows.join('\n')}\n`);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, message: expect.stringMatching(/4096 bytes/) });
    expect(await countProfiles(service)).toBe(before);
  });

  it('is for administrators only', async () => {
    const res = await importCsv('userGroup,name\ncustomer,X\n', {}, { 'x-api-key': '' });
    expect(res.status).toBe(401);
  });
});

describe('GraphQL importUsers (a multipart request, the Upload scalar)', () => {
  /** The GraphQL multipart request spec: `operations`, `map`, then the file. */
  async function importByGraphQL(csv: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    const form = new FormData();
    const query = `mutation($file: Upload!, $delimiter: String) {
      importUsers(file: $file, delimiter: $delimiter) {
        __typename
        ... on MutationImportUsersSuccess { data { inserted updated invalid { row error } } }
        ... on Error { message }
      }
    }`;
    form.append('operations', JSON.stringify({ query, variables: { file: null, ...variables } }));
    form.append('map', JSON.stringify({ 0: ['variables.file'] }));
    form.append('0', new Blob([csv], { type: 'text/csv' }), 'users.csv');
    const sent = Object.entries({ 'x-api-key': TEST_API_KEY, ...headers }).filter(([, value]) => value !== '');
    const response = await fetch(`${service.url}/graphql`, { method: 'POST', body: form, headers: Object.fromEntries(sent) });
    return { status: response.status, body: await response.json() };
  }

  it('imports through the same operation as PATCH /users/import', async () => {
    const p = unique();
    const res = await importByGraphQL(`userGroup;username;name;age\ncustomer;${p}g;Gina;40\ncustomer;${p}h;Hal;x\n`, { delimiter: ';' });
    expect(res.status).toBe(200);
    const { inserted, updated, invalid } = res.body.data.importUsers.data;
    expect(updated).toEqual([]);
    expect(inserted).toHaveLength(1);
    expect(invalid).toEqual([{ row: 2, error: expect.stringMatching(/^Skipping record: invalid json schema, .*age/) }]);
    expect(await getUser(inserted[0])).toMatchObject({ username: `${p}g`, name: 'Gina', age: 40 });
  });

  it('refuses a file over USER_IMPORT_MAX_FILE_BYTES and strangers, writing nothing', async () => {
    const before = await countProfiles(service);
    const rows = Array.from({ length: 200 }, (_, index) => `customer,gbig${index},Name ${index}`);
    const big = await importByGraphQL(`userGroup,username,name\n${rows.join('\n')}\n`);
    expect(big.body.errors).toMatchObject([{ message: expect.stringMatching(/4096 byte/), extensions: { code: 'PAYLOAD_TOO_LARGE' } }]);
    const stranger = await importByGraphQL('userGroup,name\ncustomer,X\n', {}, { 'x-api-key': '' });
    expect(stranger.body.errors?.[0]?.message ?? stranger.body.message).toMatch(/Authentication required/);
    expect(await countProfiles(service)).toBe(before);
  });
});
