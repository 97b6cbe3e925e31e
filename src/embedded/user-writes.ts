import type { Statement } from 'better-sqlite3';
import { update as applyUpdate } from 'mingo/updater';
import type { CallScope } from '../ports/call-scope.js';
import type { ByIdOptions, UpdateExpr, UserDoc, UserStore } from '../ports/user-store.js';
import { canonicalDates, canonicalValue } from '../crud/cast.js';
import type { FieldIndex } from '../crud/field-types.js';
import type { Filter } from '../crud/filter.js';
import type { Clock } from '../ports/clock.js';
import { newObjectId } from '../crud/ids.js';
import { linearQueryOptions, pullingDocumentsOnly } from '../crud/regex.js';
import { assertTransition, type State } from '../crud/states.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Db } from './db.js';
import { inShortTransactions } from './short-transactions.js';
import { type Row, toDoc } from './user-rows.js';
import { byIdFilter } from './user-query.js';
import { shownId } from '../domain/input-limits.js';

/** `$pull` conditions run `$regex` on RE2, as filters do. */
const PULL_QUERY_OPTIONS = linearQueryOptions(['body', '$pull']);

export interface UserWriteParts {
  db: Db;
  /** Stamps createdAt and updatedAt. */
  clock: Clock;
  fields: () => FieldIndex;
  selectById: Statement<[string], Row>;
  /** The row of `id` in one of `states` that matches `filter` (a by-id route's conditions). */
  getRow: (id: string, states: readonly State[], filter?: Filter) => Row | undefined;
}

/** What the writes share: the parts and the statements they run. */
interface Writer extends UserWriteParts {
  insertRow: Statement<[string, string, string]>;
  updateRow: Statement<[string, string, string]>;
  deleteById: Statement<[string]>;
}

interface PatchInput {
  id: string;
  expr: UpdateExpr;
  states: readonly State[];
  scope: CallScope;
  filter?: Filter;
}

type UserWrites = Pick<UserStore, 'insert' | 'insertMany' | 'patch' | 'patchMany' | 'delete' | 'setState'>;

/** The writes of the `users` collection on SQLite, answering like the CRUD Service. */
export function createUserWrites(parts: UserWriteParts): UserWrites {
  const { db, clock, fields } = parts;
  const writer: Writer = {
    ...parts,
    insertRow: db.prepare('INSERT INTO users (id, state, doc) VALUES (?, ?, ?)'),
    updateRow: db.prepare('UPDATE users SET doc = ?, state = ? WHERE id = ?'),
    deleteById: db.prepare('DELETE FROM users WHERE id = ?'),
  };
  return {
    async insert(doc: Record<string, unknown>, scope: CallScope) {
      return toDoc(insertNew(writer, doc, scope));
    },
    insertMany: (docs: Record<string, unknown>[], scope: CallScope) => insertMany(writer, docs, scope),
    async patch(id: string, expr: UpdateExpr, options: ByIdOptions, scope: CallScope) {
      const filter = byIdFilter(options, scope, fields());
      return db.transaction(() => patchRow(writer, { id, expr, states: options.states, scope, filter })).immediate();
    },
    async patchMany(updates, options: ByIdOptions, scope: CallScope) {
      // Many documents per commit (a commit per document would cost more than the updates), but
      // short ones.
      let modified = 0;
      await inShortTransactions(db, updates, ({ id, update }) => {
        if (patchRow(writer, { id, expr: update, states: options.states, scope }) !== undefined) modified += 1;
        return true;
      });
      return modified;
    },
    delete: (id: string, options: ByIdOptions) => deleteRow(writer, id, options),
    async setState(id: string, stateTo: State, scope: CallScope) {
      db.transaction(() => {
        const row = parts.selectById.get(id);
        if (!row) throw new NotFoundError(`user ${shownId(id)} not found`);
        assertTransition(row.state, stateTo);
        const doc = toDoc(row);
        write(writer, row, { ...doc, __STATE__: stateTo, updaterId: scope.actorId, updatedAt: new Date(clock.now()).toISOString() });
      }).immediate();
    },
  };
}

