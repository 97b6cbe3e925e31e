import type { CallScope } from '../ports/call-scope.js';
import type { ConfigStore, GroupConfig } from '../ports/config-store.js';
import { type FieldIndex, fieldIndexOf } from '../crud/field-types.js';
import type { Db } from './db.js';
import { newObjectId } from '../crud/ids.js';

/** The `ums-config` collection on SQLite: one document per user group. */
export function createSqliteConfigStore(db: Db): ConfigStore {
  const selectOne = db.prepare<[string], { doc: string }>('SELECT doc FROM ums_config WHERE user_group = ?');
  const selectAll = db.prepare<[], { doc: string }>('SELECT doc FROM ums_config ORDER BY user_group');
  const upsert = db.prepare(
    `INSERT INTO ums_config (user_group, id, doc) VALUES (@userGroup, @id, @doc)
     ON CONFLICT (user_group) DO UPDATE SET doc = excluded.doc`,
  );
  const remove = db.prepare('DELETE FROM ums_config WHERE user_group = ?');

  return {
    async getGroup(userGroup) {
      const row = selectOne.get(userGroup);
      return row && toGroup(row.doc);
    },
    async listGroups() {
      return selectAll.all().map((row) => toGroup(row.doc));
    },
    async saveGroup(group: GroupConfig, scope: CallScope) {
      const now = new Date().toISOString();
      const previous = selectOne.get(group.userGroup);
      const prior = previous ? (JSON.parse(previous.doc) as Record<string, unknown>) : undefined;
      const doc = {
        _id: (prior?._id as string | undefined) ?? newObjectId(),
        ...group,
        creatorId: prior?.creatorId ?? scope.actorId,
        createdAt: prior?.createdAt ?? now,
        updaterId: scope.actorId,
        updatedAt: now,
        __STATE__: 'PUBLIC',
      };
      upsert.run({ userGroup: group.userGroup, id: doc._id, doc: JSON.stringify(doc) });
      return toGroup(JSON.stringify(doc));
    },
    async deleteGroup(userGroup) {
      return remove.run(userGroup).changes > 0;
    },
  };
}

function toGroup(json: string): GroupConfig {
  const doc = JSON.parse(json) as GroupConfig;
  return {
    userGroup: doc.userGroup,
    label: doc.label,
    crudSchema: doc.crudSchema,
    authUserCreationDisabled: doc.authUserCreationDisabled === true,
  };
}

/**
 * The key of the group schemas: their revision (migration 15), one more at each write of
 * ums_config by any process on the file. It was their text, joined: a page read it once and a
 * count once per request, so its cost grew with the schemas (docs/decisions.md, #23).
 */
const SCHEMAS_KEY_SQL = '(SELECT revision FROM ums_config_revision)';

/**
 * The fields of every user as the group schemas declare them (crud/field-types.ts), for the user
 * store's casts. The revision is read on each call and the schemas only when it changed, so another
 * replica's change to a group is seen at once.
 * A read may instead fetch the key with its own rows (`keySql`, one statement instead of two: the
 * second cost a count about 20 µs, docs/decisions.md) and check it is still `known`'s.
 */
export interface FieldIndexSource {
  (): FieldIndex;
  /** A scalar subquery answering the schemas' key. */
  readonly keySql: string;
  /** The index last read, and its key; undefined before the first read. */
  known(): { key: number; index: FieldIndex } | undefined;
}

export function groupFieldIndex(db: Db): FieldIndexSource {
  const selectKey = db.prepare<[], number>(`SELECT ${SCHEMAS_KEY_SQL}`).pluck();
  // The schemas with the revision they are at, in one statement: a write between two reads cannot pair them wrong.
  const selectSchemas = db.prepare<[], { key: number; schemas: string | null }>(
    `SELECT ${SCHEMAS_KEY_SQL} AS key, group_concat(json_extract(doc, '$.crudSchema'), char(30)) AS schemas FROM ums_config`,
  );
  let cached: { key: number; index: FieldIndex } | undefined;
  const read = () => {
    if (cached && cached.key === selectKey.get()) return cached.index;
    const { key, schemas } = selectSchemas.get()!;
    const parsed = schemas === null || schemas === '' ? [] : schemas.split('\u001e').map((text) => JSON.parse(text) as unknown);
    cached = { key, index: fieldIndexOf(parsed) };
    return cached.index;
  };
  return Object.assign(read, { keySql: SCHEMAS_KEY_SQL, known: () => cached });
}
