import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countProfiles, GUEST_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * What one import may cost. Its answer names every row (an id, or the row's number and reason), so
 * it grew with the rows of the file, not its bytes: a 4 MB file of `x` rows (a group that does not
 * exist) answered 154 MB, and one of `,` rows (a cell more than the header) 226 MB after 4 minutes
 * of csv-parse errors, the process past 2 GB; a 64 MB file took it down. A reason was up to 2,048
 * characters (a group with many required fields), so a 2-byte row could cost 2 KB of answer.
 */
const MAX_ROWS = 5;
let service: TestService;

/** A group whose users need 60 fields: a row without them is skipped with 60 issues. */
const DEMANDING_GROUP = {
  userGroup: 'demanding',
  label: 'Demanding',
  authUserCreationDisabled: true,
  crudSchema: {
    type: 'object',
    properties: Object.fromEntries(Array.from({ length: 60 }, (_, index) => [`field${index}`, { type: 'string' }])),
    required: Array.from({ length: 60 }, (_, index) => `field${index}`),
  },
};

beforeAll(async () => {
  // One import at a time: every case here also shows that an import gives its place back.
  service = await startService({ env: { USER_IMPORT_MAX_ROWS: String(MAX_ROWS), USER_IMPORT_MAX_CONCURRENT: '1' } });
  await seedGroups(service, [GUEST_GROUP, DEMANDING_GROUP]);
});
afterAll(() => service.close());

async function restImport(csv: string | Uint8Array<ArrayBuffer>, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
  const response = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
  return { status: response.status, body: await response.json() };
}

async function graphqlImport(csv: string | Uint8Array<ArrayBuffer>, encoding = 'utf8') {
  const form = new FormData();
  const query = `mutation($file: Upload!) {
    importUsers(file: $file, encoding: "${encoding}") { __typename ... on Error { message } ... on MutationImportUsersSuccess { data { inserted } } }
  }`;
  form.append('operations', JSON.stringify({ query, variables: { file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([csv], { type: 'text/csv' }), 'users.csv');
  const response = await fetch(`${service.url}/graphql`, { method: 'POST', body: form, headers: { 'x-api-key': TEST_API_KEY } });
  return (await response.json()) as { data?: { importUsers: Record<string, unknown> }; errors?: unknown[] };
}

const guests = (prefix: string, count: number) =>
  `userGroup,username\n${Array.from({ length: count }, (_, index) => `guest,${prefix}${index}`).join('\n')}\n`;

describe('the rows of one import (USER_IMPORT_MAX_ROWS)', () => {
  it('refuses a file of more data rows with a 400 before anything is written, REST and GraphQL', async () => {
    const before = await countProfiles(service);
    const rest = await restImport(guests('over', MAX_ROWS + 1));
    expect(rest.status).toBe(400);
    expect(rest.body.message).toBe(`the CSV file has more than ${MAX_ROWS} rows (USER_IMPORT_MAX_ROWS): split it`);
    const graphql = await graphqlImport(guests('gover', MAX_ROWS + 1));
    expect(graphql.errors, JSON.stringify(graphql.errors)).toBeUndefined();
    expect(graphql.data?.importUsers).toEqual({ __typename: 'InvalidInputError', message: expect.stringMatching(/USER_IMPORT_MAX_ROWS/) });
    // Rows that are all skipped count as well: each is a line of the answer.
    const skipped = await restImport(`userGroup\n${'nosuchgroup\n'.repeat(MAX_ROWS + 1)}`);
    expect(skipped.status).toBe(400);
    expect(await countProfiles(service)).toBe(before);
  });

  it('takes as many rows as the limit, empty lines not counted', async () => {
    const res = await restImport(guests('at', MAX_ROWS).replaceAll('\n', '\n\n'));
    expect(res.status).toBe(200);
    expect(res.body.inserted).toHaveLength(MAX_ROWS);
  });
});

/**
 * The file is read 4 KiB at a time (csv-parse parses each read in one turn of the event loop): a
 * record cut by a read reads as the same record, whatever is cut. The other import tests send
 * files under 4 KiB.
 */
describe('a record cut by a read of the file', () => {
  /** UTF-16LE with a BOM: 𝄞 (a surrogate pair) across byte 4,096, CRLF across 8,192, `""` across 12,288. */
  function utf16File(prefix: string) {
    const units = (text: string) => text.length; // UTF-16 code units, 2 bytes each
    let text = `\ufeffuserGroup,username,name\r\nguest,${prefix}a,"`;
    text += 'x'.repeat(2047 - units(text)) + '𝄞 a ""quote"" and\r\na line"\r\n';
    text += `guest,${prefix}b,`;
    text += 'y'.repeat(4095 - units(text)) + '\r\n';
    text += `guest,${prefix}c,"`;
    text += 'z'.repeat(6143 - units(text)) + '""end"\r\n';
    const names = [
      'x'.repeat(2047 - units(`\ufeffuserGroup,username,name\r\nguest,${prefix}a,"`)) + '𝄞 a "quote" and\r\na line',
      'y'.repeat(4095 - units(text.slice(0, text.indexOf(`guest,${prefix}b,`) + `guest,${prefix}b,`.length))),
      'z'.repeat(6143 - text.indexOf(`guest,${prefix}c,"`) - `guest,${prefix}c,"`.length) + '"end',
    ];
    return { file: new Uint8Array(Buffer.from(text, 'utf16le')), names };
  }
  const storedNames = async (prefix: string) =>
    Promise.all(
      ['a', 'b', 'c'].map(async (row) => {
        const q = encodeURIComponent(JSON.stringify({ username: `${prefix}${row}` }));
        return ((await service.call('GET', `/users/?_q=${q}`)).body as { name: string }[]).map((user) => user.name);
      }),
    );

  it('reads as in one piece, REST and GraphQL', async () => {
    const rest = utf16File('cut-r');
    expect(rest.file.length).toBeGreaterThan(12_288);
    const restAnswer = await restImport(rest.file, { encoding: 'utf16le' });
    expect([restAnswer.status, restAnswer.body.inserted?.length, restAnswer.body.invalid]).toEqual([200, 3, []]);
    expect(await storedNames('cut-r')).toEqual(rest.names.map((name) => [name]));
    const graphql = utf16File('cut-g');
    expect((await graphqlImport(graphql.file, 'utf16le')).data?.importUsers).toEqual({
      __typename: 'MutationImportUsersSuccess',
      data: { inserted: expect.any(Array) },
    });
    expect(await storedNames('cut-g')).toEqual(graphql.names.map((name) => [name]));
  });
});

describe('the reason of a skipped row', () => {
  it('is cut at 512 characters, its first issues kept', async () => {
    const res = await restImport('userGroup,username\ndemanding,short\n');
    expect(res.status).toBe(200);
    const [{ row, error }] = res.body.invalid as [{ row: number; error: string }];
    expect(row).toBe(1);
    expect(error).toMatch(/^Skipping record: invalid json schema, body\/field0 must have required property 'field0'/);
    expect(error.length).toBeLessThanOrEqual(512);
    expect(error.endsWith('…')).toBe(true);
  });
});

describe('the columns of one import', () => {
  const header = (count: number) => ['userGroup', 'username', ...Array.from({ length: count - 2 }, (_, index) => `c${index}`)].join(',');

  it('refuses a header of more than 2,000 columns with a 400, nothing written', async () => {
    const before = await countProfiles(service);
    const res = await restImport(`${header(2001)}\nguest,wide1\n`);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('the CSV header has more than 2000 columns');
    expect(await countProfiles(service)).toBe(before);
  });

  it('takes 2,000', async () => {
    // Empty cells: the CRUD collection declares none of these fields.
    const res = await restImport(`${header(2000)}\nguest,wide2${','.repeat(1998)}\n`);
    expect(res.status).toBe(200);
    expect(res.body.invalid).toEqual([]);
    expect(res.body.inserted).toHaveLength(1);
  });
});

/** An import whose file is still arriving: the head and a first row, the rest never sent. */
function heldUpload(): Promise<Socket> {
  const { hostname, port } = new URL(service.url);
  const boundary = 'held';
  const head = [
    'PATCH /users/import HTTP/1.1',
    `Host: ${hostname}:${port}`,
    `Content-Type: multipart/form-data; boundary=${boundary}`,
    'Content-Length: 1000000',
    `x-api-key: ${TEST_API_KEY}`,
  ].join('\r\n');
  const part = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="users.csv"\r\n\r\nuserGroup,username\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${head}\r\n\r\n${part}`, () => resolve(socket)));
    socket.on('error', reject);
  });
}

describe('imports at once (USER_IMPORT_MAX_CONCURRENT)', () => {
  it('answers 429 with Retry-After while the others run, before the file is read, and takes one again once a place is free', async () => {
    const before = await countProfiles(service);
    const held = await heldUpload();
    try {
      const send = (csv: string) => {
        const body = new FormData();
        body.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
        return fetch(`${service.url}/users/import`, { method: 'PATCH', body, headers: { 'x-api-key': TEST_API_KEY } });
      };
      // The held upload takes its place once its head is read.
      await expect.poll(() => service.deps.importPlaces.inUse, { timeout: 3000 }).toBe(1);
      const res = await send('userGroup,username\nguest,concurrent1\n');
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await res.json()).message).toBe('Another import is running: at most 1 at a time (USER_IMPORT_MAX_CONCURRENT)');
      const graphql = await graphqlImport('userGroup,username\nguest,concurrent2\n');
      expect(graphql.data?.importUsers).toEqual({
        __typename: 'TooManyRequestsError',
        message: expect.stringMatching(/USER_IMPORT_MAX_CONCURRENT/),
      });
      expect(await countProfiles(service)).toBe(before);
    } finally {
      held.destroy();
    }
    // A client that leaves mid-file gives its place back.
    await expect.poll(async () => (await restImport('userGroup,username\nguest,afterheld\n')).status, { timeout: 3000 }).toBe(200);
  });
});
