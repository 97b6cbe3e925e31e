import { beforeAll, describe, expect, it } from 'vitest';
import type { UserStore } from '../../src/ports/user-store.js';
import { openDatabase } from '../../src/embedded/db.js';
import { fieldIndexOf } from '../../src/crud/field-types.js';
import { systemClock } from '../../src/domain/clock.js';
import { createSqliteUserStore } from '../../src/embedded/user-store.js';

/**
 * The embedded store writes a page's JSON from its stored text (listText, embedded/page-text.ts):
 * it must be, byte for byte, what the documents give when parsed and written back (`list`), for
 * every kind of document and query a page can have.
 */
let store: UserStore;
const scope = { actorId: 'test', headers: {} };

beforeAll(async () => {
  const index = fieldIndexOf([{ type: 'object', properties: { birth: { type: 'string', format: 'date-time' } } }]);
  store = createSqliteUserStore(openDatabase(':memory:'), systemClock, { fields: () => index, textFields: ['name'] });
  const odd: Record<string, unknown>[] = [
    // Array-index keys: JavaScript puts them before `_id`.
    { userGroup: 'a', 0: 'zero', 12: 'twelve', name: 'numeric keys' },
    { userGroup: 'a', '1a': 'not an index', name: 'digit key' },
    { userGroup: 'b', name: 'nested', deep: { 3: 'x', b: [1, { 2: 'y' }], empty: {} }, list: [] },
    { userGroup: 'b', name: 'unicode é ☃ 𝄞 \u2028 \u0007 "quoted" \\ back', tags: ['x'] },
    { userGroup: 'c', name: 'numbers', n: 1e21, f: 0.1, neg: -0, big: 12345678901234567890, nul: null, t: true },
    { _id: 'we"ird\\id\u0001', userGroup: 'c', name: 'odd id' },
    { userGroup: 'a', name: 'dated', birth: '2001-02-03T04:05:06+02:00', __STATE__: 'DRAFT' },
    { userGroup: 'a', name: 'trashed words here', __STATE__: 'TRASH' },
  ];
  for (const doc of odd) await store.insert(doc, scope);
  for (let index = 0; index < 30; index += 1) {
    await store.insert({ userGroup: ['a', 'b', 'c'][index % 3], name: `user ${index}`, age: index % 7, username: `u${index}` }, scope);
  }
});

const q = (filter: unknown) => `_q=${encodeURIComponent(JSON.stringify(filter))}`;
const QUERIES: [string, Record<string, string>?][] = [
  [''],
  ['_l=200'],
  ['_l=5&_sk=3'],
  ['_st=PUBLIC,DRAFT,TRASH&_l=200'],
  ['_s=-name&_l=50'],
  ['_s=age,-username&_l=50'],
  ['_s=deep.b&_l=50'],
  [`${q({ userGroup: 'a' })}&_l=50`],
  [`${q({ name: { $regex: '^user 1' } })}&_s=-age`],
  [`${q({ birth: { $gt: '2001-01-01T00:00:00Z' } })}&_st=DRAFT`],
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

  it('refuses what list refuses, with the same error', async () => {
    for (const query of ['_l=0', '_x=1', q({ a: { $where: '1' } }), '_s=__proto__']) {
      const error = await store.list(query, scope).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      await expect(store.listText!(query, scope)).rejects.toThrow((error as Error).message);
    }
  });
});
