import { InvalidInputError } from '../errors.js';
import { canonicalDate } from './dates.js';
import { fieldAt, type FieldIndex, type FieldSchema } from './field-types.js';
import { type Filter, isPlainObject } from './filter.js';
import { badParam, single } from './query-params.js';

/**
 * Values cast by the fields' types, as the CRUD Service casts them: in a filter (`_q`, `acl_rows`)
 * only dates are cast (to the canonical text of dates.ts, so they compare as instants); a plain
 * `field=value` parameter and the values of a body are coerced to the field's type, as its
 * request schemas coerce them (`"9999"` is 9999 where the schema says number).
 */

/** Operators whose operand is one value of the field. */
const ONE_VALUE = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte']);
/** Operators whose operand is a list of values of the field. */
const MANY_VALUES = new Set(['$in', '$nin', '$all']);

/** The filter with every date field's values in canonical form; a value that is no date is a 400 naming the field. */
export function castFilterDates(filter: Filter, index: FieldIndex, where: string[]): Filter {
  const out: Filter = {};
  for (const [key, value] of Object.entries(filter)) {
    if ((key === '$and' || key === '$or') && Array.isArray(value)) {
      out[key] = value.map((inner) => (isPlainObject(inner) ? castFilterDates(inner, index, where) : inner));
    } else if (!key.startsWith('$') && fieldAt(index, key)?.type === 'date') {
      out[key] = castDateCondition(value, [...where, key]);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function castDateCondition(condition: unknown, where: string[]): unknown {
  if (condition === null) return null;
  if (!isPlainObject(condition)) return toDate(condition, where);
  const out: Filter = {};
  for (const [operator, operand] of Object.entries(condition)) {
    if (ONE_VALUE.has(operator)) out[operator] = operand === null ? null : toDate(operand, [...where, operator]);
    else if (MANY_VALUES.has(operator)) out[operator] = toDates(operand, [...where, operator]);
    else if (operator === '$exists') out[operator] = operand;
    else throw refuse([...where, operator], `${operator} does not apply to a date field`);
  }
  return out;
}

function toDates(operand: unknown, where: string[]): unknown[] {
  if (!Array.isArray(operand)) throw refuse(where, 'must be an array');
  return operand.map((item) => (item === null ? null : toDate(item, where)));
}

function toDate(value: unknown, where: string[]): string {
  const date = canonicalDate(value);
  if (date === undefined) throw refuse(where, 'must be a date (milliseconds or ISO 8601 text)');
  return date;
}

/**
 * `field=value` from a query string, by the field's type (an array's items for an array field, so
 * `tags=x` matches the users holding x). A field whose type is not known matches either reading
 * of the text (`5` as a string or a number).
 */
export function coerceParam(field: string, value: unknown, index: FieldIndex): unknown {
  const schema = scalarOf(fieldAt(index, field));
  const where = ['querystring', field];
  const raw = single(
    value,
    field,
    schema?.type === 'number' || schema?.type === 'integer' || schema?.type === 'boolean' ? schema.type : 'string',
  );
  switch (schema?.type) {
    case 'string':
      return raw;
    case 'date':
      assertDateParam(field, raw);
      return coerceValue(raw, schema, where);
    case 'number':
    case 'integer':
    case 'boolean':
      return coerceValue(raw, schema, where);
    default:
      return eitherReading(raw);
  }
}

/** The pattern the CRUD's querystring schema gives a date field: a date, or a date-time with its zone. */
const DATE_PARAM = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2}))?$/;

function assertDateParam(field: string, raw: string): void {
  if (DATE_PARAM.test(raw)) return;
  const problem = `must match pattern "${DATE_PARAM.source}"`;
  throw badParam(field, problem);
}

function scalarOf(schema: FieldSchema | undefined): FieldSchema | undefined {
  return schema?.type === 'array' ? schema.items : schema;
}

function eitherReading(value: string): unknown {
  const candidates: unknown[] = [value];
  if (value === 'true' || value === 'false') candidates.push(value === 'true');
  else if (value.trim() !== '' && Number.isFinite(Number(value))) candidates.push(Number(value));
  return candidates.length === 1 ? value : { $in: candidates };
}

/**
 * A body value coerced to its schema, deeply (declared properties and array items only; what the
 * schema does not declare is kept as it came). A value that cannot be coerced is a 400 naming it.
 */
export function coerceValue(value: unknown, schema: FieldSchema | undefined, where: string[]): unknown {
  if (!schema || value === null || value === undefined) return value;
  switch (schema.type) {
    case 'number':
    case 'integer':
      return toNumber(value, schema.type, where);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      // ajv's coercion (coerceTypes: true), as the CRUD's schemas read a body: "true"/"false" and 1/0.
      if (value === 'true' || value === 'false') return value === 'true';
      if (value === 1 || value === 0) return value === 1;
      throw refuse(where, 'must be boolean');
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw refuse(where, 'must be string');
    case 'date':
      return toDate(value, where);
    case 'array':
      if (!Array.isArray(value)) throw refuse(where, 'must be array');
      return value.map((item, position) => coerceValue(item, schema.items, [...where, String(position)]));
    case 'object':
      if (!isPlainObject(value)) throw refuse(where, 'must be object');
      return coerceObject(value, schema, where);
    default:
      return value;
  }
}

