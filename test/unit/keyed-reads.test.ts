import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
  return { users, replica };
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
