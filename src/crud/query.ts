import { InvalidInputError } from '../errors.js';
import { castFilterDates, coerceParam } from './cast.js';
import { fieldAt, type FieldIndex, fieldIndexOf, isClosed, isKnownField } from './field-types.js';
import { assertIdParam, assertObjectIdConditions } from './ids.js';
import { assertOperatorTypes } from './operator-types.js';
import { checkFilter, type Filter, isPlainObject, parseFilter } from './filter.js';
import { badParam, checkField, parseInteger, parseProjection, parseStates, single } from './query-params.js';
import { parseRawProjection } from './raw-projection.js';
import type { State } from './states.js';

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
  /** Fields to return (`_p`, or a `_rawp` of inclusions); `_id` is always returned. Undefined: all. */
  projection?: string[];
  /** Fields to leave out (a `_rawp` of exclusions); never with `projection`. */
  exclusion?: string[];
  /** `_id: 0` among a `_rawp`'s inclusions: the answer leaves `_id` out (only with `projection`). */
  withoutId?: true;
  /** A `_rawp` with aggregation expressions, checked (raw-expressions.ts); never with `projection` nor `exclusion`. */
  expression?: Record<string, unknown>;
  sort: SortKey[];
  limit: number;
  skip: number;
}

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 200;
const LIST_PARAMS = new Set(['_q', '_st', '_p', '_s', '_l', '_sk', '_rawp']);
const COUNT_PARAMS = new Set(['_q', '_st', '_useEstimate']);
const BY_ID_PARAMS = new Set(['_q', '_st']);
const GET_BY_ID_PARAMS = new Set(['_q', '_st', '_p', '_rawp']);
/** The standard fields only: for stores that know no group schema. */
const STANDARD_FIELDS = fieldIndexOf([]);

/**
 * Validates a list query like the CRUD Service does (unknown `_` parameters are a 400), casting
 * values by the fields' types (`index`): dates to their canonical text, `field=value` to the field's type.
 */
export function parseListQuery(
  query: CrudQuery,
  aclRows?: string,
  index: FieldIndex = STANDARD_FIELDS,
  aclReadColumns?: string,
): ListQuery {
  assertKnownParams(query, LIST_PARAMS);
  return {
    filter: buildFilter(query, aclRows, index),
    states: parseStates(query._st),
    ...projectionOf(query, index, aclReadColumns),
    sort: parseSort(query._s).map((key) => knownField(key, key.field, index)),
    limit: parseInteger(query._l, '_l', { min: 1, max: MAX_LIMIT, fallback: DEFAULT_LIMIT }),
    skip: parseInteger(query._sk, '_sk', { min: 0, fallback: 0 }),
  };
}

/**
 * `_useEstimate=true` on count: the CRUD answers MongoDB's estimate of the whole collection, every
 * state, with no filter (neither `_q`, `field=value` nor acl_rows); the parameters are still checked
 * against its querystring schema. `true`/`false` as ajv coerces a boolean.
 */
export function isEstimateCount(query: CrudQuery): boolean {
  const raw = query._useEstimate;
  if (raw === undefined) return false;
  assertKnownParams(query, COUNT_PARAMS);
  if (raw !== 'true' && raw !== 'false') {
    throw badParam('_useEstimate', 'must be boolean');
  }
  if (query._st !== undefined) parseStates(query._st);
  return raw === 'true';
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
  {
    aclRows,
    index = STANDARD_FIELDS,
    projection = false,
    aclReadColumns,
  }: { aclRows?: string; index?: FieldIndex; projection?: boolean; aclReadColumns?: string },
): { filter: Filter; projection?: string[]; exclusion?: string[]; withoutId?: true; expression?: Record<string, unknown> } {
  assertKnownParams(query, projection ? GET_BY_ID_PARAMS : BY_ID_PARAMS);
  // The by-id routes' querystring schemas leave `_id` out (the list's and count's have it).
  if (Object.hasOwn(query, '_id')) throw additionalProperty('_id', 'unknown parameter');
  return { filter: buildFilter(query, aclRows, index), ...(projection ? projectionOf(query, index, aclReadColumns) : {}) };
}

/** `_rawp` (its fields to keep or to leave out), else `_p`. */
function projectionOf(
  query: CrudQuery,
  index: FieldIndex,
  aclReadColumns: string | undefined,
): { projection?: string[]; exclusion?: string[]; withoutId?: true; expression?: Record<string, unknown> } {
  return parseRawProjection(query, { index, aclReadColumns }) ?? { projection: parseProjection(query._p) };
}

