import type { Filter } from '../crud/filter.js';
import { isPlainObject } from '../crud/filter.js';
import { assertTextPlacement, textCondition } from './text-search.js';

/**
 * Splits a Mongo filter into the part SQLite can answer from indexed columns and the rest.
 * The SQL part is exact (same results as MongoDB) because it only covers string comparisons on
 * fields the service always stores as strings. The residual is evaluated with mingo, which
 * implements MongoDB's query semantics, so any allow-listed filter gives the CRUD's answer.
 */
export interface SplitFilter {
  where: string[];
  params: unknown[];
  /** Undefined when SQL answers the whole filter. */
  residual?: Filter;
  /**
   * True when a unique column is matched by equality or `$in`: its index finds the few rows, and
   * the state condition must not lead SQLite to the (state, seq) index instead (a scan of every
   * live user, which it would otherwise choose for `_id $in [200 ids]`).
   */
  selective: boolean;
}

const UNIQUE_FIELDS = new Set(['_id', 'username', 'email', 'authUserId']);

function isSelective(part: Filter): boolean {
  const [key, value] = Object.entries(part)[0]!;
  if (!UNIQUE_FIELDS.has(key)) return false;
  return (
    typeof value === 'string' || (isPlainObject(value) && Object.keys(value).every((operator) => operator === '$eq' || operator === '$in'))
  );
}

/** Standard fields with a real or generated column (a Map: a field named `constructor` must find nothing). */
const COLUMNS = new Map([
  ['_id', 'id'],
  ['__STATE__', 'state'],
  ['userGroup', 'user_group'],
  ['username', 'username'],
  ['email', 'email'],
  ['authUserId', 'auth_user_id'],
  ['createdAt', 'created_at'],
  ['updatedAt', 'updated_at'],
]);

const COMPARISONS = new Map([
  ['$gt', '>'],
  ['$gte', '>='],
  ['$lt', '<'],
  ['$lte', '<='],
]);

/**
 * `top`: the query's own filter, whose `$text` placement is checked (text-search.ts): a condition
 * of the top level or of a clause of a `$or` whose clauses name indexed fields. It is answered by
 * the full-text index; a `$or` holding it that SQL cannot answer whole goes to the residual, where
 * its `$text` is tested against the ids the index matched (user-rows.ts residualMatcher).
 */
export function splitFilter(filter: Filter, top = true): SplitFilter {
  const where: string[] = [];
  const params: unknown[] = [];
  const residual: Filter[] = [];
  let selective = false;
  const parts = conjuncts(filter);
  if (top) assertTextPlacement(filter);
  for (const part of parts) {
    const sql = Object.hasOwn(part, '$text') ? textCondition(part.$text) : translate(part);
    if (sql) {
      where.push(sql.sql);
      params.push(...sql.params);
      selective ||= isSelective(part);
    } else {
      residual.push(part);
    }
  }
  if (residual.length === 0) return { where, params, selective };
  return { where, params, selective, residual: residual.length === 1 ? residual[0] : { $and: residual } };
}

/** An array's element keyed as a field's value is: its objects and booleans after strings too ([true] is no 1). */
const ELEMENT_KEY = "CASE type WHEN 'object' THEN CAST(value AS BLOB) WHEN 'false' THEN x'FF00' WHEN 'true' THEN x'FF01' ELSE value END";

/**
 * The ORDER BY term of a sort key, with its direction: the column when there is one (its name from
 * the allow-list above), else the field's JSON path as a bound parameter. An array there sorts by
 * its smallest element ascending and by its largest descending, as in MongoDB. SQLite orders NULL,
 * numbers, text, then blobs: an object (its JSON text as a blob) and a boolean (a blob after any
 * text) follow strings, in BSON's order, in the one CASE that was there (a second term cost a third
 * of a sorted page). No text from a request is ever part of the SQL.
 */