function toNumber(value: unknown, type: 'number' | 'integer', where: string[]): number {
  const number =
    typeof value === 'number' || typeof value === 'boolean'
      ? Number(value) // ajv coerces true/false to 1/0
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : Number.NaN;
  if (!Number.isFinite(number)) throw refuse(where, `must be ${type}`);
  if (type === 'integer' && !Number.isInteger(number)) throw refuse(where, 'must be integer');
  return number;
}

function coerceObject(value: Record<string, unknown>, schema: FieldSchema, where: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const property = schema.properties?.get(key);
    out[key] = property ? coerceValue(inner, property, [...where, key]) : inner;
  }
  return out;
}

/**
 * The filter of `POST /users/state`, whose field values are coerced as its body schema coerces
 * them (`{"age": "5"}` finds the users aged 5); operator objects keep their operands (dates are
 * cast with the rest of a filter), but not on a declared scalar field, which the schema types.
 */
export function coerceFilterValues(filter: Filter, index: FieldIndex, where: string[]): Filter {
  const out: Filter = {};
  for (const [key, value] of Object.entries(filter)) {
    const isOperators = isPlainObject(value) && Object.keys(value).some((name) => name.startsWith('$'));
    const schema = key === '_id' ? ({ type: 'string' } as const) : fieldAt(index, key);
    if (isOperators && schema && Object.hasOwn(SCALAR_WORDS, schema.type)) {
      // The CRUD's body schema types a declared scalar (and `_id`): an operator object is no value of it.
      throw refuse([...where, key], `must be ${SCALAR_WORDS[schema.type as keyof typeof SCALAR_WORDS]}`);
    }
    if (key.startsWith('$') || isOperators) out[key] = value;
    else out[key] = coerceFilterValue(value, schema, [...where, key]);
  }
  return out;
}

/** How ajv names the JSON type of a scalar field (a date is a string with a format). */
const SCALAR_WORDS = { string: 'string', date: 'string', number: 'number', integer: 'integer', boolean: 'boolean' };

/** An array field compared with one value matches an element: the value then has the items' type. */
function coerceFilterValue(value: unknown, schema: FieldSchema | undefined, where: string[]): unknown {
  if (schema?.type === 'array' && !Array.isArray(value)) return coerceValue(value, schema.items, where);
  const coerced = coerceValue(value, schema, where);
  assertShape(coerced, schema, where);
  return coerced;
}

/**
 * A whole object of a state filter, as the CRUD's body schema checks it (changeStateBulk "filter on
 * RawObject"): its required properties first, then no undeclared one where the schema allows none.
 */
function assertShape(value: unknown, schema: FieldSchema | undefined, where: string[]): void {
  if (schema?.type === 'array' && Array.isArray(value)) {
    value.forEach((item, position) => assertShape(item, schema.items, [...where, String(position)]));
  }
  if (schema?.type !== 'object' || !isPlainObject(value)) return;
  const missing = schema.required?.find((name) => !Object.hasOwn(value, name));
  if (missing !== undefined) throw refuse(where, `must have required property '${missing}'`);
  const extra = schema.closed ? Object.keys(value).find((name) => !schema.properties?.has(name)) : undefined;
  if (extra !== undefined) {
    throw refuse(where, `must NOT have additional properties. Property "${extra}" is not defined in validation schema`);
  }
  for (const [name, inner] of Object.entries(value)) assertShape(inner, schema.properties?.get(name), [...where, name]);
}

export function refuse(where: string[], problem: string): InvalidInputError {
  return new InvalidInputError(`${where.join('/')} ${problem}`, [{ path: where, message: problem }]);
}

/**
 * A document with every date field (by the index) in canonical form, as the CRUD stores a Date:
 * `2030-01-01T10:00+05:00` is kept as `2030-01-01T05:00:00.000Z`, so it compares and sorts as
 * the instant it is. A value that is no date is kept as it came (the group schema judges it).
 */
export function canonicalDates<T extends Record<string, unknown>>(doc: T, index: FieldIndex): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(doc)) out[key] = canonicalValue(doc[key], index.get(key));
  return out as T;
}

/** A field's value with its dates canonical, by the field's schema (the value itself when it has none). */
export function canonicalValue(value: unknown, schema: FieldSchema | undefined): unknown {
  if (!schema || value === null || value === undefined) return value;
  if (schema.type === 'date') return canonicalDate(value) ?? value;
  if (schema.type === 'array' && Array.isArray(value)) return value.map((item) => canonicalValue(item, schema.items));
  if (schema.type === 'object' && isPlainObject(value) && schema.properties?.size) {
    const out = Object.create(null) as Record<string, unknown>; // a key named `__proto__` stays a key
    for (const [key, inner] of Object.entries(value)) out[key] = canonicalValue(inner, schema.properties.get(key));
    return out;
  }
  return value;
}
