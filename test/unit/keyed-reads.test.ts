import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/embedded/db.js';
import { createSqliteConfigStore, groupFieldIndex } from '../../src/embedded/config-store.js';
import { systemClock } from '../../src/domain/clock.js';
import { createSqliteUserStore } from '../../src/embedded/user-store.js';
import type { UserStore } from '../../src/ports/user-store.js';

/**
 * The embedded store's count, page and list read the group schemas' key in their own statement and
 * answer with the field index they parsed with only while it is current (keyed-reads.ts): a schema
 * changed by another replica (here another connection to the file) is seen by the very next read,
 * as when the schemas were read first.
 */
const scope = { actorId: 'test', headers: {} };
const group = (crudSchema: Record<string, unknown>) => ({ userGroup: 'g', label: 'g', authUserCreationDisabled: false, crudSchema });
const OPEN = { type: 'object', properties: { nick: { type: 'string' } } };
const CLOSED = { type: 'object', properties: { other: { type: 'string' } }, additionalProperties: false };

/** A store on a file, another connection's config store on the same file, and users b, a, c of an open group. */
async function storeWithReplica() {
  const file = join(mkdtempSync(join(tmpdir(), 'ums-keyed-')), 'ums.sqlite');
  const here = openDatabase(file);
  const replica = createSqliteConfigStore(openDatabase(file));
  const users = createSqliteUserStore(here, systemClock, { fields: groupFieldIndex(here) });
  await replica.saveGroup(group(OPEN), scope);
  for (const nick of ['b', 'a', 'c']) await users.insert({ userGroup: 'g', nick }, scope);
  return { users, replica, file };
}

describe('reads with the field index they were parsed with', () => {
  it('see at once a group schema another replica changed', async () => {
    const { users, replica } = await storeWithReplica();
    const sorted = '_s=nick&_p=nick';
    const nicks = async () => ((await users.list(sorted, scope)) as { nick: string }[]).map((user) => user.nick);

    expect(await nicks()).toEqual(['a', 'b', 'c']);
    expect(JSON.parse((await users.listText!('_s=nick', scope)).text).map((user: { nick: string }) => user.nick)).toEqual(['a', 'b', 'c']);
    expect(await users.count(`_q=${encodeURIComponent('{"userGroup":"g"}')}`, scope)).toBe(3);

    // The schema closes: `nick` is no field of any group any more, and sorting by it is refused.
    await replica.saveGroup(group(CLOSED), scope);
    await expect(users.listText!('_s=nick', scope)).rejects.toThrow('Unknown field: nick');
    expect(await users.count(`_q=${encodeURIComponent('{"userGroup":"g"}')}`, scope)).toBe(3);

    // And opens again: what the closed index refused is answered.
    await replica.saveGroup(group(OPEN), scope);
    expect(JSON.parse((await users.listText!('_s=-nick', scope)).text).map((user: { nick: string }) => user.nick)).toEqual(['c', 'b', 'a']);
  });

  // The page's statement has the schemas' revision as its guard (e7d12de): while it stands, the
  // rows come from that one statement and the schemas are not read; once another replica changed
  // them, the statement answers no rows and the page is read the general way, with the new ones.
  it('answer a page from its one statement while the schemas stand, and the general way once they moved', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ums-keyed-')), 'ums.sqlite');
    const here = openDatabase(file);
    const replica = createSqliteConfigStore(openDatabase(file));
    const index = groupFieldIndex(here);
    let schemaReads = 0;
    const fields = Object.assign(
      () => {
        schemaReads += 1;
        return index();
      },
      { keySql: index.keySql, known: () => index.known() },
    );
    const users = createSqliteUserStore(here, systemClock, { fields });
    await replica.saveGroup(group(OPEN), scope);
    for (const nick of ['b', 'a']) await users.insert({ userGroup: 'g', nick }, scope);
    const nicks = async () => JSON.parse((await users.listText!('_s=nick', scope)).text).map((user: { nick: string }) => user.nick);
    expect(await nicks()).toEqual(['a', 'b']);
    schemaReads = 0;
    expect(await nicks()).toEqual(['a', 'b']);
    expect(schemaReads).toBe(0);
    await replica.saveGroup(group({ ...OPEN, description: 'another revision' }), scope);
    expect(await nicks()).toEqual(['a', 'b']);
    expect(schemaReads).toBeGreaterThan(0);
  });

  it('see at once a group another replica deleted, and one it wrote by hand', async () => {
    const { users, replica, file } = await storeWithReplica();
    await replica.saveGroup({ ...group(CLOSED), userGroup: 'h', label: 'h' }, scope);
    await expect(users.listText!('_s=nick', scope)).resolves.toBeDefined();

    // The only group that declared `nick` is gone: the one left closes its fields.
    await replica.deleteGroup('g');
    await expect(users.listText!('_s=nick', scope)).rejects.toThrow('Unknown field: nick');
    await expect(users.list('_s=nick', scope)).rejects.toThrow('Unknown field: nick');

    // Any write of ums_config counts, not only the config store's.
    const other = openDatabase(file);
    other.prepare("INSERT INTO ums_config (user_group, id, doc) VALUES ('i', 'x', ?)").run(JSON.stringify({ crudSchema: OPEN }));
    await expect(users.listText!('_s=nick', scope)).resolves.toBeDefined();
    other.prepare("UPDATE ums_config SET doc = ? WHERE user_group = 'i'").run(JSON.stringify({ crudSchema: CLOSED }));
    await expect(users.listText!('_s=nick', scope)).rejects.toThrow('Unknown field: nick');
  });

  // Each read on its own: the first read after the change is the one that must notice it (any
  // read the general way refreshes the index for the others). Not the count: SQL answers filters
  // on the standard fields only, which no group schema changes, so its key check cannot change
  // an answer today (a filter on a group's own field is counted the general way).
  const reads = {
    list: (users: UserStore) => users.list('_s=-nick', scope),
    listText: (users: UserStore) => users.listText!('_s=-nick', scope),
  };
  it.each(Object.entries(reads))('%s refuses a field that a schema changed by another replica removed', async (_name, read) => {
    const { users, replica } = await storeWithReplica();
    await expect(read(users)).resolves.toBeDefined();

    await replica.saveGroup(group(CLOSED), scope);
    await expect(read(users)).rejects.toThrow('Unknown field: nick');
  });
});

