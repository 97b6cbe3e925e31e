/**
 * The CRUD Service's casts, projections and sort order for its emulator, written from the CRUD
 * Service's own behaviour (crud-service 7.2.5: lib/QueryParser.js, lib/projectionUtils.js, and
 * MongoDB's rules): test code, kept apart from the product's own implementation so that the
 * conformance tests compare two independent readings of the same rules.
 */

import { Context, Query } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import { evalExpr } from 'mingo/core';
import * as accumulator from 'mingo/operators/accumulator';
import * as expression from 'mingo/operators/expression';
import * as pipeline from 'mingo/operators/pipeline';
import * as projection from 'mingo/operators/projection';
import * as query from 'mingo/operators/query';
import type { Options } from 'mingo/types';

/** A field's type as a collection declares it; dotted paths name nested fields, `path.__items` an array's items. */
export type FieldType = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'date';
export type Types = Record<string, FieldType>;
export type Json = Record<string, unknown>;

export class CrudError extends Error {
  constructor(message: string) {
    super(message);
  }
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `field-a.2.message` is typed as `field-a.message` (the CRUD drops index segments). */
export function typeOf(types: Types, path: string): FieldType | undefined {
  const key = path
    .split('.')
    .filter((chunk) => !/^\d+$/.test(chunk))
    .join('.');
  return Object.hasOwn(types, key) ? types[key] : undefined;
}

/** `new Date(value)` on a number or a string, as the CRUD's castDate; kept as the ISO text MongoDB answers. */
export function castDate(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value === 'number' || typeof value === 'string') {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  throw new CrudError('Invalid Date');
}

/** The CRUD's traverse of a query: date fields' values cast (`$in` lists included); unknown operators refused. */
export function castQuery(query: Json, types: Types): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(query)) {
    if (key === '_id') castToObjectIds(value);
    if (!key.startsWith('$') && isObject(value)) assertSupported(value, typeOf(types, key));
    if (key === '$and' || key === '$or') {
      out[key] = (value as Json[]).map((inner) => castQuery(inner, types));
    } else if (key.startsWith('$')) {
      out[key] = value;
    } else if (typeOf(types, key) !== 'date') {
      out[key] = value;
    } else if (!isObject(value)) {
      out[key] = castDate(value);
    } else {
      const condition: Json = {};
      for (const [operator, operand] of Object.entries(value)) {
        if (['$in', '$nin', '$all'].includes(operator)) {
          if (!Array.isArray(operand)) throw new CrudError(`querystring/_q/${key}/${operator} must be array`);
          condition[operator] = operand.map(castDate);
        } else if (operator === '$exists') condition[operator] = operand;
        else if (['$gt', '$gte', '$lt', '$lte', '$eq', '$ne'].includes(operator)) condition[operator] = castDate(operand);
        else throw new CrudError(`Unsupported operator: ${operator} for Date field`);
      }
      out[key] = condition;
    }
  }
  return out;
}

/** QueryParser's traverseOperatorFunctions: each operator's cast lists the field types it takes (`supportedTypes`). */
const SUPPORTED: Record<string, FieldType[]> = {
  $gt: ['string', 'number', 'boolean', 'date'],
  $eq: ['string', 'number', 'boolean', 'date', 'array'],
  $in: ['string', 'number', 'boolean', 'date', 'array'],
  $exists: ['string', 'number', 'boolean', 'date', 'array', 'object'],
  $elemMatch: ['array'],
};
for (const operator of ['$lt', '$gte', '$lte', '$ne', '$regex', '$options']) SUPPORTED[operator] = SUPPORTED.$gt!;
for (const operator of ['$nin', '$all']) SUPPORTED[operator] = SUPPORTED.$in!;
SUPPORTED.$size = SUPPORTED.$elemMatch!;
const CRUD_NAMES: Record<FieldType, string> = {
  string: 'string',
  number: 'number',
  boolean: 'boolean',
  date: 'Date',
  array: 'Array',
  object: 'RawObject',
};

