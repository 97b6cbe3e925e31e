import type { Statement } from 'better-sqlite3';
import type { UserDoc } from '../ports/user-store.js';
import { crossesArray, type FieldIndex } from '../crud/field-types.js';
import type { Filter } from '../crud/filter.js';
import { compareBySortKeys } from '../crud/sort.js';
import type { Db } from './db.js';
import type { Search, SearchPlan, SqlPlan } from './keyed-reads.js';
import { pageText, type RawRow } from './page-text.js';
import { sortExpression, splitFilter } from './sql-filter.js';
import { statementCache } from './statement-cache.js';
import { textHits } from './text-search.js';
import { filterDocs, type Row, stateCondition, toDoc } from './user-rows.js';

/** What a search reads with: the store's statements, and its field index (read only for a sort). */
interface SearchParts {
  /** The ids a `$text` operand matches, for a residual holding one (text-search.ts). */
  textHits: (operand: unknown) => ReadonlySet<string>;
  prepared: (sql: string, raw?: boolean) => Statement<unknown[], Row & { n: number }>;
  fields: () => FieldIndex;
}

/**
 * Searches of the `users` table: SQL where it answers the whole query, mingo and an in-memory sort
 * where it cannot.
 */
export function createUserSearch(db: Db, fields: () => FieldIndex) {
  const parts: SearchParts = { prepared: statementCache<Row & { n: number }>(db), fields, textHits: textHits(db) };
  return {
    prepared: parts.prepared,
    search: (query: Search) => search(parts, query),
    searchText: (query: Search) => searchText(parts, query),
    searchPlan: (query: Search, known?: FieldIndex, guard?: SqlPlan) => searchPlan(parts, query, known, guard),
    countPlan: (query: Search, keySql?: string) => countPlan(query, keySql),
    countMatching: (query: Search) => countMatching(parts, query),
  };
}

function search(parts: SearchParts, query: Search): UserDoc[] {
  const plan = searchPlan(parts, query);
  if ('inMemory' in plan) return sortedInMemory(parts, query, plan);
  const docs = parts
    .prepared(plan.sql)
    .all(...plan.params)
    .map(toDoc);
  if (!plan.residual) return docs;
  const matching = filterDocs(docs, plan.residual, parts.textHits);
  const start = query.skip ?? 0;
  return matching.slice(start, query.limit === undefined ? undefined : start + query.limit);
}

/** A page as JSON text: SQLite's rows written as they are stored, when SQL answers it all. */
function searchText(parts: SearchParts, query: Search): string {
  const plan = searchPlan(parts, query);
  if ('inMemory' in plan || plan.residual) return JSON.stringify(search(parts, query));
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
  return { sql, params, residual };
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

function countMatching(parts: SearchParts, query: Search): number {
  return sqlCount(parts, query)?.n ?? search(parts, query).length;
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
