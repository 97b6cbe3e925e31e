import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { describe, expect, it } from 'vitest';
import { fieldIndexOf } from '../src/crud/field-types.js';
import { openDatabase } from '../src/embedded/db.js';
import { createSqliteUserStore } from '../src/embedded/user-store.js';
import { type ImportSummary, JsonAnswerSink, SummarySink } from '../src/resolvers/import-answer.js';
import { plainStandardFields } from '../src/resolvers/import-fields.js';
import { ImportedUserRow } from '../src/resolvers/inputs.js';

/** The same outcomes to both sinks: REST's bytes must be GraphQL's summary through JSON.stringify. */
function bothSinks(feed: (sink: JsonAnswerSink | SummarySink) => void): { bytes: string; summary: ImportSummary } {
  const json = new JsonAnswerSink();
  const summary = new SummarySink();
  feed(json);
  feed(summary);
  const answer = json.answer();
  const bytes = Buffer.concat(answer.chunks).toString('utf8');
  expect(answer.length).toBe(Buffer.byteLength(bytes));
  return { bytes, summary: summary.summary };
}

describe("PATCH /users/import's answer as bytes", () => {
  it('is JSON.stringify of the summary when nothing was imported', () => {
    const { bytes, summary } = bothSinks(() => undefined);
    expect(bytes).toBe('{"updated":[],"inserted":[],"invalid":[]}');
    expect(bytes).toBe(JSON.stringify(summary));
  });

  it('is byte for byte JSON.stringify of the summary, whatever the ids and messages hold', () => {
    const awkward = ['a"b', 'back\\slash', 'line\nbreak', 'émoji 🎉', 'lone \ud800 surrogate', '\u2028', '<script>'];
    const { bytes, summary } = bothSinks((sink) => {
      for (const id of awkward) sink.updated(id);
      // Past the first buffer (16 KiB): the lists grow as the import goes.
      for (let index = 0; index < 5000; index += 1) sink.inserted(`64b7f0c2e1d3a4b5c6d7${String(index).padStart(4, '0')}`);
      sink.invalid([
        { row: 3, error: 'Skipping record: invalid json schema, email must match format "email"' },
        { row: 9, error: `Skipping record: userGroup "${awkward.join('')}" does not exist` },
      ]);
      sink.invalid([{ row: 12, error: 'Skipping record: ü' }]);
    });
    expect(summary.inserted).toHaveLength(5000);
    expect(bytes).toBe(JSON.stringify(summary));
    expect(JSON.parse(bytes)).toEqual(summary);
  });
});

describe('the plain check of an imported row', () => {
  const valid = { userGroup: 'customer', username: 'ann', email: 'ann@example.com', name: 'Ann', tags: ['a'] };
  const variants: Record<string, unknown>[] = [
    valid,
    { userGroup: 'customer' },
    { ...valid, blocked: true, roles: ['admin', 'viewer'] },
    { ...valid, userGroup: '' },
    { ...valid, userGroup: 42 },
    { ...valid, username: '' },
    { ...valid, username: 7 },
    { ...valid, email: 'not an e-mail' },
    { ...valid, email: 'ann@example' },
    { ...valid, email: 'a..b@example.com' },
    { ...valid, email: ['ann@example.com'] },
    { ...valid, blocked: 'true' },
    { ...valid, roles: 'admin' },
    { ...valid, roles: ['admin', 1] },
    { ...valid, expirationDate: '2999-01-01T00:00:00Z' },
    { ...valid, expirationDate: '2000-01-01T00:00:00Z' },
    { ...valid, authUserId: 'x' },
    { ...valid, password: 'x' },
    { ...valid, createdAt: '2020-01-01' },
    { ...valid, creatorId: 'me' },
    { ...valid, __STATE__: 'PUBLIC' },
  ];

  it('accepts nothing ImportedUserRow refuses', () => {
    for (const doc of variants) {
      if (plainStandardFields(doc)) expect(ImportedUserRow.safeParse(doc).success, JSON.stringify(doc)).toBe(true);
    }
  });

  it('accepts the plain rows, so that they skip zod', () => {
    expect(variants.filter(plainStandardFields)).toEqual(variants.slice(0, 3));
  });
});

describe('insertMany of the embedded store', () => {
  it("stores what insert stores, field for field and in the same order (an import's users read back as created ones)", async () => {
    const db = openDatabase(':memory:');
    const clock = { now: () => Date.parse('2030-05-01T10:00:00.000Z') };
    const index = fieldIndexOf([{ properties: { birthday: { type: 'string', format: 'date-time' } } }]);
    const store = createSqliteUserStore(db, clock as never, { fields: () => index });
    const scope = { actorId: 'admin', headers: {} } as never;
    const doc = { userGroup: 'customer', name: 'Ann', birthday: '2001-02-03T04:05:06+02:00', tags: ['a', 'b'], updatedAt: 'old' };
    const one = await store.insert({ ...doc, username: 'one' }, scope);
    const { ids } = await store.insertMany([{ ...doc, username: 'many' }], scope);
    const stored = db.prepare<[string], { doc: string }>('SELECT doc FROM users WHERE id = ?');
    // The document's fields in their order (updatedAt overwritten where it stands), then the store's own.
    const expected = (username: string) =>
      JSON.stringify({
        userGroup: 'customer',
        name: 'Ann',
        birthday: '2001-02-03T02:05:06.000Z',
        tags: ['a', 'b'],
        updatedAt: '2030-05-01T10:00:00.000Z',
        username,
        creatorId: 'admin',
        updaterId: 'admin',
        createdAt: '2030-05-01T10:00:00.000Z',
      });
    expect(stored.get(ids[0]!)!.doc).toBe(expected('many'));
    expect(stored.get(one._id)!.doc).toBe(expected('one'));
  });
});

describe('the message of a row with more cells than columns', () => {
  it("is csv-parse's own, line number included, across empty lines, quoted line breaks and chunks", async () => {
    const lines = ['userGroup;username;email', 'customer;a;a@example.com', '', '"cus\ntomer";b;b@example.com;extra'];
    for (let index = 0; index < 3000; index += 1)
      lines.push(index % 7 ? `customer;u${index};u${index}@example.com` : `customer;"u\n${index}";x;y;z`);
    const text = `${lines.join('\n')}\n`;
    const expected: string[] = [];
    const parser = Readable.from([Buffer.from(text)]).pipe(
      parse({ delimiter: ';', bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, columns: true, info: true }),
    );
    for await (const { info } of parser) if (info.error) expected.push(`${info.records}: ${info.error.message}`);
    const { checkFile } = await import('../src/resolvers/import-users.js');
    const upload = { open: () => Readable.from([Buffer.from(text.slice(0, 20_000)), Buffer.from(text.slice(20_000))]), fields: {} };
    const tooLong = await checkFile(
      upload,
      { delimiter: ';', bom: true, trim: true, skip_empty_lines: true, relax_column_count: true },
      Infinity,
    );
    expect([...tooLong].map(([row, message]) => `${row}: ${message}`)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(400);
  });
});