export function sortExpression(field: string, direction: 1 | -1 = 1): Sql {
  const order = direction === 1 ? 'ASC' : 'DESC';
  const column = COLUMNS.get(field);
  if (column) return { sql: `${column} ${order}`, params: [] };
  const path = jsonPath(field);
  const pick = direction === 1 ? 'min' : 'max';
  return {
    sql: `CASE json_type(doc, ?) WHEN 'array' THEN (SELECT ${pick}(${ELEMENT_KEY}) FROM json_each(doc, ?)) WHEN 'object' THEN CAST(json_extract(doc, ?) AS BLOB) WHEN 'false' THEN x'FF00' WHEN 'true' THEN x'FF01' ELSE json_extract(doc, ?) END ${order}`,
    params: [path, path, path, path],
  };
}

/** The JSON path of a (dotted) field: `$."a"."b"`, each segment quoted as JSON text. */
export function jsonPath(field: string): string {
  return `$.${field
    .split('.')
    .map((segment) => JSON.stringify(segment))
    .join('.')}`;
}

function conjuncts(filter: Filter): Filter[] {
  const parts: Filter[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value) && value.every(isPlainObject)) {
      for (const inner of value) parts.push(...conjuncts(inner));
    } else {
      parts.push({ [key]: value });
    }
  }
  return parts;
}

export interface Sql {
  sql: string;
  params: unknown[];
}

/** A one-key filter → SQL, or undefined when it is not exactly expressible. */
function translate(part: Filter): Sql | undefined {
  const [key, value] = Object.entries(part)[0]!;
  if (key === '$or') return translateOr(value);
  if (key === '$and') return undefined;
  const column = COLUMNS.get(key);
  if (!column) return undefined;
  if (typeof value === 'string') return { sql: `${column} = ?`, params: [value] };
  if (!isPlainObject(value)) return undefined;
  const pieces: Sql[] = [];
  for (const [operator, operand] of Object.entries(value)) {
    const piece = translateOperator(key, column, operator, operand);
    if (!piece) return undefined;
    pieces.push(piece);
  }
  if (pieces.length === 0) return undefined;
  return { sql: pieces.map((p) => p.sql).join(' AND '), params: pieces.flatMap((p) => p.params) };
}

function translateOr(branches: unknown): Sql | undefined {
  if (!Array.isArray(branches) || branches.length === 0 || !branches.every(isPlainObject)) return undefined;
  const parts: Sql[] = [];
  for (const branch of branches) {
    const split = splitFilter(branch, false);
    if (split.residual || split.where.length === 0) return undefined;
    parts.push({ sql: split.where.join(' AND '), params: split.params });
  }
  return { sql: `(${parts.map((p) => `(${p.sql})`).join(' OR ')})`, params: parts.flatMap((p) => p.params) };
}

function translateOperator(field: string, column: string, operator: string, operand: unknown): Sql | undefined {
  const isStringList = Array.isArray(operand) && operand.every((item) => typeof item === 'string');
  switch (operator) {
    case '$eq':
      return typeof operand === 'string' ? { sql: `${column} = ?`, params: [operand] } : undefined;
    case '$ne':
      return typeof operand === 'string' ? { sql: `${column} IS NOT ?`, params: [operand] } : undefined;
    case '$in':
      if (!isStringList) return undefined;
      if (operand.length === 0) return { sql: '0', params: [] };
      return { sql: `${column} IN (${operand.map(() => '?').join(',')})`, params: operand };
    case '$nin':
      if (!isStringList) return undefined;
      if (operand.length === 0) return { sql: '1', params: [] };
      return { sql: `(${column} IS NULL OR ${column} NOT IN (${operand.map(() => '?').join(',')}))`, params: operand };
    case '$exists':
      if (typeof operand !== 'boolean' || column === 'id' || column === 'state') return undefined;
      return { sql: `json_type(doc, ?) IS ${operand ? 'NOT ' : ''}NULL`, params: [jsonPath(field)] };
    default: {
      const comparison = COMPARISONS.get(operator);
      if (!comparison || typeof operand !== 'string') return undefined;
      return { sql: `${column} ${comparison} ?`, params: [operand] };
    }
  }
}
