import { update as applyUpdate } from 'mingo/updater';
import type { CallScope } from '../ports/call-scope.js';
import type { ByIdOptions, UpdateExpr, UserDoc, UserStore } from '../ports/user-store.js';
import { canonicalDates, canonicalValue } from '../crud/cast.js';
import { crossesArray, type FieldIndex, fieldIndexOf } from '../crud/field-types.js';
import type { Filter } from '../crud/filter.js';
import type { Clock } from '../ports/clock.js';
import { newObjectId } from '../crud/ids.js';
import { projectDoc, readableFields } from '../crud/projection.js';
import { type CrudQuery, parseCountQuery, parseListQuery } from '../crud/query.js';
import { queryObjectOf } from '../crud/raw-query.js';
import { linearQueryOptions } from '../crud/regex.js';
import { compareBySortKeys } from '../crud/sort.js';
import { assertTransition, type State } from '../crud/states.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Db } from './db.js';
import { inShortTransactions } from './short-transactions.js';
import { syncTextFields } from './text-search.js';
import { sortExpression, splitFilter } from './sql-filter.js';
import { filterDocs, type Row, stateCondition, toDoc } from './user-rows.js';
import { createUserScan } from './user-scan.js';
import { pageText, type RawRow } from './page-text.js';
import { statementCache } from './statement-cache.js';
import { keyedReads, type Search, type SearchPlan } from './keyed-reads.js';
import { JsonText } from '../domain/json-text.js';
import { byIdFilter, matches, searchFilter } from './user-query.js';

/** `$pull` conditions run `$regex` on RE2, as filters do. */
const PULL_QUERY_OPTIONS = linearQueryOptions(['body', '$pull']);

export interface SqliteUserStoreOptions {
  /** The fields the group schemas declare (dates, numbers…), for the casts; the standard fields only without it. */
  fields?: () => FieldIndex;
  /** Fields the `$text` index reads besides username and email (TEXT_SEARCH_FIELDS). */
  textFields?: readonly string[];
}

/**
 * The `users` collection on SQLite, answering like the CRUD Service. `clock` stamps createdAt and updatedAt (an expiry's block is stamped at
 * the instant the scheduler saw).
 */
