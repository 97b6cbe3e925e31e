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
  { sql: string; params: unknown[]; residual?: Filter } | { inMemory: true; where: string[]; params: unknown[]; residual?: Filter };

interface StoreReads {
  /** The store's field index; a FieldIndexSource (config-store.ts) lets reads check it in their own statement. */
  fields?: () => FieldIndex;
  prepared: (sql: string, raw?: boolean) => Statement<unknown[], unknown>;
  searchPlan: (query: Search, known?: FieldIndex, column?: string) => SearchPlan;
  sqlCount: (query: Search, keySql?: string) => { n: number; k: string | null } | undefined;
}

/**
 * A count and a page (as text for REST, as rows for GraphQL's list) in one statement each: parsed
 * with the field index last read, the group schemas' key read with the rows, the answer kept only
 * when that key is still the index's. A second statement per request (the schemas' own read) cost
 * a count about 20 µs (docs/decisions.md). Each answers undefined when it cannot (the caller reads
 * the schemas first, as before).
 */
export function keyedReads({ fields, prepared, searchPlan, sqlCount }: StoreReads) {
  const source = fields && 'keySql' in fields ? (fields as FieldIndexSource) : undefined;
  /** A page's rows (whole documents: a query whose projection applies is answered the general way). */
  function rows(parse: (index: FieldIndex) => ListQuery, readColumns: string | undefined): RawRow[] | undefined {
    const parsed = source && parsedWithKnown(source, parse);
    if (!parsed || readableFields(parsed.query.projection, readColumns)) return undefined;
    const plan = searchPlan(parsed.query, parsed.known.index, `, ${source!.keySql}`);
    if ('inMemory' in plan || plan.residual) return undefined;
    const read = prepared(plan.sql, true).all(...plan.params) as RawRow[];
    // An empty page carries no key: it is asked again the general way.
    return read.length > 0 && (read[0] as unknown[])[3] === parsed.known.key ? read : undefined;
  }
  return {
    count(parse: (index: FieldIndex) => Search): number | undefined {
      const parsed = source && parsedWithKnown(source, parse);
      const counted = parsed && sqlCount(parsed.query, source!.keySql);
      return counted && counted.k === parsed.known.key ? counted.n : undefined;
    },
    page(parse: (index: FieldIndex) => ListQuery, readColumns: string | undefined): string | undefined {
      const found = rows(parse, readColumns);
      return found && pageText(found);
    },
    rows,
  };
}

/**
 * The query parsed with the field index last read, and that index with its key; undefined before
 * the first read, or when the index, which may be stale, refused the query: its refusal is not
 * trusted (the caller parses again with the current one).
 */
function parsedWithKnown<T>(source: FieldIndexSource, parse: (index: FieldIndex) => T) {
  const known = source.known();
  if (!known) return undefined;
  try {
    return { query: parse(known.index), known };
  } catch {
    return undefined;
  }
}