/**
 * A count or a page asked by query string keeps its plan (SQL and parameters) for the next time
 * the same string is asked (keyed-reads.ts, `planKey`): the plan must be the one those headers and
 * that field index give.
 */
describe('plans kept by query string', () => {
  const count = `_q=${encodeURIComponent('{"userGroup":"g"}')}`;
  const names = (text: string) => (JSON.parse(text) as { username?: string; nick?: unknown }[]).map((user) => user.username);

  async function store() {
    const { users, replica } = await storeWithReplica();
    await replica.saveGroup(group({ type: 'object', properties: { username: { type: 'string' }, nick: {} } }), scope);
    for (const username of ['x', 'y']) await users.insert({ userGroup: 'g', username }, scope);
    return { users, replica };
  }

  it('count: another acl_rows is another plan', async () => {
    const { users } = await store();
    const rows = (acl_rows: string) => ({ ...scope, headers: { acl_rows } });
    expect(await users.count(count, rows('{"username":"x"}'))).toBe(1);
    expect(await users.count(count, rows('{"username":{"$in":["x","y"]}}'))).toBe(2);
    expect(await users.count(count, scope)).toBe(5);
    expect(await users.count(count, rows('{"username":"x"}'))).toBe(1);
  });

  it('count: an estimate is never answered by a plan', async () => {
    const { users } = await store();
    // An estimate counts every user, in any state; a count, those of `_st` (PUBLIC by default).
    await users.setState((await users.list(`_q=${encodeURIComponent('{"username":"x"}')}`, scope))[0]!._id as string, 'DRAFT', scope);
    const estimate = '_useEstimate=true';
    for (let round = 0; round < 2; round += 1) expect(await users.count(estimate, scope)).toBe(5);
    expect(await users.count('', scope)).toBe(4);
    expect(await users.count(estimate, scope)).toBe(5);
  });

  it('page: acl_read_columns is part of the plan', async () => {
    const { users } = await store();
    const page = '_q=' + encodeURIComponent('{"username":{"$in":["x","y"]}}');
    expect(names((await users.listText!(page, scope)).text)).toEqual(['x', 'y']);
    const narrowed = await users.listText!(page, { ...scope, headers: { acl_read_columns: 'nick' } });
    expect(names(narrowed.text)).toEqual([undefined, undefined]);
    expect(names((await users.listText!(page, scope)).text)).toEqual(['x', 'y']);
  });

  it('page: a plan made with a field index is not used with another', async () => {
    const { users, replica } = await store();
    // `nick.at` is a field of an object: SQL sorts by it. Each user's nick is an array of objects,
    // which SQL reads as no value (insertion order); MongoDB sorts by the least element.
    await replica.saveGroup(group({ type: 'object' }), scope);
    const sorted = '_s=nick.at&_q=' + encodeURIComponent('{"userGroup":"h"}');
    await replica.saveGroup(
      { ...group({ type: 'object', properties: { nick: { type: 'object', properties: { at: {} } } } }), userGroup: 'h', label: 'h' },
      scope,
    );
    await users.insert({ userGroup: 'h', username: 'late', nick: [{ at: 'z' }, { at: 'b' }] }, scope);
    await users.insert({ userGroup: 'h', username: 'early', nick: [{ at: 'a' }] }, scope);
    expect(names((await users.listText!(sorted, scope)).text)).toEqual(['late', 'early']);

    await replica.saveGroup(
      { ...group({ type: 'object', properties: { nick: { type: 'array', items: { type: 'object' } } } }), userGroup: 'h', label: 'h' },
      scope,
    );
    // The first read after the change finds the schemas' key changed and reads the general way; the second plans again.
    for (let round = 0; round < 2; round += 1) expect(names((await users.listText!(sorted, scope)).text)).toEqual(['early', 'late']);
  });
});