/** QueryParser's traverse on a condition: list operands are arrays; on a typed field, a plain key only on arrays and objects, operators by type. */
function assertSupported(condition: Json, type: FieldType | undefined): void {
  for (const operator of ['$in', '$nin', '$all']) {
    // callCastFunctionOnArray maps the operand, whatever the field's type; its TypeError is the 400's message.
    if (Object.hasOwn(condition, operator) && !Array.isArray(condition[operator])) throw new CrudError('array.map is not a function');
  }
  if (!type) return;
  for (const operator of Object.keys(condition)) {
    if (!operator.startsWith('$')) {
      if (type !== 'array' && type !== 'object') throw new CrudError(`Unsupported operator: ${operator}`);
    } else if (SUPPORTED[operator] && !SUPPORTED[operator].includes(type)) {
      throw new CrudError(`Unsupported operator: ${operator} for ${CRUD_NAMES[type]} field`);
    }
  }
}

/** QueryParser's castToObjectId on an `_id` condition: 24 hex characters or null; `$exists` is not cast. */
function castToObjectIds(condition: unknown): void {
  const operands = isObject(condition)
    ? Object.entries(condition)
        .filter(([operator]) => operator !== '$exists')
        .flatMap(([, operand]) => (Array.isArray(operand) ? operand : [operand]))
    : [condition];
  for (const id of operands) if (id !== null && !(typeof id === 'string' && OBJECT_ID.test(id))) throw new CrudError('Invalid objectId');
}

/** The querystring schema's pattern for `_id` (and what an ObjectId accepts). */
export const OBJECT_ID = /^[a-fA-F\d]{24}$/;

/** A query-string value as the route's querystring schema coerces it (an array field takes its items' type). */
export function castParam(types: Types, field: string, raw: string): unknown {
  let type = typeOf(types, field);
  if (type === 'array') type = typeOf(types, `${field}.__items`);
  else if (type === undefined && /\.\d+$/.test(field)) type = typeOf(types, `${field.replace(/\.\d+$/, '')}.__items`);
  // The querystring schema's pattern for a date field (JSONSchemaGenerator), before any cast.
  const datePattern = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2}))?$/;
  if (type === 'date' && !datePattern.test(raw)) throw new CrudError(`querystring/${field} must match pattern "${datePattern.source}"`);
  return coerce(raw, type, `querystring/${field}`);
}

export function coerce(value: unknown, type: FieldType | undefined, where: string): unknown {
  if (value === null || value === undefined) return value;
  if (type === 'number') {
    // ajv (coerceTypes: true): a numeric text, or true/false as 1/0.
    const number =
      typeof value === 'number' || typeof value === 'boolean'
        ? Number(value)
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value)
          : NaN;
    if (!Number.isFinite(number)) throw new CrudError(`${where} must be number`);
    return number;
  }
  if (type === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    if (value === 1 || value === 0) return value === 1;
    throw new CrudError(`${where} must be boolean`);
  }
  if (type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  if (type === 'date') {
    try {
      return castDate(value);
    } catch {
      throw new CrudError(`${where} must match format "date-time"`);
    }
  }
  return value;
}

/** A body value at `path` coerced by the declared types below it (undeclared parts kept as they are). */
export function coerceAt(value: unknown, path: string, types: Types, where: string): unknown {
  const type = typeOf(types, path);
  // `tagIds.0`: an element of an array of scalars takes the items' type.
  if (type === 'array' && /\.\d+$/.test(path)) return coerceItem(value, path.replace(/\.\d+$/, ''), types, where);
  if (Array.isArray(value)) {
    if (type !== undefined && type !== 'array') throw new CrudError(`${where} must be ${type}`);
    return value.map((item) => coerceItem(item, path, types, where));
  }
  if (isObject(value) && type !== 'date') {
    if (type !== undefined && type !== 'object' && type !== 'array') throw new CrudError(`${where} must be ${type}`);
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, coerceAt(inner, `${path}.${key}`, types, where)]));
  }
  if (type === 'array' || type === 'object') return value;
  return coerce(value, type, where);
}

/** An element of the array at `path`: the `__items` type, or the fields declared under the path. */
export function coerceItem(item: unknown, path: string, types: Types, where: string): unknown {
  const items = typeOf(types, `${path}.__items`);
  if (items) return coerce(item, items, where);
  if (isObject(item)) {
    return Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, coerceAt(inner, `${path}.${key}`, types, where)]));
  }
  return item;
}

