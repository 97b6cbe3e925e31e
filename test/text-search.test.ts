import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/embedded/db.js';
import { CUSTOMER_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

/**
 * `$text` on the embedded store (issue #19 item 8): the index follows every write, no FTS5 syntax
 * from a request reaches SQLite, and what the store does not offer is a clear 400.
 * Both modes' answers to the same searches: test/conformance/cases-text.ts.
 */
const search = (value: unknown, path = '/users/count') => `${path}?_q=${encodeURIComponent(JSON.stringify(value))}`;
const text = (words: string, options: Record<string, unknown> = {}) => search({ $text: { $search: words, ...options } });

describe('$text on the embedded store', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ store: 'embedded', env: { TEXT_SEARCH_FIELDS: 'name,tags' } });
    await seedGroups(service, [CUSTOMER_GROUP]);
  });
  afterAll(() => service.close());

  it('keeps the index in step with creations, updates and deletions', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'zoe.search',
      email: 'zoe@search.example',
      name: 'Zoë Quimby',
      tags: ['gardener'],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = created.body._id as string;
    for (const words of ['zoe', 'QUIMBY', 'gardener', 'search', 'zoe.search'])
      expect((await service.call('GET', text(words))).body, words).toBe(1);
    expect((await service.call('PATCH', `/users/${id}`, { $set: { name: 'Zoë Frink' } })).status).toBe(200);
    expect([(await service.call('GET', text('quimby'))).body, (await service.call('GET', text('frink'))).body]).toEqual([0, 1]);
    expect((await service.call('DELETE', `/users/${id}`)).status).toBe(204);
    expect((await service.call('GET', text('frink'))).body).toBe(0);
  });

  it('reads hostile search text as words, never as FTS5 syntax', async () => {
    for (const words of [
      '"',
      '""""',
      '*',
      'NEAR(a b, 2)',
      '-',
      '(',
      ')',
      'a:b',
      'name:x',
      '^x',
      '"unterminated',
      'x OR',
      'AND',
      '{a b}',
      "'; DROP TABLE users; --",
    ]) {
      const res = await service.call('GET', text(words));
      expect([res.status, res.body], words).toEqual([200, 0]);
    }
  });

  it('answers $text in a $or the same on a page, a count and the export, by SQL or with a clause mingo evaluates', async () => {
    const users = [
      { username: 'or.alpha', name: 'Marigold Finch' },
      { username: 'or.beta', name: 'Basil Wren' },
      { username: 'other.gamma', name: 'Marigold Crane' },
    ];
    const ids: string[] = [];
    for (const user of users) {
      const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'customer',
        email: `${user.username}@or.example`,
        ...user,
      });
      ids.push(res.body._id as string);
    }
    const filters = [
      { $or: [{ username: 'or.beta' }, { $text: { $search: 'marigold' } }] },
      // A clause SQL cannot answer: the $or is evaluated by mingo, $text by the ids the index matched.
      { $or: [{ username: { $regex: '^or\\.b' } }, { $and: [{ $text: { $search: 'marigold' } }, { name: { $regex: 'Finch|Crane' } }] }] },
    ];
    for (const filter of filters) {
      const q = encodeURIComponent(JSON.stringify(filter));
      const page = await service.call('GET', `/users/?_q=${q}&_p=_id`);
      expect([page.status, page.body.map((user: { _id: string }) => user._id)], JSON.stringify(filter)).toEqual([200, ids]);
      expect((await service.call('GET', `/users/count?_q=${q}`)).body).toBe(3);
      const exported = await fetch(`${service.url}/users/export?_q=${q}`, {
        headers: { 'x-api-key': TEST_API_KEY, accept: 'application/x-ndjson' },
      });
      const lines = (await exported.text()).split('\n').filter(Boolean);
      expect([exported.status, lines.map((line) => (JSON.parse(line) as { _id: string })._id)]).toEqual([200, ids]);
    }
  });

  it('answers $text in acl_rows and _q on the by-id routes as on the list, the $or of round five too', async () => {
    const created: string[] = [];
    for (const [username, name] of [
      ['byid.rose', 'Primrose Lark'],
      ['byid.sage', 'Sage Heron'],
    ]) {
      const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'customer',
        username,
        email: `${username}@byid.example`,
        name,
      });
      created.push(res.body._id as string);
    }
    const [rose, sage] = created;
    for (const rows of [
      { $text: { $search: 'primrose' } },
      { $or: [{ $text: { $search: 'primrose' } }, { username: { $regex: '^nobody' } }] },
    ]) {
      const headers = { acl_rows: JSON.stringify(rows) };
      const listed = await service.call('GET', '/users/?_p=_id', undefined, headers);
      expect(listed.body.map((user: { _id: string }) => user._id)).toEqual([rose]);
      const seen = await service.call('GET', `/users/${rose}`, undefined, headers);
      const hidden = await service.call('GET', `/users/${sage}`, undefined, headers);
      const patched = await service.call('PATCH', `/users/${sage}`, { $set: { name: 'Sage Heron' } }, headers);
      expect([seen.status, seen.body.username, hidden.status, patched.status], JSON.stringify(rows)).toEqual([200, 'byid.rose', 404, 404]);
    }
    const q = encodeURIComponent(JSON.stringify({ $text: { $search: 'heron' } }));
    const byQuery = [await service.call('GET', `/users/${sage}?_q=${q}`), await service.call('GET', `/users/${rose}?_q=${q}`)];
    expect(byQuery.map((res) => res.status)).toEqual([200, 404]);
  });

  it('refuses what it does not offer with a 400 naming it', async () => {
    const cases: [string, string][] = [
      [
        text(
          Array.from({ length: 10_000 }, (_, n) => `w${n}`)
            .join(' ')
            .slice(0, 999),
        ),
        'at most 32 terms',
      ],
      [text('x'.repeat(1001)), 'at most 1000 characters'],
      [text('x', { $language: 'french' }), 'english only'],
      [text('x', { $caseSensitive: true }), 'case-insensitively'],
      [text('x', { $diacriticSensitive: true }), 'ignores diacritics'],
      [search({ $or: [{ $text: { $search: 'x' } }, { name: 'y' }] }), 'all clauses in the $or array must be indexed'],
      [search({ $or: [{ $text: { $search: 'x' } }, { username: 'y' }], $text: { $search: 'y' } }), 'one $text at most'],
      [search({ $or: [{ username: 'y' }, { $or: [{ $text: { $search: 'x' } }] }, { $text: { $search: 'z' } }] }), 'one $text at most'],
      [search({ $and: [{ $text: { $search: 'x' } }, { $text: { $search: 'y' } }] }), 'one $text at most'],
      [search({ tags: { $elemMatch: { $text: { $search: 'x' } } } }), 'top level'],
      // The CRUD's parser judges operators by the field's type before it looks for $text.
      [search({ name: { $elemMatch: { $text: { $search: 'x' } } } }), 'Unsupported operator: $elemMatch for string field'],
    ];
    for (const [path, message] of cases) {
      const res = await service.call('GET', path);
      expect([res.status, res.body.message], path.slice(0, 80)).toEqual([400, expect.stringContaining(message)]);
    }
  });
});

