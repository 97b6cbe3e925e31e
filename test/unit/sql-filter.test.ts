import { Query } from 'mingo';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UserDoc, UserStore } from '../../src/ports/user-store.js';
import type { Filter } from '../../src/crud/filter.js';
import { ALL_STATES } from '../../src/crud/states.js';
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
