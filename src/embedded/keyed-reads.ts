import type { Statement } from 'better-sqlite3';
import type { FieldIndex } from '../crud/field-types.js';
import type { Filter } from '../crud/filter.js';
import { readableFields } from '../crud/projection.js';
import type { ListQuery } from '../crud/query.js';
import type { FieldIndexSource } from './config-store.js';
import { pageText, type RawRow } from './page-text.js';

export type Search = Pick<ListQuery, 'filter' | 'states'> & Partial<Pick<ListQuery, 'sort' | 'limit' | 'skip'>>;

/** A search's SQL, or its conditions when the sort is done in memory. */
export type SearchPlan =
  | { sql: string; params: unknown[]; residual?: Filter; scan?: ScanPlan }
  | { inMemory: true; where: string[]; params: unknown[]; residual?: Filter };

/** A search with a residual filter and no sort, read in `seq` order a slice at a time (user-search.ts). */
export interface ScanPlan {
  where: string[];
  params: unknown[];
  /**
   * Several states and no unique column: the table is walked in `seq` order (NOT INDEXED), as the
   * (state, seq) indexes give that order for one state only. One state (or a unique column) is read
   * by its index: walking the table read every row for a group of 10 users.
   */
  walk: boolean;
}

/** A statement's SQL and its parameters. */
export interface SqlPlan {
  sql: string;
  params: unknown[];
}

interface StoreReads {
  /** The store's field index; a FieldIndexSource (config-store.ts) lets reads check it in their own statement. */
  fields?: () => FieldIndex;
  prepared: (sql: string, raw?: boolean) => Statement<unknown[], unknown>;
  searchPlan: (query: Search, known?: FieldIndex, guard?: SqlPlan) => SearchPlan;
  countPlan: (query: Search, keySql?: string) => SqlPlan | undefined;
}

/** Plans kept at most, and the longest key kept: dashboards ask the same few queries, a client could ask many. */
const MAX_PLANS = 500;
const MAX_PLAN_KEY = 4096;

/**
 * What a count or a page of a query string asked before read (its SQL and parameters), by that
 * string and the headers its parse read: parsing (the query string, `_q`'s JSON, its checks and
 * casts, the SQL built from it) cost a count about a tenth of its CPU (docs/decisions.md, #23).
 * Undefined for a query given as an object (GraphQL's) or too long to keep.
 */
export function planKey(query: unknown, ...headers: (string | undefined)[]): string | undefined {
  if (typeof query !== 'string') return undefined;
  let key = '';
  // Each header's length first: no header value can pass for a piece of another, or of the query.
  for (const header of headers) key += `${header?.length ?? -1}:${header ?? ''}`;
  key += query;
  return key.length <= MAX_PLAN_KEY ? key : undefined;
}

/**
 * A count and a page (as text for REST, as rows for GraphQL's list) in one statement each: parsed
 * with the field index last read, the answer kept only when the group schemas' key is still the
 * index's (the count reads the key with its row; a page's statement has it as a condition, and
 * answers no rows when it changed). A second statement per request (the schemas' own read) cost
 * a count about 20 µs (docs/decisions.md). Each answers undefined when it cannot (the caller reads
 * the schemas first, as before).
 */
export function keyedReads({ fields, prepared, searchPlan, countPlan }: StoreReads) {
  const source = fields && 'keySql' in fields ? (fields as FieldIndexSource) : undefined;
  const counts = planCache();
  const pages = planCache();
  /** A page's rows (whole documents: a query whose projection applies is answered the general way). */
  function rows(parse: (index: FieldIndex) => ListQuery, readColumns: string | undefined, key?: string): RawRow[] | undefined {
    const known = source?.known();
    if (!known) return undefined;
    const plan = pages.plan(known.index, key, () => {
      const query = parsedWith(known.index, parse);
      if (!query || query.exclusion || query.expression || readableFields(query.projection, readColumns)) return undefined;
      // The key is the statement's guard, not a column: read with each row, it was converted to a
      // string 100 times a page, a cost that grew with the schemas (docs/decisions.md, #23).
      const planned = searchPlan(query, known.index, { sql: `${source!.keySql} IS ?`, params: [known.key] });
      return 'inMemory' in planned || planned.residual ? undefined : planned;
    });
    if (!plan) return undefined;
    const read = prepared(plan.sql, true).all(...plan.params) as RawRow[];
    // No rows: the schemas changed since the index was read, or the page is empty. Either is asked
    // again the general way.
    return read.length > 0 ? read : undefined;
  }
  return {
    /** A count of `key`'s query with a plan kept from before; undefined when none is. */
    countPlanned(key: string): number | undefined {
      const known = source?.known();
      const plan = known && counts.plan(known.index, key, () => undefined);
      return plan && counted(plan, known.key);
    },
    count(parse: (index: FieldIndex) => Search, key?: string): number | undefined {
      const known = source?.known();
      if (!known) return undefined;
      const plan = counts.plan(known.index, key, () => {
        const query = parsedWith(known.index, parse);
        return query && countPlan(query, source!.keySql);
      });
      return plan && counted(plan, known.key);
    },
    page(parse: (index: FieldIndex) => ListQuery, readColumns: string | undefined, key?: string): string | undefined {
      const found = rows(parse, readColumns, key);
      return found && pageText(found);
    },
    rows,
  };

  /** The count, when the schemas' key read with it is still the index's the plan was made with. */
  function counted(plan: SqlPlan, key: number): number | undefined {
    const row = prepared(plan.sql).get(...plan.params) as { n: number; k: number };
    return row.k === key ? row.n : undefined;
  }
}

/**
 * Plans by key, for one field index: a plan made with an index is the query as that index reads
 * it, so another index (a group schema changed) starts over. Only what `make` answers is kept.
 */
function planCache() {
  let index: FieldIndex | undefined;
  const plans = new Map<string, SqlPlan>();
  return {
    plan(current: FieldIndex, key: string | undefined, make: () => SqlPlan | undefined): SqlPlan | undefined {
      if (index !== current) {
        plans.clear();
        index = current;
      }
      const kept = key === undefined ? undefined : plans.get(key);
      if (kept) return kept;
      const made = make();
      if (made && key !== undefined) {
        if (plans.size >= MAX_PLANS) plans.clear();
        plans.set(key, made);
      }
      return made;
    },
  };
}

/**
 * The query parsed with the field index last read; undefined when that index, which may be stale,
 * refused it: its refusal is not trusted (the caller parses again with the current one).
 */
function parsedWith<T>(index: FieldIndex, parse: (index: FieldIndex) => T): T | undefined {
  try {
    return parse(index);
  } catch {
    return undefined;
  }
}
