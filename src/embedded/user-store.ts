import { setImmediate } from 'node:timers/promises';
import { update as applyUpdate } from 'mingo/updater';
import type { CallScope } from '../ports/call-scope.js';
import type { ByIdOptions, UpdateExpr, UserDoc, UserStore } from '../ports/user-store.js';
import type { Filter } from '../crud/filter.js';
import { type CrudQuery, type ListQuery, parseCountQuery, parseListQuery } from '../crud/query.js';
import { assertTransition, type State } from '../crud/states.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Statement } from 'better-sqlite3';
import type { Clock } from '../ports/clock.js';
import type { Db } from './db.js';
import { newObjectId } from '../crud/ids.js';
import { sortExpression, splitFilter } from './sql-filter.js';
import { linearQueryOptions } from '../crud/regex.js';
import { filterDocs, type Row, stateCondition, toDoc } from './user-rows.js';
import { createUserScan } from './user-scan.js';

/** `$pull` conditions run `$regex` on RE2, as filters do. */
const PULL_QUERY_OPTIONS = linearQueryOptions(['body', '$pull']);

/** A bulk write's transactions: at most this many rows, and no longer than this once a row is written. */
const ROWS_PER_TRANSACTION = 500;
const TRANSACTION_MS = 10;

/**
 * Calls `write` for each item in short transactions, with a turn of the event loop between them:
 * a bulk write of thousands of rows neither stalls the service nor holds the write lock for long.
 * `write` answers false to stop (a refused row); what was written before it stays.
 */
async function inShortTransactions<T>(db: Db, items: readonly T[], write: (item: T, index: number) => boolean): Promise<void> {
  let next = 0;
  let stopped = false;
  const slice = db.transaction(() => {
    const began = performance.now();
    const end = Math.min(items.length, next + ROWS_PER_TRANSACTION);
    while (next < end && !stopped && performance.now() - began < TRANSACTION_MS) {
      stopped = !write(items[next]!, next);
      next += 1;
    }
  });
  for (;;) {
    slice.immediate();
    if (stopped || next >= items.length) return;
    await setImmediate();
  }
}

type Search = Pick<ListQuery, 'filter' | 'states'> & Partial<Pick<ListQuery, 'sort' | 'limit' | 'skip'>>;

