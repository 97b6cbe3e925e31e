import { find, Query } from 'mingo';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UserDoc, UserStore } from '../../src/ports/user-store.js';
import type { Filter } from '../../src/crud/filter.js';
import { ALL_STATES } from '../../src/crud/states.js';
import { fieldIndexOf } from '../../src/crud/field-types.js';
import { openDatabase } from '../../src/embedded/db.js';
import { splitFilter } from '../../src/embedded/sql-filter.js';
import { systemClock } from '../../src/domain/clock.js';
import { createSqliteUserStore } from '../../src/embedded/user-store.js';

const scope = { actorId: 'test', headers: {} };
let store: UserStore;
let docs: UserDoc[];

beforeAll(async () => {
  store = createSqliteUserStore(openDatabase(':memory:'), systemClock);
  const groups = ['a', 'b', 'c'];
  for (let index = 0; index < 60; index += 1) {
    const doc: Record<string, unknown> = {
      userGroup: groups[index % 3],
      name: `n${index % 7}`,
      age: index % 10,
      tags: index % 4 ? ['x', `t${index % 3}`] : [],
    };
    if (index % 5) doc.username = `user${index}`;
    if (index % 6) doc.email = `e${index}@x.io`;
    if (index % 9 === 0) doc.age = String(index % 10);
    await store.insert(doc, scope);
  }
  docs = await store.find({}, { states: ALL_STATES });
});

/** Filters on indexed columns, on JSON fields, and mixes of both. */
const FILTERS: Filter[] = [
  { userGroup: 'a' },
  { userGroup: { $in: ['a', 'c'] } },
  { userGroup: { $nin: ['a'] } },
  { userGroup: { $ne: 'b' }, age: { $gt: 4 } },
  { username: { $exists: false } },
  { email: { $exists: true }, userGroup: 'b' },
  { username: { $gte: 'user3', $lt: 'user5' } },
  { $or: [{ userGroup: 'a' }, { username: 'user7' }] },
  { $or: [{ userGroup: 'a' }, { age: 3 }] },
  { $and: [{ userGroup: 'b' }, { tags: 't1' }] },
  { tags: { $size: 0 } },
  { tags: { $all: ['x', 't2'] } },
  { name: { $regex: '^n[12]$' } },
  { age: '0' },
  { age: 0 },
  { userGroup: 1 },
  { email: null },
  { username: { $in: ['user1', null] } },
  { createdAt: { $gt: '2000-01-01' } },
];

describe('SQL translation of CRUD filters', () => {
  it.each(FILTERS.map((filter) => [JSON.stringify(filter), filter] as const))(
    '%s gives the same users as MongoDB semantics',
    async (_name, filter) => {
      const expected = docs.filter((doc) => new Query(filter).test(doc)).map((doc) => doc._id);
      const actual = (await store.find(filter, { states: ALL_STATES })).map((doc) => doc._id);
      expect(actual).toEqual(expected);
    },
  );

  it('answers common filters entirely in SQL', () => {
    expect(splitFilter({ userGroup: 'a', username: { $in: ['x'] } }).residual).toBeUndefined();
    expect(splitFilter({ $or: [{ userGroup: 'a' }, { email: 'b' }] }).residual).toBeUndefined();
    expect(splitFilter({ userGroup: 'a', age: 3 }).residual).toEqual({ age: 3 });
  });

  it('lets a unique column lead the search when it is matched by value (not the state index)', () => {
    expect(splitFilter({ _id: { $in: ['a', 'b'] } }).selective).toBe(true);
    expect(splitFilter({ userGroup: 'a', email: 'x@example.com' }).selective).toBe(true);
    expect(splitFilter({ userGroup: 'a' }).selective).toBe(false);
    expect(splitFilter({ _id: { $nin: ['a'] } }).selective).toBe(false);
    expect(splitFilter({ username: { $gt: 'a' } }).selective).toBe(false);
  });
});

/**
 * Issue #19: the same equivalence where the group schemas type the fields. The reference is mingo
 * over the documents as MongoDB holds them (dates as Date objects, from the text they were written
 * in, offsets included); the store keeps canonical text and casts the query.
 */
