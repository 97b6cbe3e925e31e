import { beforeAll, describe, expect, it } from 'vitest';
import type { UserStore } from '../../src/ports/user-store.js';
import { openDatabase } from '../../src/embedded/db.js';
import { fieldIndexOf } from '../../src/crud/field-types.js';
import { createSqliteConfigStore, groupFieldIndex } from '../../src/embedded/config-store.js';
import { systemClock } from '../../src/domain/clock.js';
import { createSqliteUserStore } from '../../src/embedded/user-store.js';

/**
 * The embedded store writes a page's JSON from its stored text (listText, embedded/page-text.ts):
 * after reading the group schemas, or with their key in the page's own statement
 * (embedded/keyed-reads.ts) when the store reads its field index from the group schemas. Either must
 * be, byte for byte, what the documents give when parsed and written back (`list`), for every kind
 * of document and query a page can have.
 */
const scope = { actorId: 'test', headers: {} };
const SCHEMA = { type: 'object', properties: { birth: { type: 'string', format: 'date-time' } } };

describe.each([
  [
    'in JavaScript',
    () => {
      const index = fieldIndexOf([SCHEMA]);
      const db = openDatabase(':memory:');
      return { db, store: createSqliteUserStore(db, systemClock, { fields: () => index, textFields: ['name'] }) };
    },
  ],
  [
    'with the schemas key read with the rows',
    async () => {
      const db = openDatabase(':memory:');
      await createSqliteConfigStore(db).saveGroup(
        { userGroup: 'a', label: 'a', authUserCreationDisabled: false, crudSchema: SCHEMA },
        scope,
      );
      return { db, store: createSqliteUserStore(db, systemClock, { fields: groupFieldIndex(db), textFields: ['name'] }) };
    },
  ],
])('a page written %s', (_way, makeStore) => {
  let store: UserStore;

  beforeAll(async () => {
    const made = await makeStore();
    store = made.store;
    const odd: Record<string, unknown>[] = [
      // Array-index keys: JavaScript puts them before `_id`.
      { userGroup: 'a', 0: 'zero', 12: 'twelve', name: 'numeric keys' },
      { userGroup: 'a', '1a': 'not an index', name: 'digit key' },
      { userGroup: 'b', name: 'nested', deep: { 3: 'x', b: [1, { 2: 'y' }], empty: {} }, list: [] },
      { userGroup: 'b', name: 'unicode é ☃ 𝄞 \u2028 \u0007 "quoted" \\ back', tags: ['x'] },
      { userGroup: 'c', name: 'numbers', n: 1e21, f: 0.1, neg: -0, big: 12345678901234567890, nul: null, t: true },
      { _id: 'we"ird\\id\u0001', userGroup: 'c', name: 'odd id' },
      // What json_quote could write otherwise: U+0000, U+007F, U+2028, a lone surrogate (stored as U+FFFD), an astral character.
      { _id: 'nul\u0000 del\u007f ls\u2028 lone\ud800 astral\u{1F600} tab\t', userGroup: 'c', name: 'nul \u0000 lone \udfff' },
      { userGroup: 'a', name: 'dated', birth: '2001-02-03T04:05:06+02:00', __STATE__: 'DRAFT' },
      { userGroup: 'a', name: 'trashed words here', __STATE__: 'TRASH' },
    ];
    for (const doc of odd) await store.insert(doc, scope);
    // A stored document with no member at all (the store's writes always add some): only `_id` and `__STATE__`.
    made.db.prepare("INSERT INTO users (id, state, doc) VALUES ('empty', 'PUBLIC', '{}')").run();
    for (let index = 0; index < 30; index += 1) {
      await store.insert({ userGroup: ['a', 'b', 'c'][index % 3], name: `user ${index}`, age: index % 7, username: `u${index}` }, scope);
    }
  });

  const q = (filter: unknown) => `_q=${encodeURIComponent(JSON.stringify(filter))}`;
  const QUERIES: [string, Record<string, string>?][] = [
    [''],
    ['_l=200'],
    ['_l=5&_sk=3'],
    // All but the first document, whose first key is an array index: a page of stored text only.
    ['_l=200&_sk=1'],
    ['_st=PUBLIC,DRAFT,TRASH&_l=200'],
    ['_s=-name&_l=50'],
    ['_s=age,-username&_l=50'],
    ['_s=deep.b&_l=50'],
    [`${q({ userGroup: 'a' })}&_l=50`],
    [`${q({ userGroup: 'b' })}&_s=-name`],
    [`${q({ name: { $regex: '^user 1' } })}&_s=-age`],
    [`${q({ birth: { $gt: '2001-01-01T00:00:00Z' } })}&_st=DRAFT`],
    // Conditions SQL does not answer (mingo's, after the rows are read): never a page of the keyed read.
    [`${q({ age: { $gte: 3 } })}&_l=50`],
    [`${q({ tags: { $size: 1 } })}&_st=PUBLIC,DRAFT,TRASH`],
    [`${q({ $text: { $search: 'words' } })}&_st=TRASH`],
    ['_p=name,age&_l=50'],
    ['userGroup=b&_l=50'],
    ['_l=50', { acl_rows: JSON.stringify({ userGroup: 'c' }) }],
    ['_l=50', { acl_read_columns: 'name,userGroup' }],
  ];

  describe('listText', () => {
    it.each(QUERIES)('answers %s with the bytes of the parsed documents written back', async (query, headers = {}) => {
      const callScope = { ...scope, headers };
      const objects = await store.list(query, callScope);
      expect(objects.length).toBeGreaterThan(0);
      expect((await store.listText!(query, callScope)).text).toBe(JSON.stringify(objects));
    });

    it.each(['_l=200&_sk=1000', `${q({ name: 'nobody' })}&_l=200`])('answers %s, an empty page, as [] like list', async (query) => {
      expect(await store.list(query, scope)).toEqual([]);
      expect((await store.listText!(query, scope)).text).toBe('[]');
    });

    it('refuses what list refuses, with the same error', async () => {
      for (const query of ['_l=0', '_x=1', q({ a: { $where: '1' } }), '_s=__proto__']) {
        const error = await store.list(query, scope).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(Error);
        await expect(store.listText!(query, scope)).rejects.toThrow((error as Error).message);
      }
    });
  });
});

// With no group schema saved the schemas' key is NULL, and an empty page has no key: the page is
// asked the general way, and answers [] (not `null`).
it('answers an empty page as [] when no group schema is saved', async () => {
  const db = openDatabase(':memory:');
  const store = createSqliteUserStore(db, systemClock, { fields: groupFieldIndex(db), textFields: ['name'] });
  await store.insert({ userGroup: 'a', name: 'only' }, scope);
  for (const query of ['_l=200&_sk=10', '_l=5']) {
    expect((await store.listText!(query, scope)).text).toBe(JSON.stringify(await store.list(query, scope)));
  }
  expect((await store.listText!('_l=200&_sk=10', scope)).text).toBe('[]');
});
