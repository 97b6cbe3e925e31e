import type { CallScope } from '../ports/call-scope.js';
import type { ByIdOptions, KeyedDoc, UserDoc, UserStore } from '../ports/user-store.js';
import { type FieldIndex, fieldIndexOf } from '../crud/field-types.js';
import type { Filter } from '../crud/filter.js';
import type { Clock } from '../ports/clock.js';
import { excludeFields, projector, readableFields, withoutId } from '../crud/projection.js';
import { projectExpressions } from '../crud/project-expressions.js';
import { type CrudQuery, isEstimateCount, parseCountQuery, parseListQuery } from '../crud/query.js';
import { queryObjectOf } from '../crud/raw-query.js';
import type { State } from '../crud/states.js';
import type { Db } from './db.js';
import { syncTextFields, textHitsById } from './text-search.js';
import { type Row, toDoc } from './user-rows.js';
import { createUserScan } from './user-scan.js';
import { keyedReads, planKey } from './keyed-reads.js';
import type { RawRow } from './page-text.js';
import { JsonText } from '../domain/json-text.js';
import { byIdFilter, matches, searchFilter } from './user-query.js';
import { createUserSearch } from './user-search.js';
import { createUserWrites, type UserWriteParts } from './user-writes.js';

export interface SqliteUserStoreOptions {
  /**
   * The fields the group schemas declare (dates, numbers…), for the casts; the standard fields only
   * without it.
   */
  fields?: () => FieldIndex;
  /** Fields the `$text` index reads besides username and email (TEXT_SEARCH_FIELDS). */
  textFields?: readonly string[];
}

/**
 * The `users` collection on SQLite, answering like the CRUD Service. `clock` stamps createdAt and
 * updatedAt (an expiry's block is stamped at the instant the scheduler saw).
 */
export function createSqliteUserStore(db: Db, clock: Clock, options: SqliteUserStoreOptions = {}): UserStore {
  const standard = fieldIndexOf([]);
  const fields = options.fields ?? (() => standard);
  syncTextFields(db, options.textFields ?? []);
  const selectById = db.prepare<[string], Row>('SELECT id, state, doc FROM users WHERE id = ?');
  const byIdText = textHitsById(db);

  /** The row of `id` in one of `states` that matches `filter` (a by-id route's conditions). */
  function getRow(id: string, states: readonly State[], filter?: Filter): Row | undefined {
    const row = selectById.get(id);
    if (!row || !states.includes(row.state)) return undefined;
    return matches(toDoc(row), filter, byIdText) ? row : undefined;
  }

  const parts: UserWriteParts = { db, clock, fields, selectById, getRow };
  return { ...userReads(parts, options.fields), ...createUserWrites(parts) };
}

/**
 * The reads. `keyFields` is the option as given: a FieldIndexSource lets a list, a page and a count
 * check the schemas in their own statement.
 */
function userReads(parts: Pick<UserWriteParts, 'db' | 'fields' | 'getRow'>, keyFields: SqliteUserStoreOptions['fields']) {
  const { db, fields, getRow } = parts;
  const { search, searchText, countMatching, ...plans } = createUserSearch(db, fields);
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM users');
  const keyed = keyedReads({ fields: keyFields, ...plans });
  return {
    async list(query: CrudQuery | string, scope: CallScope) {
      const raw = queryObjectOf(query);
      const parse = (index: FieldIndex) => parseListQuery(raw, scope.headers.acl_rows, index, scope.headers.acl_read_columns);
      const rows = keyed.rows(parse, scope.headers.acl_read_columns);
      if (rows) return rows.map(([id, state, doc]) => toDoc({ id, state, doc }));
      const index = fields();
      const parsed = parse(index);
      const docs = await search(parsed);
      if (parsed.expression) return (await projectExpressions(docs, parsed.expression, index)) as typeof docs;
      if (parsed.exclusion) return docs.map((doc) => excludeFields(doc, parsed.exclusion!));
      const projection = readableFields(parsed.projection, scope.headers.acl_read_columns);
      if (!projection) return docs;
      const project = projector(projection, parsed.filter);
      return docs.map(parsed.withoutId ? (doc) => withoutId(project(doc)) : project);
    },
    async listText(query: string, scope: CallScope) {
      const { acl_rows: rows, acl_read_columns: readColumns } = scope.headers;
      let raw: CrudQuery | undefined;
      const parse = (index: FieldIndex) => parseListQuery((raw ??= queryObjectOf(query)), rows, index, readColumns);
      const text = keyed.page(parse, readColumns, planKey(query, rows, readColumns));
      if (text !== undefined) return new JsonText(text);
      const index = fields();
      const parsed = parse(index);
      if (parsed.expression) return new JsonText(JSON.stringify(await projectExpressions(await search(parsed), parsed.expression, index)));
      if (parsed.exclusion) return new JsonText(JSON.stringify((await search(parsed)).map((doc) => excludeFields(doc, parsed.exclusion!))));
      const projection = readableFields(parsed.projection, scope.headers.acl_read_columns);
      if (projection) {
        const project = projector(projection, parsed.filter);
        return new JsonText(JSON.stringify((await search(parsed)).map(parsed.withoutId ? (doc) => withoutId(project(doc)) : project)));
      }
      return new JsonText(await searchText(parsed));
    },
    async listKeyed(query: string, scope: CallScope) {
      const { acl_rows: rows, acl_read_columns: readColumns } = scope.headers;
      let raw: CrudQuery | undefined;
      const parse = (index: FieldIndex) => parseListQuery((raw ??= queryObjectOf(query)), rows, index, readColumns);
      return keyed.rows(parse, readColumns, planKey(query, rows, readColumns))?.map((row) => new KeyedRow(row));
    },
    async count(query: CrudQuery | string, scope: CallScope) {
      const key = planKey(query, scope.headers.acl_rows);
      // A plan is kept only for a count that was no estimate.
      const planned = key === undefined ? undefined : keyed.countPlanned(key);
      if (planned !== undefined) return planned;
      const raw = queryObjectOf(query);
      if (isEstimateCount(raw)) return countAll.get()!.n;
      const parse = (index: FieldIndex) => parseCountQuery(raw, scope.headers.acl_rows, index);
      return keyed.count(parse, key) ?? countMatching(parse(fields()));
    },
    scan: createUserScan(db),
    async find(filter: Filter, options: ByIdOptions & { limit?: number }) {
      return search({ filter: searchFilter(filter, options.scope, fields()), states: [...options.states], limit: options.limit });
    },
    async get(id: string, options: ByIdOptions) {
      const row = getRow(id, options.states, byIdFilter(options, options.scope, fields()));
      return row && toDoc(row);
    },
  } satisfies Partial<UserStore>;
}

/** A row as a keyed document: parsed only when asked. */
class KeyedRow implements KeyedDoc {
  readonly id: string;
  readonly state: State;
  readonly text: string;
  constructor([id, state, text]: RawRow) {
    this.id = id;
    this.state = state;
    this.text = text;
  }

  doc(): UserDoc {
    return toDoc({ id: this.id, state: this.state, doc: this.text });
  }
}