/** MongoDB's inclusion projection of dotted paths: arrays of objects projected element by element. */
export function project(doc: Json, fields: string[], filter: Json = {}): Json {
  const out: Json = { _id: doc._id };
  for (const field of fields) {
    // `a.$`: MongoDB's positional projection, the first element of `a` the query matched.
    if (/^[^$]+\.\$$/.test(field)) Object.assign(out, new Query(filter).find([doc], { _id: 0, [field]: 1 }).all()[0] ?? {});
    else merge(out, pick(doc, field.split('.')));
  }
  return out;
}

function pick(value: unknown, path: string[]): Json {
  const [head, ...rest] = path;
  if (!isObject(value) || !Object.hasOwn(value, head!)) return {};
  const inner = value[head!];
  if (rest.length === 0) return { [head!]: inner };
  if (Array.isArray(inner)) return { [head!]: inner.filter(isObject).map((item) => pick(item, rest)) };
  return isObject(inner) ? { [head!]: pick(inner, rest) } : {};
}

function merge(target: Json, source: Json): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (Array.isArray(existing) && Array.isArray(value)) value.forEach((item, at) => merge(existing[at] as Json, item as Json));
    else if (isObject(existing) && isObject(value)) merge(existing, value);
    else target[key] = value;
  }
}

/** `_rawp` resolved as crud-service's projectionUtils resolves it: a MongoDB projection object, or its 400. */
export type RawProjection = { include: string[]; withoutId?: boolean } | { exclude: string[] } | { expression: Json };

const RAW_ALLOWED_OPERATORS = new Set(
  (
    '$eq $gt $gte $in $lt $lte $ne $nin $and $not $nor $or $exists $type $cond $regexMatch $mod $all $elemMatch $size ' +
    '$filter $reduce $concatArrays $first $map $dateToString'
  ).split(' '),
);
const RAW_NOT_ALLOWED = new Set(['$$ROOT', '$$CURRENT', '$$PRUNE', '$$DESCEND', '$$KEEP', '$$CLUSTER_TIME', '$$REMOVE', '$$NOW']);

export function rawProjectionOf(
  rawp: string | null,
  p: string | null,
  aclReadColumns: unknown,
  topFields: string[],
): RawProjection | undefined {
  if (!rawp) return undefined;
  if (p) throw new CrudError('Use of both _rawp and _p parameter is not allowed');
  const acl =
    typeof aclReadColumns === 'string'
      ? aclReadColumns
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
      : [];
  const fields = acl.length > 0 ? acl : topFields;
  for (const match of rawp.match(/\${1,2}[a-zA-Z_0-9-]+/g) ?? []) {
    const refused = match.startsWith('$$')
      ? RAW_NOT_ALLOWED.has(match)
      : !RAW_ALLOWED_OPERATORS.has(match) && !fields.includes(match.slice(1));
    if (refused) throw new CrudError(`Operator ${match} is not allowed in raw projection`);
  }
  let projection: Json;
  try {
    projection = JSON.parse(rawp) as Json;
  } catch (error) {
    throw new CrudError(String(error));
  }
  if (Object.entries(projection).some(([field, value]) => acl.includes(field) && value === 0)) {
    throw new CrudError('_rawp exclusive projection is overriding at least one acl_read_column value');
  }
  const kept = Object.entries(projection).filter(([field, value]) => (acl.length === 0 || acl.includes(field)) && value != null);
  if (kept.length === 0) return { include: [] };
  // Expressions and values (`{"$first": …}`, `"$price"`): MongoDB's inclusion kind, evaluated by mingo as MongoDB would.
  if (kept.some(([, value]) => typeof value !== 'number' && typeof value !== 'boolean')) {
    if (kept.some(([field, value]) => field !== '_id' && (value === 0 || value === false)))
      throw new Error('Cannot do exclusion on field in inclusion projection');
    return { expression: Object.fromEntries(kept) };
  }
  const isExcluded = (value: unknown) => value === 0 || value === false;
  // MongoDB takes `_id` either way in either kind: the other names decide the kind.
  const others = kept.filter(([field]) => field !== '_id');
  const idExcluded = kept.some(([field, value]) => field === '_id' && isExcluded(value));
  const excluded = others.filter(([, value]) => isExcluded(value)).map(([field]) => field);
  if (excluded.length === others.length && (others.length > 0 || idExcluded))
    return { exclude: idExcluded ? ['_id', ...excluded] : excluded };
  // MongoDB fails a projection mixing both (the CRUD's 500), `_id` aside.
  if (excluded.length > 0) throw new Error('Cannot do exclusion on field in inclusion projection');
  return { include: others.map(([field]) => field), ...(idExcluded ? { withoutId: true } : {}) };
}

