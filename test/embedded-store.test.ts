import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/domain/clock.js';
import type { IdentityProvider } from '../src/ports/identity-provider.js';
import { openDatabase } from '../src/embedded/db.js';
import { createEmbeddedIdentityProvider } from '../src/embedded/identity.js';
import { Sessions } from '../src/embedded/sessions.js';
import { createResetTickets } from '../src/embedded/reset-tickets.js';
import { seedGroups, startService, type TestService } from './helpers/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startService({ store: 'embedded' });
  await seedGroups(service);
});
afterAll(() => service.close());

describe('operators the embedded store cannot evaluate', () => {
  it('answer 400, not 500', async () => {
    // $text has its full-text index now (test/text-search.test.ts); $nearSphere has none.
    const res = await service.call('GET', `/users/?_q=${encodeURIComponent(JSON.stringify({ place: { $nearSphere: { from: [0, 0] } } }))}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('$nearSphere');
  });
});

describe('$elemMatch with a filter on the fields of the items', () => {
  it('matches documents only, as MongoDB: {a: 1} once matched the item 1 of an array of numbers', async () => {
    const scope = { actorId: 'test', headers: {} };
    const numbers = await service.deps.users.insert({ userGroup: 'guest', name: 'numbers', items: [1, 'x', 5] }, scope);
    const objects = await service.deps.users.insert({ userGroup: 'guest', name: 'objects', items: [{ a: 1 }, { b: 'x' }] }, scope);
    const ids = async (filter: object) => {
      const res = await service.call('GET', `/users/?_q=${encodeURIComponent(JSON.stringify(filter))}&_p=_id`);
      expect(res.status).toBe(200);
      return res.body.map((user: { _id: string }) => user._id).filter((id: string) => id === numbers._id || id === objects._id);
    };
    expect(await ids({ items: { $elemMatch: { a: 1 } } })).toEqual([objects._id]);
    expect(await ids({ items: { $elemMatch: { zzz: 'x' } } })).toEqual([]);
    expect(await ids({ items: { $elemMatch: { a: { $exists: false } } } })).toEqual([objects._id]);
    expect(await ids({ items: { $all: [{ $elemMatch: { b: 'x' } }] } })).toEqual([objects._id]);
    // The other form, a condition on the item itself, still reaches scalars.
    expect(await ids({ items: { $elemMatch: { $gt: 4 } } })).toEqual([numbers._id]);
    expect(await ids({ items: { $elemMatch: {} } })).toEqual([objects._id]);
    // acl_rows runs the same filters.
    const acl = await service.call('GET', '/users/?_p=_id', undefined, { acl_rows: JSON.stringify({ items: { $elemMatch: { a: 5 } } }) });
    expect(acl.body.map((user: { _id: string }) => user._id)).not.toContain(numbers._id);
  });
});

describe('$pull with a condition on the fields of the items', () => {
  it('pulls documents only, as MongoDB: {a: 1} once pulled the item 1 of the array too', async () => {
    const scope = { actorId: 'test', headers: {} };
    const items = [1, { a: 1 }, { a: 2 }, 'x', { a: 1, b: 2 }];
    const user = await service.deps.users.insert({ userGroup: 'guest', name: 'pulled', items }, scope);
    const pull = async (condition: unknown) => {
      const res = await service.call('PATCH', `/users/${user._id}`, { $pull: { items: condition } });
      expect(res.status).toBe(200);
      return res.body.items;
    };
    expect(await pull({ a: 1 })).toEqual([1, { a: 2 }, 'x']);
    expect(await pull({ a: { $gt: 1 } })).toEqual([1, 'x']);
    // A condition on the item itself still reaches scalars.
    expect(await pull({ $in: [1] })).toEqual(['x']);
    expect((await service.call('GET', `/users/${user._id}`)).body.items).toEqual(['x']);
  });

  it("decides by the condition's first key, as MongoDB: {}, $or, $and, $nor and fields before operators filter documents", async () => {
    const scope = { actorId: 'test', headers: {} };
    const items = [1, { a: 1 }, { a: 1, b: 2 }, [1], { a: 2 }, 'x'];
    const pull = async (condition: unknown) => {
      const user = await service.deps.users.insert({ userGroup: 'guest', name: 'pulled', items }, scope);
      const res = await service.call('PATCH', `/users/${user._id}`, { $pull: { items: condition } });
      expect(res.status).toBe(200);
      return res.body.items;
    };
    expect(await pull({})).toEqual([1, [1], 'x']);
    // $or and $and pulled nothing; $nor pulled every item, the scalars included.
    expect(await pull({ $or: [{ a: 2 }, { b: 2 }] })).toEqual([1, { a: 1 }, [1], 'x']);
    expect(await pull({ $and: [{ a: 1 }, { b: 2 }] })).toEqual([1, { a: 1 }, [1], { a: 2 }, 'x']);
    expect(await pull({ $nor: [{ a: 2 }] })).toEqual([1, [1], { a: 2 }, 'x']);
    // A field first, then an operator: a 400 before.
    expect(await pull({ a: 1, $or: [{ b: 2 }] })).toEqual([1, { a: 1 }, [1], { a: 2 }, 'x']);
    // A key the rewrite once used for itself pulled every document; it holds a NUL, which no field
    // name may (MongoDB cannot store one): a 400, the items kept.
    const user = await service.deps.users.insert({ userGroup: 'guest', name: 'pulled', items }, scope);
    const res = await service.call('PATCH', `/users/${user._id}`, { $pull: { items: { '\u0000item': 7 } } });
    expect(res.status).toBe(400);
    expect((await service.call('GET', `/users/${user._id}`)).body.items).toEqual(items);
  });

  it('tests $elemMatch on the fields of nested items against documents only, as in filters', async () => {
    const scope = { actorId: 'test', headers: {} };
    const items = [[1], [{ a: 1 }], { t: [1] }, { t: [{ a: 1 }] }, 'x'];
    const pull = async (condition: unknown) => {
      const user = await service.deps.users.insert({ userGroup: 'guest', name: 'pulled', items }, scope);
      const res = await service.call('PATCH', `/users/${user._id}`, { $pull: { items: condition } });
      expect(res.status).toBe(200);
      return res.body.items;
    };
    // Both pulled the array of the number 1 as well.
    expect(await pull({ $elemMatch: { a: 1 } })).toEqual([[1], { t: [1] }, { t: [{ a: 1 }] }, 'x']);
    expect(await pull({ t: { $elemMatch: { a: 1 } } })).toEqual([[1], [{ a: 1 }], { t: [1] }, 'x']);
  });
});

describe('names inherited from Object.prototype, below the request checks', () => {
  it('are stored and read back as plain fields by insert and insertMany', async () => {
    const scope = { actorId: 'test', headers: {} };
    // The request layer refuses these names (test/security/prototype-pollution.test.ts); the store
    // must not turn one into a prototype either, whoever calls it.
    const one = await service.deps.users.insert(JSON.parse('{"userGroup":"customer","name":"p1","__proto__":{"admin":true}}'), scope);
    const {
      ids: [many],
    } = await service.deps.users.insertMany([JSON.parse('{"userGroup":"customer","name":"p2","__proto__":{"admin":true}}')], scope);
    for (const id of [one._id, many!]) {
      const stored = await service.deps.users.get(id, { states: ['PUBLIC'], scope });
      expect(Object.getPrototypeOf(stored)).not.toEqual({ admin: true });
      expect(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value).toEqual({ admin: true });
    }
  });
});

describe('the embedded identity cache', () => {
  function open(file: string, cacheSize: number) {
    const db = openDatabase(file);
    return {
      db,
      identity: createEmbeddedIdentityProvider(db, new Sessions(db, 3600, systemClock), {
        cacheSize,
        tickets: createResetTickets({ db, ttlSeconds: 3600, clock: systemClock }),
      }),
    };
  }
  const usernames = async (identity: IdentityProvider, ids: string[]) => (await identity.getUsers(ids)).map((user) => user?.username);

  it('serves batched reads from memory until an identity changes, in this process or another one on the file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ums-cache-')), 'ums.sqlite');
    const here = open(file, 100);
    const other = open(file, 100);
    const a = await here.identity.createUser({ username: 'cache-a', password: 'Cache-pass-1' });
    const b = await here.identity.createUser({ username: 'cache-b', password: 'Cache-pass-1' });
    expect(await usernames(here.identity, [a.id, b.id, 'ums|missing'])).toEqual(['cache-a', 'cache-b', undefined]);

    // A write that restores the change counter is invisible: the batch comes from the cache.
    other.db.transaction(() => {
      other.db.prepare('UPDATE identity_users SET username = ? WHERE id = ?').run('behind-the-back', a.id);
      other.db.prepare("UPDATE change_counters SET n = n - 1 WHERE name = 'identity_users'").run();
    })();
    expect(await usernames(here.identity, [a.id, b.id])).toEqual(['cache-a', 'cache-b']);
    expect(await usernames(open(file, 0).identity, [a.id])).toEqual(['behind-the-back']);

    // Any real change, from another process or from this one, is seen at once.
    await other.identity.updateUser(b.id, { username: 'cache-b2' });
    expect(await usernames(here.identity, [a.id, b.id])).toEqual(['behind-the-back', 'cache-b2']);
    await here.identity.updateUser(a.id, { blocked: true });
    expect((await here.identity.getUsers([a.id]))[0]).toMatchObject({ username: 'behind-the-back', blocked: true });
    const c = await other.identity.createUser({ username: 'cache-c', password: 'Cache-pass-1' });
    await other.identity.deleteUser(b.id);
    expect(await usernames(here.identity, [c.id, b.id])).toEqual(['cache-c', undefined]);
  });

  it('is bounded by its size', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ums-cache-')), 'ums.sqlite');
    const { identity, db } = open(file, 2);
    const ids: string[] = [];
    for (const name of ['s1', 's2', 's3']) ids.push((await identity.createUser({ username: name, password: 'Cache-pass-1' })).id);
    expect(await usernames(identity, ids.slice(0, 2))).toEqual(['s1', 's2']);
    // The third does not fit beside the first two: they make room for it.
    expect(await usernames(identity, ids.slice(2))).toEqual(['s3']);
    db.transaction(() => {
      db.prepare('UPDATE identity_users SET username = upper(username)').run();
      db.prepare("UPDATE change_counters SET n = n - 3 WHERE name = 'identity_users'").run();
    })();
    expect(await usernames(identity, ids)).toEqual(['S1', 'S2', 's3']);
    // s3 made room for the other two, so it is read again.
    expect(await usernames(identity, ids)).toEqual(['S1', 'S2', 'S3']);
  });
});