/**
 * A filter mingo evaluates in part (`$size`, `$all`…) and no sort: the rows are read in `seq`
 * order a slice at a time (user-search.ts `scanned`), with turns of the event loop between slices,
 * and no further once the page is full. Read whole, a page of 25 over 100,000 users held the
 * loop 0.4 s though its users were among the first rows.
 */
describe('filters evaluated in the process, without a sort', () => {
  const USERS = 5_000;

  /** A store over USERS users (every 500th tagged `m`), and the rows its statements have read of them. */
  function storeOfUsers() {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'ums-scan-')), 'ums.sqlite'));
    const insert = db.prepare("INSERT INTO users (id, state, doc) VALUES (?, 'PUBLIC', ?)");
    db.transaction(() => {
      for (let index = 0; index < USERS; index += 1) {
        const doc = { userGroup: 'g', nick: `n${index}`, tags: index % 500 === 0 ? ['m'] : ['x'] };
        insert.run(`u${String(index).padStart(5, '0')}`, JSON.stringify(doc));
      }
    })();
    let read = 0;
    const slices: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      const statement = prepare(sql);
      if (/ seq > \? ORDER BY seq LIMIT/.test(sql)) slices.push(sql);
      if (!/ FROM users\b/.test(sql)) return statement;
      const all = statement.all.bind(statement);
      const slice = / seq > \? ORDER BY seq LIMIT/.test(sql);
      statement.all = (...params: unknown[]) => {
        // A slice after the first: the writes come first (they land while the loop turns).
        if (slice && Number(params.at(-2)) > 0) betweenSlices.shift()?.();
        const rows = all(...params);
        read += rows.length;
        return rows;
      };
      return statement;
    }) as typeof db.prepare;
    /** Writes run once a slice is read, before the next one (as another request between two turns). */
    const betweenSlices: (() => void)[] = [];
    const users = createSqliteUserStore(db, systemClock, { fields: groupFieldIndex(db) });
    return { users, read: () => read, db, slices, betweenSlices };
  }
  const page = async (users: UserStore, query: string) =>
    (JSON.parse((await users.listText!(query, scope)).text) as { nick: string }[]).map((user) => user.nick);
  const q = (filter: object) => `_q=${encodeURIComponent(JSON.stringify(filter))}`;

  it('reads no more slices than the page needs, in insertion order', async () => {
    const { users, read } = storeOfUsers();
    expect(await page(users, `_l=25&${q({ tags: { $size: 1 } })}`)).toEqual(Array.from({ length: 25 }, (_, index) => `n${index}`));
    expect(read()).toBe(2_000);

    // Matches spread over three slices: each slice is read from where the last stopped.
    const before = read();
    expect(await page(users, `_l=5&${q({ tags: { $all: ['m'] } })}`)).toEqual(['n0', 'n500', 'n1000', 'n1500', 'n2000']);
    expect(read() - before).toBe(4_000);
    expect(await page(users, `_l=3&_sk=8&${q({ tags: { $all: ['m'] } })}`)).toEqual(['n4000', 'n4500']);
  });

  it('counts every match, reading the table a slice at a time', async () => {
    const { users, read } = storeOfUsers();
    expect(await users.count(q({ tags: { $all: ['m'] } }), scope)).toBe(10);
    expect(read()).toBe(USERS);
    expect(await users.count(q({ tags: { $size: 1 } }), scope)).toBe(USERS);
  });

  it("reads one state's rows, or one group's, by their index", async () => {
    // Walking the whole table in seq order (NOT INDEXED) read all 100,000 rows for a group of 10
    // with a residual: 0.4 ms before the slices, 33-39 ms in one turn with them.
    const { users, db, slices } = storeOfUsers();
    const plan = (sql: string) =>
      (
        db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(
          ...sql
            .split('?')
            .slice(1)
            .map(() => null),
        ) as { detail: string }[]
      )
        .map((step) => step.detail)
        .join('; ');
    expect(await page(users, q({ userGroup: 'g', nick: 'n1', tags: { $size: 1 } }))).toEqual(['n1']);
    expect(plan(slices.at(-1)!)).toMatch(/USING INDEX users_group_state/);
    expect(await page(users, `_l=2&${q({ tags: { $size: 1 } })}`)).toEqual(['n0', 'n1']);
    expect(plan(slices.at(-1)!)).toMatch(/USING INDEX users_state_seq/);
    // Several states: the (state, seq) indexes would sort every remaining row on each slice; the
    // table is walked in seq order instead, as the export's scan does.
    expect(await page(users, `_l=2&_st=PUBLIC,DRAFT&${q({ tags: { $size: 1 } })}`)).toEqual(['n0', 'n1']);
    expect(plan(slices.at(-1)!)).not.toMatch(/INDEX|TEMP B-TREE/);
  });

  it('answers writes landing between two slices once each: seen if they come after the slice read, never twice', async () => {
    const { users, db, betweenSlices } = storeOfUsers();
    const set = (id: string, tags: string[], state = 'PUBLIC') =>
      db.prepare("UPDATE users SET doc = json_set(doc, '$.tags', json(?)), state = ? WHERE id = ?").run(JSON.stringify(tags), state, id);
    const writes = () => {
      set('u00500', ['x']); // read already: answered as read
      set('u01999', ['m']); // read already, before it matched: not answered
      set('u02500', ['x']); // not read yet: answered as it is now
      set('u03001', ['m']);
      set('u04000', ['m'], 'DRAFT'); // out of the states asked
      db.prepare("DELETE FROM users WHERE id = 'u03500'").run();
      db.prepare("INSERT INTO users (id, state, doc) VALUES ('late', 'PUBLIC', ?)").run(JSON.stringify({ nick: 'late', tags: ['m'] }));
    };
    const all = q({ tags: { $all: ['m'] } });
    betweenSlices.push(writes);
    expect(await page(users, all)).toEqual(['n0', 'n500', 'n1000', 'n1500', 'n2000', 'n3000', 'n3001', 'n4500', 'late']);
    // The same writes undone, then again between a count's slices.
    for (const id of ['u00500', 'u02500']) set(id, ['m']);
    for (const id of ['u01999', 'u03001']) set(id, ['x']);
    set('u04000', ['m']);
    db.prepare("DELETE FROM users WHERE id = 'late'").run();
    betweenSlices.push(writes);
    expect(await users.count(all, scope)).toBe(9);
    // Several states: the walk in seq order answers the DRAFT one where it stands.
    expect(await page(users, `_st=PUBLIC,DRAFT&${all}`)).toEqual([
      'n0',
      'n1000',
      'n1500',
      'n1999',
      'n2000',
      'n3000',
      'n3001',
      'n4000',
      'n4500',
      'late',
    ]);
  });

  it('gives the event loop a turn between slices once one is due', async () => {
    const { users } = storeOfUsers();
    // Each look at the clock is 20 ms later: every slice is due a turn.
    let now = performance.now();
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (now += 20));
    try {
      const order: string[] = [];
      setImmediate(() => order.push('another request'));
      order.push(`count ${await users.count(q({ tags: { $all: ['m'] } }), scope)}`);
      expect(order).toEqual(['another request', 'count 10']);
    } finally {
      clock.mockRestore();
    }
  });

  it('answers a $text in a $or by the row as it is read, not as it was when the read began', async () => {
    const { users, db, betweenSlices } = storeOfUsers();
    const rename = (id: string, username: string) =>
      db.prepare("UPDATE users SET doc = json_set(doc, '$.username', ?) WHERE id = ?").run(`${username} ${id}`, id);
    // u01999 and u02000: the last row of the first slice, the first of the second.
    for (const id of ['u00001', 'u01999', 'u02501', 'u02000']) rename(id, id === 'u02000' ? 'beta' : 'alpha');
    betweenSlices.push(() => {
      rename('u02501', 'beta'); // no longer a match when its slice is read
      rename('u02000', 'alpha'); // a match by then
    });
    // Read whole when the search began, the index's answer listed n2501 (now "beta") and not n2000.
    const or = q({ $or: [{ $text: { $search: 'alpha' } }, { username: { $regex: '^nobody' } }] });
    expect(await page(users, or)).toEqual(['n1', 'n1999', 'n2000']);
  });

  it('answers as a read of every row would, over several slices and states, and by a unique column', async () => {
    const { users, db, slices } = storeOfUsers();
    db.prepare("UPDATE users SET state = 'DRAFT' WHERE seq % 3 = 0").run();
    const tagged = (from: number) =>
      Array.from({ length: 10 }, (_, index) => index * 500)
        .filter((index) => index >= from)
        .map((index) => `n${index}`);
    const both = '_st=PUBLIC,DRAFT&';
    const m = q({ tags: { $all: ['m'] } });
    expect(await page(users, `${both}${m}`)).toEqual(tagged(0));
    // seq = index + 1: DRAFT where it is a multiple of 3, out of the default PUBLIC.
    expect(await page(users, m)).toEqual(tagged(0).filter((nick) => (Number(nick.slice(1)) + 1) % 3 !== 0));
    expect(await page(users, `${both}_sk=3&_l=4&${m}`)).toEqual(tagged(0).slice(3, 7));
    expect(await page(users, `${both}_sk=10&${m}`)).toEqual([]);
    expect(await page(users, `${both}_sk=100&_l=5&${m}`)).toEqual([]);
    // A unique column leads (its index, then the rows sorted by seq): still insertion order.
    for (const id of ['u04500', 'u00000', 'u02500', 'u00007']) {
      db.prepare("UPDATE users SET doc = json_set(doc, '$.username', ?) WHERE id = ?").run(`name-${id}`, id);
    }
    const names = ['u04500', 'u00000', 'u02500', 'u00007'].map((id) => `name-${id}`);
    const ids = q({ username: { $in: names }, tags: { $size: 1 } });
    expect(await page(users, `${both}${ids}`)).toEqual(['n0', 'n7', 'n2500', 'n4500']);
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${slices.at(-1)!}`).all(
      ...slices
        .at(-1)!
        .split('?')
        .slice(1)
        .map(() => null),
    );
    expect(JSON.stringify(plan)).toMatch(/USING INDEX \w*username/);
    expect(await users.count(`${both}${ids}`, scope)).toBe(4);
  });
});
