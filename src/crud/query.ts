import { isSafeFieldPath } from '../domain/safe-names.js';
import { InvalidInputError } from '../errors.js';
import { castFilterDates, coerceParam } from './cast.js';
import { type FieldIndex, fieldIndexOf, isClosed, isKnownField } from './field-types.js';
import { checkFilter, type Filter, isPlainObject, parseFilter } from './filter.js';
import { isState, type State } from './states.js';

/** A CRUD-style query string as Express hands it over. */
export type CrudQuery = Record<string, unknown>;

export interface SortKey {
  field: string;
  direction: 1 | -1;
}

export interface ListQuery {
  /** `_q`, the plain `field=value` filters and the `acl_rows` header, ANDed. */
  filter: Filter;
  states: State[];
  /** Fields to return (`_p`); `_id` is always returned. Undefined: all. */
  projection?: string[];
  sort: SortKey[];
  limit: number;
  skip: number;
}

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 200;
const FIELD = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const LIST_PARAMS = new Set(['_q', '_st', '_p', '_s', '_l', '_sk']);
/** `_useEstimate` is accepted and answered with the exact count (the embedded count is exact and cheap). */
const COUNT_PARAMS = new Set(['_q', '_st', '_useEstimate']);
const BY_ID_PARAMS = new Set(['_q', '_st']);
const GET_BY_ID_PARAMS = new Set(['_q', '_st', '_p']);
/** The standard fields only: for stores that know no group schema. */
const STANDARD_FIELDS = fieldIndexOf([]);

/**
 * Validates a list query like the CRUD Service does (unknown `_` parameters are a 400), casting
 * values by the fields' types (`index`): dates to their canonical text, `field=value` to the field's type.
 */
export function parseListQuery(query: CrudQuery, aclRows?: string, index: FieldIndex = STANDARD_FIELDS): ListQuery {
  assertKnownParams(query, LIST_PARAMS);
  return {
    filter: buildFilter(query, aclRows, index),
    states: parseStates(query._st),
    projection: parseProjection(query._p),
    sort: parseSort(query._s).map((key) => knownField(key, key.field, index)),
    limit: parseInteger(query._l, '_l', { min: 1, max: MAX_LIMIT, fallback: DEFAULT_LIMIT }),
    skip: parseInteger(query._sk, '_sk', { min: 0, fallback: 0 }),
  };
}

export function parseCountQuery(
  query: CrudQuery,
  aclRows?: string,
  index: FieldIndex = STANDARD_FIELDS,
): Pick<ListQuery, 'filter' | 'states'> {
  assertKnownParams(query, COUNT_PARAMS);
  return { filter: buildFilter(query, aclRows, index), states: parseStates(query._st) };
}

/**
 * The query of `GET|PATCH|DELETE /users/:id`: `_q`, `field=value` filters and `acl_rows`, which
 * the document must match (a 404 otherwise), as the CRUD applies them; `_p` on GET only.
 */
export function parseByIdQuery(
  query: CrudQuery,
  { aclRows, index = STANDARD_FIELDS, projection = false }: { aclRows?: string; index?: FieldIndex; projection?: boolean },
): { filter: Filter; projection?: string[] } {
  assertKnownParams(query, projection ? GET_BY_ID_PARAMS : BY_ID_PARAMS);
  return { filter: buildFilter(query, aclRows, index), projection: projection ? parseProjection(query._p) : undefined };
}

/** `_p`: the fields to return; absent or empty means every field, as in the CRUD. */
function parseProjection(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  const fields = splitList(single(raw, '_p')).map(checkField);
  return fields.length > 0 ? fields : undefined;
}

export function parseStates(raw: unknown): State[] {
  if (raw === undefined || raw === '') return ['PUBLIC'];
  const states = splitList(single(raw, '_st'));
  if (!states.every(isState)) {
    throw badParam('_st', 'must match pattern "(PUBLIC|DRAFT|TRASH|DELETED)(,(PUBLIC|DRAFT|TRASH|DELETED))*"');
  }
  return [...new Set(states)] as State[];
}

function buildFilter(query: CrudQuery, aclRows: string | undefined, index: FieldIndex): Filter {
  const parts: Filter[] = [];
  if (query._q !== undefined) {
    const filter = parseFilter(single(query._q, '_q'));
    if (isClosed(index)) assertKnownFields(filter, index);
    parts.push(castFilterDates(filter, index, ['querystring', '_q']));
  }
  for (const [key, value] of Object.entries(query)) {
    if (key.startsWith('_') && key !== '_id') continue;
    if (!isKnownField(index, checkField(key))) {
      // The CRUD's querystring schema lists its fields and refuses any other parameter.
      throw new InvalidInputError('querystring must NOT have additional properties', [
        { path: ['querystring', key], message: 'unknown field' },
      ]);
    }
    parts.push({ [key]: coerceParam(key, single(value, key), index) });
  }
  if (aclRows) parts.push(...parseAclRows(aclRows).map((row) => castFilterDates(row, index, ['headers', 'acl_rows'])));
  if (parts.length === 0) return {};
  return parts.length === 1 ? parts[0]! : { $and: parts };
}