/** MongoDB's exclusion projection: the document without the paths named (dotted paths through objects and arrays). */
export function exclude(doc: Json, paths: string[]): Json {
  const out = structuredClone(doc);
  const drop = (value: unknown, path: string[]): void => {
    if (Array.isArray(value)) return value.forEach((item) => drop(item, path));
    if (!isObject(value)) return;
    const [head, ...rest] = path;
    if (rest.length === 0) delete value[head!];
    else drop(value[head!], rest);
  };
  for (const path of paths) drop(out, path.split('.'));
  return out;
}

/** `_p` and the acl_read_columns header: the fields to return, or undefined for all. */
export function projectionOf(p: string | null, aclReadColumns: unknown): string[] | undefined {
  const split = (text: string) =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const acl = typeof aclReadColumns === 'string' ? split(aclReadColumns) : [];
  const wanted = p ? split(p) : [];
  if (acl.length === 0) return wanted.length ? wanted : undefined;
  // Without `_p`: the collection's field names (top-level) that the header names (projectionUtils removeDisallowedFields).
  return wanted.length ? wanted.filter((field) => acl.includes(field)) : acl.filter((field) => !field.includes('.'));
}

/** MongoDB's sort: an array sorts by its smallest element ascending, its largest descending; BSON type order. */
export function compareDocs(a: Json, b: Json, keys: string[]): number {
  for (const key of keys) {
    const descending = key.startsWith('-');
    const field = descending ? key.slice(1) : key;
    const [x, y] = [sortValue(a, field, descending), sortValue(b, field, descending)];
    const order = bsonCompare(x, y);
    if (order !== 0) return descending ? -order : order;
  }
  return 0;
}

function sortValue(doc: Json, field: string, descending: boolean): unknown {
  const values = collect(doc, field.split('.'));
  if (values.length === 0) return null;
  return values.reduce((best, value) => ((descending ? bsonCompare(value, best) > 0 : bsonCompare(value, best) < 0) ? value : best));
}

function collect(value: unknown, path: string[]): unknown[] {
  if (path.length === 0) return Array.isArray(value) ? value : [value];
  if (Array.isArray(value)) return value.flatMap((item) => collect(item, path));
  if (!isObject(value) || !Object.hasOwn(value, path[0]!)) return [];
  return collect(value[path[0]!], path.slice(1));
}

const BSON_ORDER = (value: unknown) =>
  value === null || value === undefined
    ? 0
    : typeof value === 'number'
      ? 1
      : typeof value === 'string'
        ? 2
        : Array.isArray(value)
          ? 4
          : typeof value === 'object'
            ? 3
            : 5;

function bsonCompare(x: unknown, y: unknown): number {
  const [rx, ry] = [BSON_ORDER(x), BSON_ORDER(y)];
  if (rx !== ry) return rx - ry;
  if (rx === 3 || rx === 4) return JSON.stringify(x).localeCompare(JSON.stringify(y));
  return x === y ? 0 : (x as number) < (y as number) ? -1 : 1;
}

/** The type declared at an update's path: `a.0` is an element of the array `a`, of its items' type (none for objects). */
function declaredAt(types: Types, path: string): FieldType | undefined {
  const type = typeOf(types, path);
  return type === 'array' && /\.\d+$/.test(path) ? typeOf(types, `${path.replace(/\.\d+$/, '')}.__items`) : type;
}