describe('typed fields: dates with offsets, arrays in sorts and projections, coercions', () => {
  const schema = {
    type: 'object',
    properties: {
      birth: { type: 'string', format: 'date-time' },
      scores: { type: 'array', items: { type: 'number' } },
      items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, size: { type: 'number' } } } },
      meta: { type: 'object', properties: { level: { type: 'number' }, note: { type: 'string' } } },
    },
  };
  const OFFSETS = ['Z', '+05:00', '-03:30', '+01:00'];
  let typed: UserStore;
  /** The documents as MongoDB would hold them: `birth` a Date. */
  let reference: Record<string, unknown>[];

  beforeAll(async () => {
    typed = createSqliteUserStore(openDatabase(':memory:'), systemClock, { fields: () => fieldIndexOf([schema]) });
    reference = [];
    for (let index = 0; index < 40; index += 1) {
      const hour = String(index % 24).padStart(2, '0');
      const birth = `2020-0${1 + (index % 3)}-1${index % 10}T${hour}:30:00${OFFSETS[index % 4]}`;
      const doc: Record<string, unknown> = { userGroup: 'g', birth, meta: index % 5 ? { level: index % 4 } : { note: 'n' } };
      if (index % 7) doc.scores = [index % 5, (index * 3) % 11];
      if (index % 3) doc.items = [{ name: `i${index % 6}`, size: index }, { name: `j${index % 4}` }, 'loose'];
      const stored = await typed.insert(doc, scope);
      reference.push({ ...doc, _id: stored._id, birth: new Date(birth) });
    }
  });

  const asDates = (filter: Record<string, unknown>): Record<string, unknown> =>
    JSON.parse(JSON.stringify(filter), (_key, value) => (isRecord(value) && '$date' in value ? new Date(value.$date as string) : value));
  const withDate = (value: unknown) =>
    typeof value === 'object' && value && '$date' in value ? (value as { $date: string }).$date : value;
  const DATE_FILTERS: Record<string, unknown>[] = [
    { birth: { $gte: { $date: '2020-02-11T10:00:00+05:00' } } },
    { birth: { $lt: { $date: '2020-01-15T16:00:00+02:00' } } },
    { birth: { $in: [{ $date: '2020-01-10T05:30:00+05:00' }, { $date: '2020-02-10T20:30:00.000Z' }] } },
    { $or: [{ birth: { $lte: { $date: '2020-01-12' } } }, { 'meta.level': 2 }] },
  ];

  it.each(DATE_FILTERS.map((filter) => [JSON.stringify(filter), filter] as const))('%s compares instants', async (_name, filter) => {
    const expected = reference.filter((doc) => new Query(asDates(filter)).test(doc)).map((doc) => doc._id);
    const asText = JSON.parse(JSON.stringify(filter), (_key, value) => withDate(value));
    const actual = (await typed.list({ _q: JSON.stringify(asText), _l: '200', _st: 'PUBLIC' }, scope)).map((doc) => doc._id);
    expect(actual).toEqual(expected);
  });

  /** MongoDB's rule for an array in a sort, written out: smallest element ascending, largest descending. */
  function mongoSort(field: string, direction: 1 | -1): unknown[] {
    const key = (doc: Record<string, unknown>) => {
      const values = field
        .split('.')
        .reduce<unknown[]>(
          (at, segment) =>
            at
              .flatMap((value) => (Array.isArray(value) ? value : [value]))
              .flatMap((value) => (isRecord(value) && segment in value ? [value[segment]] : [])),
          [doc],
        )
        .flatMap((value) => (Array.isArray(value) ? value : [value]));
      if (values.length === 0) return undefined;
      return values.reduce((a, b) => ((direction === 1 ? b! < a! : b! > a!) ? b : a));
    };
    const order = (a: unknown, b: unknown) => (a === b ? 0 : a === undefined ? -1 : b === undefined ? 1 : a! < b! ? -1 : 1);
    return [...reference]
      .map((doc, seq) => ({ doc, seq, key: key(doc) }))
      .sort((a, b) => order(a.key, b.key) * direction || a.seq - b.seq)
      .map(({ doc }) => doc._id);
  }

  it.each([
    ['scores', 1],
    ['scores', -1],
    ['items.name', 1],
    ['items.name', -1],
    ['birth', 1],
    ['birth', -1],
  ] as const)('sorts by %s (%s) as MongoDB', async (field, direction) => {
    const listed = await typed.list({ _s: `${direction === 1 ? '' : '-'}${field}`, _l: '200' }, scope);
    expect(listed.map((doc) => doc._id)).toEqual(mongoSort(field, direction));
  });

  it.each(['items.name', 'meta.level', 'items.size,meta.note', 'scores'])('projects %s as MongoDB', async (fields) => {
    const projection = Object.fromEntries(['_id', ...fields.split(',')].map((field) => [field, 1]));
    const expected = find(reference, {}, projection).all();
    const listed = await typed.list({ _p: fields, _l: '200' }, scope);
    expect(listed).toEqual(expected.map((doc) => ({ _id: doc._id, ...doc })));
  });

  it.each([
    ['meta.level', '2', { 'meta.level': 2 }],
    ['scores', '3', { scores: 3 }],
    ['items.size', '7', { 'items.size': 7 }],
    ['birth', '2020-01-10T05:30:00+05:00', { birth: new Date('2020-01-10T00:30:00Z') }],
  ] as const)('coerces %s=%s by its type', async (field, text, filter) => {
    const expected = reference.filter((doc) => new Query(filter).test(doc)).map((doc) => doc._id);
    const actual = (await typed.list({ [field]: text, _l: '200' }, scope)).map((doc) => doc._id);
    expect(actual).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  });

  it('refuses a value its type cannot take', async () => {
    await expect(typed.list({ 'meta.level': 'high' }, scope)).rejects.toThrow('querystring/meta.level must be number');
    await expect(typed.list({ _q: '{"birth":{"$gt":"soon"}}' }, scope)).rejects.toThrow('querystring/_q/birth/$gt must be a date');
  });
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `$text` is answered by the FTS5 index only (mingo has no `$text`): each search is compared with a
 * reference written from MongoDB's rules over the same documents (words ORed, phrases required,
 * `-` excluding, case-insensitive), with whole words the stemmer leaves alone, and ANDed with a
 * filter mingo evaluates, so the SQL and residual parts are checked together.
 */