/** `Unknown field: x`, the CRUD's 400 for a field of `_q` (or `_s`) its collection does not define. */
function unknownField(field: string, param: string): InvalidInputError {
  const message = `Unknown field: ${field}`;
  return new InvalidInputError(message, [{ path: ['querystring', param], message }]);
}

function knownField<T>(value: T, field: string, index: FieldIndex): T {
  if (!isKnownField(index, field)) throw unknownField(field, '_s');
  return value;
}

/** The fields `_q` names, judged as the CRUD's query parser judges them (through `$and`, `$or` and `$nor`). */
function assertKnownFields(filter: Filter, index: FieldIndex): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (Array.isArray(value)) value.filter(isPlainObject).forEach((inner) => assertKnownFields(inner, index));
    } else if (!key.startsWith('$') && !isKnownField(index, key)) {
      throw unknownField(key, '_q');
    }
  }
}

/**
 * The `acl_rows` header: a JSON array of filters, ANDed, or one filter, as the CRUD reads it
 * (parsed on its own: text around it cannot widen it).
 */
export function parseAclRows(raw: string): Filter[] {
  let rows: unknown;
  try {
    rows = JSON.parse(raw);
  } catch {
    rows = undefined;
  }
  if (isPlainObject(rows)) rows = [rows];
  if (!Array.isArray(rows) || !rows.every(isPlainObject)) {
    throw new InvalidInputError('acl_rows header must be a JSON filter or an array of filters');
  }
  if (rows.length > 0) checkFilter({ $and: rows }, 'acl_rows');
  return rows;
}

function parseSort(raw: unknown): SortKey[] {
  if (raw === undefined) return [];
  const values = Array.isArray(raw) ? raw.map(String) : [single(raw, '_s')];
  return values.flatMap(splitList).map((item) => {
    const descending = item.startsWith('-');
    return { field: checkField(descending ? item.slice(1) : item), direction: descending ? -1 : 1 };
  });
}

function parseInteger(raw: unknown, name: string, { min, max, fallback }: { min: number; max?: number; fallback: number }): number {
  if (raw === undefined) return fallback;
  const text = single(raw, name);
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) throw badParam(name, 'must be integer');
  if (value < min) throw badParam(name, `must be >= ${min}`);
  if (max !== undefined && value > max) throw badParam(name, `must be <= ${max}`);
  return value;
}

function assertKnownParams(query: CrudQuery, known: Set<string>): void {
  if (Object.hasOwn(query, '_rawp')) {
    const problem = 'raw MongoDB projections are not offered by the embedded store: use _p';
    throw new InvalidInputError(`querystring/_rawp: ${problem}`, [{ path: ['querystring', '_rawp'], message: problem }]);
  }
  for (const key of Object.keys(query)) {
    if (key.startsWith('_') && key !== '_id' && !known.has(key)) {
      throw new InvalidInputError('querystring must NOT have additional properties', [
        { path: ['querystring', key], message: 'unknown parameter' },
      ]);
    }
  }
}

function checkField(name: string): string {
  if (!FIELD.test(name) || !isSafeFieldPath(name)) throw badParam(name, 'is not a valid field name');
  return name;
}

function single(value: unknown, name: string): string {
  if (typeof value !== 'string') throw badParam(name, 'must be string');
  return value;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function badParam(name: string, problem: string): InvalidInputError {
  return new InvalidInputError(`querystring/${name} ${problem}`, [{ path: ['querystring', name], message: problem }]);
}

const FORBIDDEN_NAME = /__proto__|constructor|prototype/;

/**
 * For a query the service passes on unread (the CRUD Service's list and count): `_q` gets the
 * checks a parsed query gets (operator allow-list, field names, depth, top-level operators), and
 * `__proto__`, `constructor` and `prototype` are refused in every name, so both modes answer
 * alike. A query with neither, like most page reads, costs one regular-expression test.
 */
export function checkPassedOnQuery(rawQuery: string, aclRows: string | undefined): void {
  const text = decoded(rawQuery);
  if (!text.includes('_q=') && !FORBIDDEN_NAME.test(text) && !FORBIDDEN_NAME.test(aclRows ?? '')) return;
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    if (key === '_q') checkJsonFilter(value, '_q');
    else if (key === '_p' || key === '_s') splitList(value).forEach((item) => checkField(item.replace(/^-/, '')));
    else if (!key.startsWith('_') || key === '_id') checkField(key);
  }
  if (aclRows) parseAclRows(aclRows);
}

/** The query as its names will be read (percent-encoding could spell them otherwise). */
function decoded(rawQuery: string): string {
  if (!rawQuery.includes('%')) return rawQuery;
  try {
    return decodeURIComponent(rawQuery);
  } catch {
    return [...new URLSearchParams(rawQuery)].flat().join('&');
  }
}

/** Checks a JSON filter; text that is not a JSON object is left for the upstream to refuse in its own words. */
function checkJsonFilter(text: string, param: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  if (isPlainObject(parsed)) checkFilter(parsed, param);
}

/** A raw query string as Express's simple parser would give it (repeated keys become arrays). */
export function queryObjectOf(query: CrudQuery | string): CrudQuery {
  if (typeof query !== 'string') return query;
  // No prototype: a parameter named `__proto__` or `toString` is a parameter like any other.
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(query)) {
    const previous = out[key];
    out[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return out;
}