/** The `users` collection on SQLite, answering like the CRUD Service. */
/** `clock` stamps createdAt and updatedAt (an expiry's block is stamped at the instant the scheduler saw). */
export function createSqliteUserStore(db: Db, clock: Clock): UserStore {
  const insertRow = db.prepare('INSERT INTO users (id, state, doc) VALUES (?, ?, ?)');
  const updateRow = db.prepare('UPDATE users SET doc = ?, state = ? WHERE id = ?');
  const selectById = db.prepare<[string], Row>('SELECT id, state, doc FROM users WHERE id = ?');
  const deleteById = db.prepare('DELETE FROM users WHERE id = ?');

  // Filters produce a handful of distinct SQL texts; preparing each once saves a parse per request.
  const statements = new Map<string, Statement<unknown[], Row & { n: number }>>();
  function prepared(sql: string): Statement<unknown[], Row & { n: number }> {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= 500) statements.clear();
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  }

  function getRow(id: string, states: readonly State[]): Row | undefined {
    const row = selectById.get(id);
    return row && states.includes(row.state) ? row : undefined;
  }

  function search(query: Search): UserDoc[] {
    const { where, params, residual, selective } = splitFilter(query.filter);
    where.unshift(stateCondition(query.states, selective));
    params.unshift(...query.states);
    const order: string[] = [];
    for (const key of query.sort ?? []) {
      const expression = sortExpression(key.field);
      order.push(`${expression.sql} ${key.direction === 1 ? 'ASC' : 'DESC'}`);
      params.push(...expression.params);
    }
    order.push('seq');
    let sql = `SELECT id, state, doc FROM users WHERE ${where.join(' AND ')} ORDER BY ${order.join(', ')}`;
    if (!residual && query.limit !== undefined) {
      sql += ' LIMIT ? OFFSET ?';
      params.push(query.limit, query.skip ?? 0);
    }
    const docs = prepared(sql)
      .all(...params)
      .map(toDoc);
    if (!residual) return docs;
    const matching = filterDocs(docs, residual);
    const start = query.skip ?? 0;
    return matching.slice(start, query.limit === undefined ? undefined : start + query.limit);
  }

  function countMatching(query: Search): number {
    const { where, params, residual, selective } = splitFilter(query.filter);
    if (residual) return search(query).length;
    where.unshift(stateCondition(query.states, selective));
    params.unshift(...query.states);
    const row = prepared(`SELECT COUNT(*) AS n FROM users WHERE ${where.join(' AND ')}`).get(...params);
    return row?.n ?? 0;
  }

  function write(row: Row | undefined, doc: UserDoc, insert: boolean): UserDoc {
    const { _id, __STATE__, ...fields } = doc;
    try {
      if (insert) insertRow.run(_id, __STATE__, JSON.stringify(fields));
      else updateRow.run(JSON.stringify(fields), __STATE__, row!.id);
    } catch (error) {
      throw asConflict(error);
    }
    return toDoc({ id: _id, state: __STATE__, doc: JSON.stringify(fields) });
  }

  function insertDoc(doc: Record<string, unknown>, scope: CallScope): UserDoc {
    const now = new Date(clock.now()).toISOString();
    const { _id, __STATE__, ...fields } = doc;
    const created = {
      ...fields,
      _id: typeof _id === 'string' ? _id : newObjectId(),
      __STATE__: (__STATE__ as State | undefined) ?? 'PUBLIC',
      creatorId: scope.actorId,
      updaterId: scope.actorId,
      createdAt: typeof fields.createdAt === 'string' ? fields.createdAt : now,
      updatedAt: now,
    } as UserDoc;
    return write(undefined, created, true);
  }

  /** Applies update operators to one document, inside the caller's transaction. */
  function patchRow(id: string, expr: UpdateExpr, states: readonly State[], scope: CallScope): UserDoc | undefined {
    const row = getRow(id, states);
    if (!row) return undefined;
    const doc = toDoc(row);
    applyUpdate(doc, expr as Parameters<typeof applyUpdate>[1], undefined, undefined, {
      cloneMode: 'deep',
      queryOptions: PULL_QUERY_OPTIONS,
    });
    const normalised = JSON.parse(JSON.stringify(doc)) as UserDoc;
    return write(
      row,
      { ...normalised, _id: row.id, __STATE__: row.state, updaterId: scope.actorId, updatedAt: new Date(clock.now()).toISOString() },
      false,
    );
  }

  return {
    async list(query: CrudQuery | string, scope: CallScope) {
      const parsed = parseListQuery(toQueryObject(query), scope.headers.acl_rows);
      const docs = search(parsed);
      return parsed.projection ? docs.map((doc) => project(doc, parsed.projection!)) : docs;
    },
    async count(query: CrudQuery | string, scope: CallScope) {
      return countMatching(parseCountQuery(toQueryObject(query), scope.headers.acl_rows));
    },
    scan: createUserScan(db),
    async find(filter: Filter, options: ByIdOptions & { limit?: number }) {
      return search({ filter, states: [...options.states], limit: options.limit });
    },
    async get(id: string, options: ByIdOptions) {
      const row = getRow(id, options.states);
      return row && toDoc(row);
    },
    async insert(doc: Record<string, unknown>, scope: CallScope) {
      return insertDoc(doc, scope);
    },
    async insertMany(docs: Record<string, unknown>[], scope: CallScope) {
      // What was inserted before a refused document stays, as in the CRUD.
      const ids: string[] = [];
      let failure: { index: number; error: Error } | undefined;
      await inShortTransactions(db, docs, (doc, index) => {
        try {
          ids.push(insertDoc(doc, scope)._id);
          return true;
        } catch (error) {
          failure = { index, error: error as Error };
          return false;
        }
      });
      return failure ? { ids, failure } : { ids };
    },
    async patch(id: string, expr: UpdateExpr, options: ByIdOptions, scope: CallScope) {
      return db.transaction(() => patchRow(id, expr, options.states, scope)).immediate();
    },
    async patchMany(updates, options: ByIdOptions, scope: CallScope) {
      // Many documents per commit (a commit per document would cost more than the updates), but short ones.
      let modified = 0;
      await inShortTransactions(db, updates, ({ id, update }) => {
        if (patchRow(id, update, options.states, scope) !== undefined) modified += 1;
        return true;
      });
      return modified;
    },
    async delete(id: string, options: ByIdOptions) {
      return db
        .transaction(() => {
          if (!getRow(id, options.states)) return false;
          return deleteById.run(id).changes > 0;
        })
        .immediate();
    },
    async setState(id: string, stateTo: State, scope: CallScope) {
      db.transaction(() => {
        const row = selectById.get(id);
        if (!row) throw new NotFoundError(`user ${id} not found`);
        assertTransition(row.state, stateTo);
        const doc = toDoc(row);
        write(row, { ...doc, __STATE__: stateTo, updaterId: scope.actorId, updatedAt: new Date(clock.now()).toISOString() }, false);
      }).immediate();
    },
  };
}

/** A raw query string as Express's simple parser would give it (repeated keys become arrays). */
function toQueryObject(query: CrudQuery | string): CrudQuery {
  if (typeof query !== 'string') return query;
  // No prototype: a parameter named `__proto__` or `toString` is a parameter like any other.
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(query)) {
    const previous = out[key];
    out[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return out;
}

/** `_p`: the listed fields (dotted paths allowed) plus `_id`; only own properties are read or written. */
function project(doc: UserDoc, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { _id: doc._id };
  for (const field of fields) {
    const segments = field.split('.');
    let source: unknown = doc;
    for (const segment of segments) source = isObject(source) && Object.hasOwn(source, segment) ? source[segment] : undefined;
    if (source === undefined) continue;
    let target = out;
    for (const segment of segments.slice(0, -1)) {
      if (!isObject(target[segment]) || !Object.hasOwn(target, segment)) target[segment] = {};
      target = target[segment] as Record<string, unknown>;
    }
    target[segments.at(-1)!] = source;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asConflict(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return error;
  const message = String((error as Error).message);
  const field = /users\.(\w+)/.exec(message)?.[1] ?? 'key';
  const name = field === 'id' ? '_id' : field === 'auth_user_id' ? 'authUserId' : field;
  return new ConflictError(`A user with the same ${name} already exists`);
}
