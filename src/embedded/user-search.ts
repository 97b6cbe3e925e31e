import type { Statement } from 'better-sqlite3';
import type { UserDoc } from '../ports/user-store.js';
import { crossesArray, type FieldIndex } from '../crud/field-types.js';
import type { Filter } from '../crud/filter.js';
import { pace } from '../domain/pace.js';
import { compareBySortKeys } from '../crud/sort.js';
import type { Db } from './db.js';
import type { ScanPlan, Search, SearchPlan, SqlPlan } from './keyed-reads.js';
import { pageText, type RawRow } from './page-text.js';
import { sortExpression, splitFilter } from './sql-filter.js';
import { statementCache } from './statement-cache.js';
import { textHits, textHitsBetween } from './text-search.js';
import { filterDocs, residualMatcher, type Row, stateCondition, toDoc } from './user-rows.js';

/** What a search reads with: the store's statements, and its field index (read only for a sort). */
interface SearchParts {
  /** The ids a `$text` operand matches, for a residual holding one (text-search.ts). */
  textHits: (operand: unknown) => ReadonlySet<string>;
  /** The rows (by `seq`) of a range a `$text` operand matches, for `scanned`. */
  textHitsBetween: (operand: unknown) => (after: number, last: number) => ReadonlySet<number>;
  prepared: (sql: string, raw?: boolean) => Statement<unknown[], Row & { n: number }>;
  fields: () => FieldIndex;
}

/**
 * Searches of the `users` table: SQL where it answers the whole query, mingo and an in-memory sort
 * where it cannot.
 */
export function createUserSearch(db: Db, fields: () => FieldIndex) {
  const parts: SearchParts = {
    prepared: statementCache<Row & { n: number }>(db),
    fields,
    textHits: textHits(db),
    textHitsBetween: textHitsBetween(db),
  };
  return {
    prepared: parts.prepared,
    search: (query: Search) => search(parts, query),
    searchText: (query: Search) => searchText(parts, query),
    searchPlan: (query: Search, known?: FieldIndex, guard?: SqlPlan) => searchPlan(parts, query, known, guard),
    countPlan: (query: Search, keySql?: string) => countPlan(query, keySql),
    countMatching: (query: Search) => countMatching(parts, query),
  };
}

async function search(parts: SearchParts, query: Search): Promise<UserDoc[]> {
  const plan = searchPlan(parts, query);
  if ('inMemory' in plan) return sortedInMemory(parts, query, plan);
  const start = query.skip ?? 0;
  const end = query.limit === undefined ? Infinity : start + query.limit;
  if (plan.scan) return (await scanned(parts, plan.scan, plan.residual!, end)).slice(start, end);
  const docs = parts
    .prepared(plan.sql)
    .all(...plan.params)
    .map(toDoc);
  if (!plan.residual) return docs;
  return filterDocs(docs, plan.residual, parts.textHits).slice(start, end);
}

/** Rows read at once by a search whose filter mingo evaluates in part; a turn of the event loop between two. */
const ROWS_PER_SLICE = 2_000;

/**
 * The first `wanted` users (all of them: Infinity) a filter matches in part in the process, in
 * `seq` order: ROWS_PER_SLICE rows at a time, each slice from where the last one stopped, with a
 * turn of the event loop between them, and no further read once enough matched. Read whole, a
 * page of 25 with `{"tags":{"$size":1}}` over 100,000 users held the loop 0.4 s, though its 25
 * users were among the first rows (docs/decisions.md).
 */
async function scanned(parts: SearchParts, scan: ScanPlan, residual: Filter, wanted: number): Promise<UserDoc[]> {
  const from = scan.walk ? 'users NOT INDEXED' : 'users';
  const slice = parts.prepared(
    `SELECT id, state, doc, seq FROM ${from} WHERE ${scan.where.join(' AND ')} AND seq > ? ORDER BY seq LIMIT ?`,
  );
  // A `$text` is asked of the index about each slice's rows, in the turn they are read: the ids it
  // matched when the search began (textHits, read whole in one turn) were stale by a later slice.
  let current: (Row & { seq: number }) | undefined;
  let inSlice: ((after: number, last: number) => ReadonlySet<number>) | undefined;
  let hits: ReadonlySet<number> | undefined;
  const matches = residualMatcher(residual, (operand) => {
    inSlice = parts.textHitsBetween(operand);
    return { has: (id) => current !== undefined && current.id === id && hits!.has(current.seq) };
  });
  const found: UserDoc[] = [];
  for (let after = 0; ; await pace()) {
    const rows = slice.all(...scan.params, after, ROWS_PER_SLICE) as unknown as (Row & { seq: number })[];
    if (inSlice && rows.length > 0) hits = inSlice(after, rows.at(-1)!.seq);
    for (const row of rows) {
      current = row;
      const doc = toDoc(row);
      if (matches(doc) && found.push(doc) >= wanted) return found;
    }
    if (rows.length < ROWS_PER_SLICE) return found;
    after = rows.at(-1)!.seq;
  }
}