describe('$text against a word-matching reference', () => {
  const wordsOf = (doc: UserDoc) =>
    ` ${[doc.username, doc.email]
      .filter((v) => typeof v === 'string')
      .join(' ')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .join(' ')} `;
  function reference(search: string): (doc: UserDoc) => boolean {
    const phrases = [...search.matchAll(/(-?)"([^"]*)"/g)];
    const bare = search
      .replace(/-?"[^"]*"/g, ' ')
      .split(/\s+/)
      .filter(Boolean);
    const has = (doc: UserDoc, text: string) => wordsOf(doc).includes(` ${text.toLowerCase()} `);
    return (doc) => {
      if (bare.some((word) => word.startsWith('-') && has(doc, word.slice(1))) || phrases.some(([, minus, p]) => minus && has(doc, p!)))
        return false;
      const wanted = phrases.filter(([, minus]) => !minus).map(([, , p]) => p!);
      return wanted.length > 0 ? wanted.every((p) => has(doc, p)) : bare.some((word) => !word.startsWith('-') && has(doc, word));
    };
  }
  it.each(['user8', 'USER8 e16', 'x io', '"x io"', '"e16 x"', 'user8 -user8', 'io -"e16 x"', '-e12', 'e12 user16'])(
    '%s',
    async (search) => {
      const filter = { $text: { $search: search }, tags: { $size: 0 } };
      const got = (await store.find(filter, { states: ALL_STATES })).map((doc) => doc._id);
      const expected = find(docs, { tags: { $size: 0 } })
        .all()
        .filter((doc) => reference(search)(doc as UserDoc))
        .map((doc) => (doc as UserDoc)._id);
      expect(got).toEqual(expected);
      if (!search.startsWith('-') && !search.includes('user8 -')) expect(expected.length, 'a search that finds users').toBeGreaterThan(0);
    },
  );

  // `$text` in a `$or` (docs/decisions.md, "CRUD fidelity, round five"): SQL answers the first
  // whole; the others go to mingo, whose `$text` is tested against the ids the index matched.
  const text = (search: string) => ({ $text: { $search: search } });
  const ors: [Filter, (doc: UserDoc) => boolean][] = [
    [{ $or: [{ username: 'user3' }, text('e16 e12')] }, (doc) => doc.username === 'user3' || reference('e16 e12')(doc)],
    [
      { $or: [{ username: { $regex: '^user1' } }, { $and: [text('io'), { tags: { $size: 0 } }] }] },
      (doc) => /^user1/.test(String(doc.username ?? '')) || (reference('io')(doc) && (doc.tags as unknown[]).length === 0),
    ],
    [
      { $or: [{ email: { $exists: false } }, { $or: [text('user8 user16'), { userGroup: 'c' }] }], age: { $lt: 5 } },
      (doc) =>
        (doc.email === undefined || reference('user8 user16')(doc) || doc.userGroup === 'c') && typeof doc.age === 'number' && doc.age < 5,
    ],
  ];
  it.each(ors.map(([filter, test]) => [JSON.stringify(filter), filter, test] as const))('%s', async (_name, filter, test) => {
    const got = (await store.find(filter, { states: ALL_STATES })).map((doc) => doc._id);
    const expected = docs.filter(test).map((doc) => doc._id);
    expect(expected.length, 'a filter that finds users').toBeGreaterThan(0);
    expect(got).toEqual(expected);
  });
});