async function insertMany(writer: Writer, docs: Record<string, unknown>[], scope: CallScope) {
  // What was inserted before a refused document stays, as in the CRUD.
  const ids: string[] = [];
  let failure: { index: number; error: Error } | undefined;
  await inShortTransactions(writer.db, docs, (doc, index) => {
    try {
      // The id only: reading back each of an import's documents was a JSON.parse per row for
      // nothing.
      ids.push(insertNew(writer, doc, scope).id);
      return true;
    } catch (error) {
      failure = { index, error: error as Error };
      return false;
    }
  });
  return failure ? { ids, failure } : { ids };
}

async function deleteRow(writer: Writer, id: string, options: ByIdOptions): Promise<boolean> {
  const filter = byIdFilter(options, options.scope, writer.fields());
  return writer.db
    .transaction(() => {
      const row = writer.getRow(id, options.states, filter);
      if (!row || (options.unlinked && toDoc(row).authUserId !== undefined)) return false;
      return writer.deleteById.run(id).changes > 0;
    })
    .immediate();
}

/** Stores `stored` over `row` (its id kept, its state from `__STATE__`). */
function write(writer: Writer, row: Row, stored: UserDoc): UserDoc {
  // Dates in one canonical form, as the CRUD stores a Date: they compare and sort as instants.
  const { _id, __STATE__, ...rest } = canonicalDates(stored, writer.fields());
  const text = JSON.stringify(rest);
  try {
    writer.updateRow.run(text, __STATE__, row.id);
  } catch (error) {
    throw asConflict(error);
  }
  return toDoc({ id: _id, state: __STATE__, doc: text });
}

/**
 * Inserts a new document: its fields, then the store's own (creatorId, updaterId, createdAt,
 * updatedAt), dates canonical. Built in one object rather than through write()'s three copies:
 * an import inserts 100,000 of them, and their garbage outlived the young generation.
 */
function insertNew(writer: Writer, doc: Record<string, unknown>, scope: CallScope): Row {
  const now = new Date(writer.clock.now()).toISOString();
  const index = writer.fields();
  // Without a prototype: a field named `__proto__` (refused at the request, not here) stays a
  // field.
  const stored: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (key !== '_id' && key !== '__STATE__') stored[key] = canonicalValue(doc[key], index.get(key));
  }
  stored.creatorId = scope.actorId;
  stored.updaterId = scope.actorId;
  if (typeof doc.createdAt !== 'string') stored.createdAt = now;
  stored.updatedAt = now;
  const row: Row = {
    id: typeof doc._id === 'string' ? doc._id : newObjectId(),
    state: (doc.__STATE__ as State | undefined) ?? 'PUBLIC',
    doc: JSON.stringify(stored),
  };
  try {
    writer.insertRow.run(row.id, row.state, row.doc);
  } catch (error) {
    throw asConflict(error);
  }
  return row;
}

/** Applies update operators to one document, inside the caller's transaction. */
function patchRow(writer: Writer, { id, expr, states, scope, filter }: PatchInput): UserDoc | undefined {
  const row = writer.getRow(id, states, filter);
  if (!row) return undefined;
  const doc = toDoc(row);
  applyUpdate(doc, pullingDocumentsOnly(expr) as Parameters<typeof applyUpdate>[1], undefined, undefined, {
    cloneMode: 'deep',
    queryOptions: PULL_QUERY_OPTIONS,
  });
  const normalised = JSON.parse(JSON.stringify(doc)) as UserDoc;
  return write(writer, row, {
    ...normalised,
    _id: row.id,
    __STATE__: row.state,
    updaterId: scope.actorId,
    updatedAt: new Date(writer.clock.now()).toISOString(),
  });
}

function asConflict(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return error;
  const message = String((error as Error).message);
  const field = /users\.(\w+)/.exec(message)?.[1] ?? 'key';
  const name = field === 'id' ? '_id' : field === 'auth_user_id' ? 'authUserId' : field;
  return new ConflictError(`A user with the same ${name} already exists`);
}