/** A page as JSON text: SQLite's rows written as they are stored, when SQL answers it all. */
async function searchText(parts: SearchParts, query: Search): Promise<string> {
  const plan = searchPlan(parts, query);
  if ('inMemory' in plan || plan.residual) return JSON.stringify(await search(parts, query));
  return pageText(parts.prepared(plan.sql, true).all(...plan.params) as unknown as RawRow[]);
}

/**
 * The SQL of a search, or what a sort SQL cannot express needs to be done in memory. A `guard` is
 * a condition on no row (SQLite evaluates it once, before the rows), put first with its parameters.
 */
function searchPlan({ fields }: SearchParts, query: Search, known?: FieldIndex, guard?: SqlPlan): SearchPlan {
  const { where, params, residual, selective } = splitFilter(query.filter);
  where.unshift(stateCondition(query.states, selective));
  params.unshift(...query.states);
  if (guard) {
    where.unshift(guard.sql);
    params.unshift(...guard.params);
  }
  // A sort key through an array (`attachments.name`) takes MongoDB's rule, which SQL cannot
  // express. (The field index is read only for a sort: it costs a query of the group schemas.)
  const sort = query.sort ?? [];
  const index = sort.length > 0 ? (known ?? fields()) : undefined;
  if (sort.some((key) => crossesArray(index!, key.field))) return { inMemory: true, where, params, residual };
  const order: string[] = [];
  for (const key of sort) {
    const expression = sortExpression(key.field, key.direction);
    order.push(expression.sql);
    params.push(...expression.params);
  }
  order.push('seq');
  let sql = `SELECT id, state, doc FROM users WHERE ${where.join(' AND ')} ORDER BY ${order.join(', ')}`;
  if (!residual && query.limit !== undefined) {
    sql += ' LIMIT ? OFFSET ?';
    params.push(query.limit, query.skip ?? 0);
  }
  // Without a sort, a residual's rows are read a slice at a time (`scanned`); with one, SQL sorts them all first.
  const walk = query.states.length > 1 && !selective;
  const scan = residual && sort.length === 0 && !guard ? { where, params, walk } : undefined;
  return { sql, params, residual, ...(scan && { scan }) };
}

function sortedInMemory(
  parts: SearchParts,
  query: Search,
  { where, params, residual }: { where: string[]; params: unknown[]; residual?: Filter },
): UserDoc[] {
  const rows = parts.prepared(`SELECT id, state, doc FROM users WHERE ${where.join(' AND ')} ORDER BY seq`).all(...params);
  const docs = residual ? filterDocs(rows.map(toDoc), residual, parts.textHits) : rows.map(toDoc);
  docs.sort((a, b) => compareBySortKeys(a, b, query.sort!));
  const start = query.skip ?? 0;
  return docs.slice(start, query.limit === undefined ? undefined : start + query.limit);
}

async function countMatching(parts: SearchParts, query: Search): Promise<number> {
  return sqlCount(parts, query)?.n ?? (await search(parts, query)).length;
}

/** COUNT in SQL, with the schemas' key when asked; undefined when part of the filter needs mingo. */
function sqlCount({ prepared }: SearchParts, query: Search, keySql?: string): { n: number; k: number | null } | undefined {
  const plan = countPlan(query, keySql);
  return plan && (prepared(plan.sql).get(...plan.params) as unknown as { n: number; k: number | null });
}

/** The SQL of a count (with the schemas' key when asked); undefined when part of the filter needs mingo. */
function countPlan(query: Search, keySql = 'NULL'): { sql: string; params: unknown[] } | undefined {
  const { where, params, residual, selective } = splitFilter(query.filter);
  if (residual) return undefined;
  where.unshift(stateCondition(query.states, selective));
  params.unshift(...query.states);
  return { sql: `SELECT COUNT(*) AS n, ${keySql} AS k FROM users WHERE ${where.join(' AND ')}`, params };
}
