import { beforeAll, describe, expect, it } from 'vitest';
import type { ScanPage, UserStore } from '../../src/ports/user-store.js';
import type { CrudQuery } from '../../src/crud/query.js';
import { openDatabase } from '../../src/embedded/db.js';
import { createSqliteUserStore } from '../../src/embedded/user-store.js';
import { systemClock } from '../../src/domain/clock.js';

const scope = { actorId: 'test', headers: {} };
let store: UserStore;
const USERS = 2_600;

beforeAll(async () => {
  store = createSqliteUserStore(openDatabase(':memory:'), systemClock);
  const docs = Array.from({ length: USERS }, (_, index) => ({
    userGroup: index % 2 ? 'odd' : 'even',
    name: `n${index}`,
    rank: index,
    __STATE__: index % 3 === 0 ? 'DRAFT' : 'PUBLIC',
  }));
  await store.insertMany(docs, scope);
});

/** Every page of a scan, as an export reads them. */
async function scanAll(query: CrudQuery, limit = 100): Promise<{ pages: ScanPage[]; ranks: number[] }> {
  const pages: ScanPage[] = [];
  let after: string | undefined;
  do {
    const page = await store.scan(query, { after, limit }, scope);
    pages.push(page);
    after = page.next;
  } while (after !== undefined);
  return { pages, ranks: pages.flatMap((page) => page.users.map((user) => user.rank as number)) };
}

const expected = (keep: (rank: number) => boolean) => Array.from({ length: USERS }, (_, rank) => rank).filter(keep);

describe('embedded UserStore.scan', () => {
  it('pages through every match once, in insertion order, whatever the states asked for', async () => {
    expect((await scanAll({})).ranks).toEqual(expected((rank) => rank % 3 !== 0));
    expect((await scanAll({ _st: 'DRAFT' })).ranks).toEqual(expected((rank) => rank % 3 === 0));
    expect((await scanAll({ _st: 'PUBLIC,DRAFT' })).ranks).toEqual(expected(() => true));
    expect((await scanAll({ _st: 'PUBLIC,DRAFT', userGroup: 'odd' }, 200)).ranks).toEqual(expected((rank) => rank % 2 === 1));
  });

  it('reads a bounded number of rows per call when the filter is evaluated in the process', async () => {
    const { pages, ranks } = await scanAll({ _st: 'PUBLIC,DRAFT', _q: JSON.stringify({ rank: { $in: [5, 2_401, 2_500] } }) });
    expect(ranks).toEqual([5, 2_401, 2_500]);
    // The first call stopped after 2,000 rows with one match, and said where to go on.
    expect(pages[0]).toMatchObject({ users: [{ rank: 5 }], next: expect.any(String) });
    expect(pages.length).toBeGreaterThan(1);
  });

  it('stops a page at its limit when the filter is evaluated in the process', async () => {
    const { pages, ranks } = await scanAll({ _q: JSON.stringify({ rank: { $lt: 700 } }) });
    expect(ranks).toEqual(expected((rank) => rank < 700 && rank % 3 !== 0));
    expect(pages[0]!.users).toHaveLength(100);
  });

  it('refuses what GET /users/count refuses', async () => {
    await expect(store.scan({ _l: '5' }, { limit: 10 }, scope)).rejects.toThrow(/additional properties/);
    await expect(store.scan({}, { limit: 10 }, { actorId: 'x', headers: { acl_rows: 'nope' } })).rejects.toThrow(/acl_rows/);
    await expect(store.scan({ _q: '{"name":{"$nearSphere":[0,0]}}' }, { limit: 10 }, scope)).rejects.toThrow(/\$nearSphere/);
  });
});

describe('embedded UserStore.scan with $text in a $or mingo evaluates', () => {
  it('reads the full-text index for the rows of each call only, not every user the word matches', async () => {
    const db = openDatabase(':memory:');
    // The rows the full-text index answers per call (textHits read every match on each page of an export).
    let indexRows = 0;
    const counted = new Proxy(db, {
      get(target, key) {
        if (key !== 'prepare') return Reflect.get(target, key);
        return (sql: string) => {
          const statement = target.prepare(sql);
          if (!sql.includes('users_text WHERE users_text MATCH')) return statement;
          return new Proxy(statement, {
            get(inner, name) {
              const value = Reflect.get(inner, name);
              if (name === 'all') return (...args: unknown[]) => ((rows) => ((indexRows += rows.length), rows))(value.apply(inner, args));
              if (name === 'get') return (...args: unknown[]) => ((row) => ((indexRows += row ? 1 : 0), row))(value.apply(inner, args));
              return typeof value === 'function' ? value.bind(inner) : value;
            },
          });
        };
      },
    });
    const texts = createSqliteUserStore(counted, systemClock);
    const many = 5_000;
    await texts.insertMany(
      // Every other user holds the word.
      Array.from({ length: many }, (_, index) => ({
        userGroup: 'g',
        username: `user${index}`,
        email: `user${index}@${index % 2 ? 'plain.test' : 'word.example'}`,
      })),
      scope,
    );
    const q = JSON.stringify({ $or: [{ $text: { $search: 'example' } }, { username: { $regex: '^nobody' } }] });
    let after: string | undefined;
    const users: string[] = [];
    let worst = 0;
    do {
      indexRows = 0;
      const page = await texts.scan({ _q: q }, { after, limit: 1000 }, scope);
      worst = Math.max(worst, indexRows);
      users.push(...page.users.map((user) => user.username as string));
      after = page.next;
    } while (after !== undefined);
    expect(users).toEqual(Array.from({ length: many / 2 }, (_, index) => `user${index * 2}`));
    // At most a page of hits: the word is asked of the index for each row read, not for every user.
    expect(worst).toBe(1000);
  });
});
