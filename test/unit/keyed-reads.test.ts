import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/embedded/db.js';
import { createSqliteConfigStore, groupFieldIndex } from '../../src/embedded/config-store.js';
import { systemClock } from '../../src/domain/clock.js';
import { createSqliteUserStore } from '../../src/embedded/user-store.js';

/**
 * The embedded store's count, page and list read the group schemas' key in their own statement and
 * answer with the field index they parsed with only while it is current (user-store.ts, keyed
 * reads): a schema changed by another replica (here another connection to the file) is seen by
 * the very next read, as when the schemas were read first.
 */
const scope = { actorId: 'test', headers: {} };
const group = (crudSchema: Record<string, unknown>) => ({ userGroup: 'g', label: 'g', authUserCreationDisabled: false, crudSchema });
const OPEN = { type: 'object', properties: { nick: { type: 'string' } } };
const CLOSED = { type: 'object', properties: { other: { type: 'string' } }, additionalProperties: false };

describe('reads with the field index they were parsed with', () => {
  it('see at once a group schema another replica changed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ums-keyed-')), 'ums.sqlite');
    const here = openDatabase(file);
    const replica = createSqliteConfigStore(openDatabase(file));
    const users = createSqliteUserStore(here, systemClock, { fields: groupFieldIndex(here) });
    await replica.saveGroup(group(OPEN), scope);
    for (const nick of ['b', 'a', 'c']) await users.insert({ userGroup: 'g', nick }, scope);
    const sorted = '_s=nick&_p=nick';
    const nicks = async () => ((await users.list(sorted, scope)) as { nick: string }[]).map((user) => user.nick);

    expect(await nicks()).toEqual(['a', 'b', 'c']);
    expect(((await users.list('_s=-nick', scope)) as { nick: string }[]).map((user) => user.nick)).toEqual(['c', 'b', 'a']);
    expect(JSON.parse((await users.listText!('_s=nick', scope)).text).map((user: { nick: string }) => user.nick)).toEqual(['a', 'b', 'c']);
    expect(await users.count(`_q=${encodeURIComponent('{"userGroup":"g"}')}`, scope)).toBe(3);

    // The schema closes: `nick` is no field of any group any more, and sorting by it is refused.
    await replica.saveGroup(group(CLOSED), scope);
    await expect(users.listText!('_s=nick', scope)).rejects.toThrow('Unknown field: nick');
    await expect(users.list('_s=nick', scope)).rejects.toThrow('Unknown field: nick');
    expect(await users.count(`_q=${encodeURIComponent('{"userGroup":"g"}')}`, scope)).toBe(3);

    // And opens again: what the closed index refused is answered.
    await replica.saveGroup(group(OPEN), scope);
    expect(JSON.parse((await users.listText!('_s=-nick', scope)).text).map((user: { nick: string }) => user.nick)).toEqual(['c', 'b', 'a']);
  });
});