describe('migrations of an existing database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ums-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('index the users already stored and rewrite their dates in canonical form', () => {
    const path = join(dir, 'old.sqlite');
    const db = openDatabase(path);
    // Back to version 9: the database as it was before the full-text index and the date rewrite
    // (and the later denied tokens', token pairs' and refresh chains' tables).
    db.exec(`DROP TRIGGER users_text_inserted; DROP TRIGGER users_text_updated; DROP TRIGGER users_text_deleted;
      DROP VIEW users_text_source; DROP TABLE users_text; DROP TABLE users_text_fields; DROP TABLE denied_tokens;
      DROP TABLE refresh_pairs; DROP TABLE refresh_chain_links;
      PRAGMA user_version = 9;`);
    const group = { userGroup: 'g', crudSchema: { type: 'object', properties: { birth: { type: 'string', format: 'date-time' } } } };
    db.prepare('INSERT INTO ums_config (user_group, id, doc) VALUES (?, ?, ?)').run('g', 'c1', JSON.stringify(group));
    const old = {
      userGroup: 'g',
      username: 'old.timer',
      expirationDate: '2030-01-01T10:00:00+05:00',
      createdAt: '2020-05-05',
      birth: 1517702400000,
      note: '2020-05-05',
    };
    db.prepare('INSERT INTO users (id, state, doc) VALUES (?, ?, ?)').run('u1', 'PUBLIC', JSON.stringify(old));
    db.close();

    const reopened = openDatabase(path);
    const doc = JSON.parse((reopened.prepare('SELECT doc FROM users').get() as { doc: string }).doc) as Record<string, unknown>;
    expect(doc).toMatchObject({
      expirationDate: '2030-01-01T05:00:00.000Z',
      createdAt: '2020-05-05T00:00:00.000Z',
      birth: '2018-02-04T00:00:00.000Z',
      note: '2020-05-05', // not a date field: kept as written
    });
    expect(reopened.prepare(`SELECT count(*) AS n FROM users_text WHERE users_text MATCH '"timer"'`).get()).toEqual({ n: 1 });
    reopened.close();
  });
});