function buildFilter(query: CrudQuery, aclRows: string | undefined, index: FieldIndex): Filter {
  const parts: Filter[] = [];
  // An empty `_q` is no filter: the CRUD skips a falsy one (resolveMongoQuery).
  if (query._q !== undefined && single(query._q, '_q') !== '') {
    const filter = parseFilter(single(query._q, '_q'));
    assertKnownFilterFields(filter, index);
    assertObjectIdConditions(filter);
    parts.push(castFilterDates(filter, index, ['querystring', '_q']));
  }
  for (const [key, value] of Object.entries(query)) {
    if (key.startsWith('_') && key !== '_id') continue;
    if (!isKnownField(index, checkField(key))) {
      // The CRUD's querystring schema lists its fields and refuses any other parameter.
      throw additionalProperty(key, 'unknown field');
    }
    // Nor does it list an object field (nor an object inside an array): its scalar paths only (`metadata.somethingNumber`).
    if (fieldAt(index, key)?.type === 'object') throw additionalProperty(key, 'an object field is no parameter: name a field inside it');
    if (key === '_id') assertIdParam(single(value, key));
    parts.push({ [key]: coerceParam(key, value, index) });
  }
  if (aclRows) {
    const rows = parseAclRows(aclRows);
    rows.forEach(assertObjectIdConditions);
    rows.forEach((row) => assertOperatorTypes(row, index));
    parts.push(...rows.map((row) => castFilterDates(row, index, ['headers', 'acl_rows'])));
  }
  if (parts.length === 0) return {};
  return parts.length === 1 ? parts[0]! : { $and: parts };
}

/** The CRUD's 400 for a parameter its querystring schema does not list, in its error handler's words (index.js). */
function additionalProperty(key: string, problem: string): InvalidInputError {
  const message = `querystring must NOT have additional properties. Property "${key}" is not defined in validation schema`;
  return new InvalidInputError(message, [{ path: ['querystring', key], message: problem }]);
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

/**
 * A filter's fields judged as the CRUD's query parser judges them (`Unknown field: x`, a 400) when
 * the index names every field a user can hold (see isClosed), and its operators by the fields' types
 * (operator-types.ts): `_q`, and the filters of `POST /users/state`, which the CRUD passes through the same parser.
 */
export function assertKnownFilterFields(filter: Filter, index: FieldIndex): void {
  if (isClosed(index)) assertKnownFields(filter, index);
  assertOperatorTypes(filter, index);
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
 * (parsed on its own: text around it cannot widen it). JSON that is falsy (`null`, `false`) is
 * no row filter: the CRUD skips it (resolveMongoQuery), so a gateway may send `null` for none.
 */
export function parseAclRows(raw: string): Filter[] {
  let rows: unknown;
  try {
    rows = JSON.parse(raw);
  } catch {
    rows = undefined;
  }
  if (rows === null || rows === false || rows === 0 || rows === '') return [];
  if (isPlainObject(rows)) rows = [rows];
  if (!Array.isArray(rows) || !rows.every(isPlainObject)) {
    throw new InvalidInputError('acl_rows header must be a JSON filter or an array of filters');
  }
  if (rows.length > 0) checkFilter({ $and: rows }, 'acl_rows');
  return rows;
}

/** MongoDB's own limit; SQLite's ORDER BY refused 2,000 keys with a 500. */
const MAX_SORT_KEYS = 32;

function parseSort(raw: unknown): SortKey[] {
  if (raw === undefined) return [];
  const values = Array.isArray(raw) ? raw.map(String) : [single(raw, '_s')];
  // Split as the CRUD's pattern reads `_s` (`^-?field(\.sub)*(,-?field(\.sub)*)*$`): nothing is trimmed or skipped.
  const items = values.flatMap((value) => value.split(','));
  if (items.length > MAX_SORT_KEYS) throw badSort(`at most ${MAX_SORT_KEYS} sort keys`);
  return items.map((item) => {
    const descending = item.startsWith('-');
    const field = descending ? item.slice(1) : item;
    if (!SORT_FIELD.test(field))
      throw badSort(`${JSON.stringify(item)} is not a sort key (a field name, "-" before it to sort descending)`);
    return { field: checkField(field), direction: descending ? -1 : 1 };
  });
}

/** A field of `_s` as the CRUD's pattern takes it: no empty name nor segment, no space (`+price` is ` price`). */
const SORT_FIELD = /^[^\s.,]+(\.[^\s.,]+)*$/;

function badSort(problem: string): InvalidInputError {
  return new InvalidInputError(`querystring/_s: ${problem}`, [{ path: ['querystring', '_s'], message: problem }]);
}

function assertKnownParams(query: CrudQuery, known: Set<string>): void {
  for (const key of Object.keys(query)) {
    if (key.startsWith('_') && key !== '_id' && !known.has(key)) {
      throw additionalProperty(key, 'unknown parameter');
    }
  }
}