export function createSqliteUserStore(db: Db, clock: Clock, options: SqliteUserStoreOptions = {}): UserStore {
  const standard = fieldIndexOf([]);
  const fields = options.fields ?? (() => standard);
  syncTextFields(db, options.textFields ?? []);
  const insertRow = db.prepare('INSERT INTO users (id, state, doc) VALUES (?, ?, ?)');
  const updateRow = db.prepare('UPDATE users SET doc = ?, state = ? WHERE id = ?');
  const selectById = db.prepare<[string], Row>('SELECT id, state, doc FROM users WHERE id = ?');
  const deleteById = db.prepare('DELETE FROM users WHERE id = ?');

  const prepared = statementCache<Row & { n: number }>(db);

  /** The row of `id` in one of `states` that matches `filter` (a by-id route's conditions). */
  function getRow(id: string, states: readonly State[], filter?: Filter): Row | undefined {
    const row = selectById.get(id);
    if (!row || !states.includes(row.state)) return undefined;
    return matches(toDoc(row), filter) ? row : undefined;
  }

  function search(query: Search): UserDoc[] {
    const plan = searchPlan(query);
    if ('inMemory' in plan) return sortedInMemory(query, plan.where, plan.params, plan.residual);
    const docs = prepared(plan.sql)
      .all(...plan.params)
      .map(toDoc);
    if (!plan.residual) return docs;
    const matching = filterDocs(docs, plan.residual);
    const start = query.skip ?? 0;
    return matching.slice(start, query.limit === undefined ? undefined : start + query.limit);
  }

  /** A page as JSON text: SQLite's rows written as they are stored, when SQL answers the whole query. */
  function searchText(query: Search): string {
    const plan = searchPlan(query);
    if ('inMemory' in plan || plan.residual) return JSON.stringify(search(query));
    return pageText(prepared(plan.sql, true).all(...plan.params) as unknown as RawRow[]);
  }

  /** The SQL of a search, or what a sort SQL cannot express needs to be done in memory. */
  function searchPlan(query: Search, known?: FieldIndex, column = ''): SearchPlan {
    const { where, params, residual, selective } = splitFilter(query.filter);
    where.unshift(stateCondition(query.states, selective));
    params.unshift(...query.states);
    // A sort key through an array (`attachments.name`) takes MongoDB's rule, which SQL cannot express.
    // (The field index is read only for a sort: it costs a query of the group schemas.)
    const sort = query.sort ?? [];
    const index = sort.length > 0 ? (known ?? fields()) : undefined;
    if (sort.some((key) => crossesArray(index!, key.field))) return { inMemory: true, where, params, residual };
    const order: string[] = [];
    for (const key of sort) {
      const expression = sortExpression(key.field, key.direction);
      order.push(`${expression.sql} ${key.direction === 1 ? 'ASC' : 'DESC'}`);
      params.push(...expression.params);
    }
    order.push('seq');
    let sql = `SELECT id, state, doc${column} FROM users WHERE ${where.join(' AND ')} ORDER BY ${order.join(', ')}`;
    if (!residual && query.limit !== undefined) {
      sql += ' LIMIT ? OFFSET ?';
      params.push(query.limit, query.skip ?? 0);
    }
    return { sql, params, residual };
  }

  function sortedInMemory(query: Search, where: string[], params: unknown[], residual: Filter | undefined): UserDoc[] {
    const rows = prepared(`SELECT id, state, doc FROM users WHERE ${where.join(' AND ')} ORDER BY seq`).all(...params);
    const docs = residual ? filterDocs(rows.map(toDoc), residual) : rows.map(toDoc);
    docs.sort((a, b) => compareBySortKeys(a, b, query.sort!));
    const start = query.skip ?? 0;
    return docs.slice(start, query.limit === undefined ? undefined : start + query.limit);
  }

  function countMatching(query: Search): number {
    return sqlCount(query)?.n ?? search(query).length;
  }

  /** COUNT in SQL, with the schemas' key when asked; undefined when part of the filter needs mingo. */
  function sqlCount(query: Search, keySql = 'NULL'): { n: number; k: string | null } | undefined {
    const { where, params, residual, selective } = splitFilter(query.filter);
    if (residual) return undefined;
    where.unshift(stateCondition(query.states, selective));
    params.unshift(...query.states);
    const sql = `SELECT COUNT(*) AS n, ${keySql} AS k FROM users WHERE ${where.join(' AND ')}`;
    return prepared(sql).get(...params) as unknown as { n: number; k: string | null };
  }

  function write(row: Row | undefined, stored: UserDoc, insert: boolean): UserDoc {
    // Dates in one canonical form, as the CRUD stores a Date: they compare and sort as instants.
    const { _id, __STATE__, ...rest } = canonicalDates(stored, fields());
    const text = JSON.stringify(rest);
    try {
      if (insert) insertRow.run(_id, __STATE__, text);
      else updateRow.run(text, __STATE__, row!.id);
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
  function insertNew(doc: Record<string, unknown>, scope: CallScope): Row {
    const now = new Date(clock.now()).toISOString();
    const index = fields();
    // Without a prototype: a field named `__proto__` (refused at the request, not here) stays a field.
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
      insertRow.run(row.id, row.state, row.doc);
    } catch (error) {
      throw asConflict(error);
    }
    return row;
  }

  function insertDoc(doc: Record<string, unknown>, scope: CallScope): UserDoc {
    return toDoc(insertNew(doc, scope));
  }

  /** Applies update operators to one document, inside the caller's transaction. */
  function patchRow(id: string, expr: UpdateExpr, states: readonly State[], scope: CallScope, filter?: Filter): UserDoc | undefined {
    const row = getRow(id, states, filter);
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

  const keyed = keyedReads({ fields: options.fields, prepared, searchPlan, sqlCount });

  return {
    async list(query: CrudQuery | string, scope: CallScope) {
      const raw = queryObjectOf(query);
      const parse = (index: FieldIndex) => parseListQuery(raw, scope.headers.acl_rows, index);
      const rows = keyed.rows(parse, scope.headers.acl_read_columns);
      if (rows) return rows.map(([id, state, doc]) => toDoc({ id, state, doc }));
      const parsed = parse(fields());
      const docs = search(parsed);
      const projection = readableFields(parsed.projection, scope.headers.acl_read_columns);
      return projection ? docs.map((doc) => projectDoc(doc, projection)) : docs;
    },
    async listText(query: string, scope: CallScope) {
      const raw = queryObjectOf(query);
      const parse = (index: FieldIndex) => parseListQuery(raw, scope.headers.acl_rows, index);
      const text = keyed.page(parse, scope.headers.acl_read_columns);
      if (text !== undefined) return new JsonText(text);
      const parsed = parse(fields());
      const projection = readableFields(parsed.projection, scope.headers.acl_read_columns);
      if (projection) return new JsonText(JSON.stringify(search(parsed).map((doc) => projectDoc(doc, projection))));
      return new JsonText(searchText(parsed));
    },
    async count(query: CrudQuery | string, scope: CallScope) {
      const raw = queryObjectOf(query);
      const parse = (index: FieldIndex) => parseCountQuery(raw, scope.headers.acl_rows, index);
      return keyed.count(parse) ?? countMatching(parse(fields()));
    },
    scan: createUserScan(db),
    async find(filter: Filter, options: ByIdOptions & { limit?: number }) {
      return search({ filter: searchFilter(filter, options.scope, fields()), states: [...options.states], limit: options.limit });
    },
    async get(id: string, options: ByIdOptions) {
      const row = getRow(id, options.states, byIdFilter(options, options.scope, fields()));
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
          // The id only: reading back each of an import's documents was a JSON.parse per row for nothing.
          ids.push(insertNew(doc, scope).id);
          return true;
        } catch (error) {
          failure = { index, error: error as Error };
          return false;
        }
      });
      return failure ? { ids, failure } : { ids };
    },
    async patch(id: string, expr: UpdateExpr, options: ByIdOptions, scope: CallScope) {
      const filter = byIdFilter(options, scope, fields());
      return db.transaction(() => patchRow(id, expr, options.states, scope, filter)).immediate();
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
      const filter = byIdFilter(options, options.scope, fields());
      return db
        .transaction(() => {
          if (!getRow(id, options.states, filter)) return false;
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

function asConflict(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return error;
  const message = String((error as Error).message);
  const field = /users\.(\w+)/.exec(message)?.[1] ?? 'key';
  const name = field === 'id' ? '_id' : field === 'auth_user_id' ? 'authUserId' : field;
  return new ConflictError(`A user with the same ${name} already exists`);
}