/** The types an update operator needs, checked by the declared type, else by the value in the document. */
export function checkUpdate(doc: Json, body: Json, types: Types): void {
  for (const [operator, fields] of Object.entries(body)) {
    for (const path of Object.keys(fields as Json)) {
      const declared = declaredAt(types, path);
      const current = collect(doc, path.split('.'));
      const value = path.split('.').reduce<unknown>((at, key) => (isObject(at) || Array.isArray(at) ? (at as Json)[key] : undefined), doc);
      const fail = () => {
        throw new CrudError(`body/${operator}/${path}: ${operator} does not apply to this field`);
      };
      if (['$push', '$addToSet', '$pull'].includes(operator)) {
        if ((declared && declared !== 'array') || (value !== undefined && value !== null && !Array.isArray(value))) fail();
      } else if (['$inc', '$mul'].includes(operator)) {
        if ((declared && declared !== 'number') || (value !== undefined && value !== null && typeof value !== 'number')) fail();
      } else if (operator === '$currentDate') {
        const isDate = typeof value === 'string' && !Number.isNaN(Date.parse(value)) && current.length > 0;
        if ((declared && declared !== 'date') || (value !== undefined && value !== null && !isDate)) fail();
      }
    }
  }
}

/** MongoDB's "Use of undefined variable": a `$$name` outside the `$filter`/`$map`/`$reduce` that binds it (mingo gives `$$this` the document). */
function assertVariablesBound(value: unknown, bound: string[] = []): void {
  if (typeof value === 'string' && value.startsWith('$$')) {
    const name = value.slice(2).split('.')[0]!;
    if (!bound.includes(name) && !['ROOT', 'CURRENT', 'NOW', 'REMOVE'].includes(name))
      throw new Error(`Use of undefined variable: ${name}`);
  } else if (Array.isArray(value)) value.forEach((item) => assertVariablesBound(item, bound));
  else if (isObject(value)) {
    for (const [key, inner] of Object.entries(value)) {
      if (!['$filter', '$map', '$reduce'].includes(key) || !isObject(inner)) {
        assertVariablesBound(inner, bound);
        continue;
      }
      const names = key === '$reduce' ? ['this', 'value'] : [typeof inner.as === 'string' ? inner.as : 'this'];
      for (const [part, operand] of Object.entries(inner))
        assertVariablesBound(operand, ['cond', 'in'].includes(part) ? [...bound, ...names] : bound);
    }
  }
}

type Operator = (obj: unknown, expr: unknown, options: Options) => unknown;
/**
 * mingo's operators, but `$dateToString` as MongoDB's: mingo evaluates the date it computed again,
 * as an expression (a name `"$createdAt"` answered the field `createdAt`); MongoDB takes a date only.
 */
const expressions: Record<string, unknown> = {
  ...expression,
  $umsComputed: (_obj: unknown, value: unknown) => value,
  $dateToString: (obj: unknown, expr: unknown, options: Options) => {
    const args = evalExpr(obj, expr, options) as Json;
    if (args.date !== null && args.date !== undefined && !(args.date instanceof Date))
      throw new Error("can't convert from BSON type string to Date");
    const computed = Object.fromEntries(Object.entries(args).map(([key, value]) => [key, { $umsComputed: value }]));
    return (expression.$dateToString as Operator)(obj, computed, options);
  },
};
const PROJECTION_CONTEXT = Context.init({ accumulator, pipeline, projection, query, expression: expressions } as Parameters<
  typeof Context.init
>[0]);

/** MongoDB's refusal of a field path with an empty name: mingo reads `"$"` as the whole document. */
function assertFieldPaths(value: unknown): void {
  if (typeof value === 'string' && value.startsWith('$') && !value.startsWith('$$') && value.slice(1).split('.').includes(''))
    throw new Error(`Invalid field path ${value}`);
  if (Array.isArray(value)) value.forEach(assertFieldPaths);
  else if (value !== null && typeof value === 'object') Object.values(value).forEach(assertFieldPaths);
}

/** MongoDB's find projection with expressions (mingo's `$project`), the date fields read as the dates MongoDB holds. */
export function projectExpression(doc: Json, spec: Json, types: Types): Json {
  assertVariablesBound(spec);
  assertFieldPaths(spec);
  const input = Object.fromEntries(
    Object.entries(doc).map(([key, value]) => [key, types[key] === 'date' && typeof value === 'string' ? new Date(value) : value]),
  );
  const [out] = new Aggregator([{ $project: spec }], { context: PROJECTION_CONTEXT }).run([input]) as Json[];
  const written = JSON.parse(JSON.stringify(out)) as Json;
  return Object.hasOwn(written, '_id') ? { _id: written._id, ...written } : written;
}
