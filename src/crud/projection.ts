import { type Filter, isPlainObject } from './filter.js';
import { POSITIONAL } from './query-params.js';
import type { Query } from 'mingo/query';
import { createLinearQuery } from './regex.js';
import { InvalidInputError } from '../errors.js';

/**
 * `_p` as MongoDB applies an inclusion projection: `_id` always; `a.b` keeps `b` of the object at
 * `a` (an empty object when `a` has no `b`), of every object in an array at `a` (elements that are
 * not objects are left out), and nothing when `a` holds a scalar. Own properties only.
 */
export function projectDoc(doc: Record<string, unknown>, fields: readonly string[], filter?: Filter): Record<string, unknown> {
  return projector(fields, filter)(doc);
}

/** `projectDoc` for many documents: the fields are read once, not once per document. */
export function projector(fields: readonly string[], filter?: Filter): (doc: Record<string, unknown>) => Record<string, unknown> {
  const paths = fields.filter((field) => !POSITIONAL.test(field)).map((field) => field.split('.'));
  const positionals = fields.filter((field) => POSITIONAL.test(field));
  assertPositionalsMatched(positionals, filter ?? {});
  // The filter's query, built once for the page: it finds the element each positional field keeps.
  const query = positionals.length > 0 ? createLinearQuery(filter ?? {}) : undefined;
  return (doc) => {
    const out: Record<string, unknown> = { _id: doc._id, ...include(doc, paths) };
    for (const field of positionals) Object.assign(out, positional(doc, field, query!));
    return out;
  };
}

/**
 * `a.$`: the array at `a` cut to its first element the filter's condition on `a` matched, as
 * MongoDB projects it (mingo, with `$regex` on RE2). When a user's array had no matched element (no
 * condition on `a` in the query), MongoDB fails the whole query (the CRUD's 500): here a 400 says why.
 */
function positional(doc: Record<string, unknown>, field: string, query: Query): Record<string, unknown> {
  const [projected] = query.find([doc], { _id: 0, [field]: 1 }).all() as Record<string, unknown>[];
  const path = field.split('.').slice(0, -1);
  const array = path.reduce<unknown>(
    (value, key) => (isPlainObject(value) && Object.hasOwn(value, key) ? value[key] : undefined),
    projected,
  );
  if (Array.isArray(array) && array.some((item) => item === null || item === undefined)) {
    const problem = `needs a condition in _q that an element of ${path.join('.')} matches`;
    throw new InvalidInputError(`querystring/_p ${field} ${problem}`, [{ path: ['querystring', '_p'], message: problem }]);
  }
  return projected ?? {};
}

/**
 * MongoDB refuses `a.$` before it reads a document unless a condition of the query, at any depth
 * of `$and`/`$or`/`$nor`, is on a path whose first name is `a`'s (its "Positional projection does
 * not match the query document": the CRUD's 500). Here a 400, in both modes; with no condition at
 * all mingo failed on the empty query (a 500 of the embedded store).
 */
export function assertPositionalsMatched(positionals: readonly string[], filter: Filter): void {
  if (positionals.length === 0) return;
  const heads = new Set<string>();
  collectHeads(filter, heads);
  for (const field of positionals) {
    const path = field.split('.').slice(0, -1);
    if (heads.has(path[0]!)) continue;
    const problem = `needs a condition in _q that an element of ${path.join('.')} matches`;
    throw new InvalidInputError(`querystring/_p ${field} ${problem}`, [{ path: ['querystring', '_p'], message: problem }]);
  }
}

const LOGICAL = new Set(['$and', '$or', '$nor']);

function collectHeads(filter: unknown, heads: Set<string>): void {
  if (!isPlainObject(filter)) return;
  for (const [key, value] of Object.entries(filter)) {
    if (LOGICAL.has(key) && Array.isArray(value)) value.forEach((part) => collectHeads(part, heads));
    else if (!key.startsWith('$')) heads.add(key.split('.')[0]!);
  }
}

function include(source: Record<string, unknown>, paths: string[][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byHead = new Map<string, string[][]>();
  for (const [head, ...rest] of paths) {
    const group = byHead.get(head!) ?? [];
    group.push(rest);
    byHead.set(head!, group);
  }
  for (const [head, rests] of byHead) {
    if (!Object.hasOwn(source, head)) continue;
    const value = source[head];
    // `a` and `a.b` together: `a` whole wins, as in MongoDB (which refuses the pair; the CRUD's `_p` keeps `a`).
    if (rests.some((rest) => rest.length === 0)) {
      out[head] = value;
      continue;
    }
    const projected = descend(value, rests);
    if (projected !== undefined) out[head] = projected;
  }
  return out;
}

function descend(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) {
    return value.filter((item) => isPlainObject(item) || Array.isArray(item)).map((item) => descend(item, paths));
  }
  return isPlainObject(value) ? include(value, paths) : undefined;
}

/**
 * The fields to return given `_p` and the `acl_read_columns` header (a comma-separated list), as
 * the CRUD resolves them: no `_p` (or an empty one) means every field, the header keeps only the
 * fields it names (without `_p`, only top-level names count). Undefined: every field; empty: `_id` alone.
 */
export function readableFields(projection: readonly string[] | undefined, aclReadColumns: string | undefined): string[] | undefined {
  const allowed = splitColumns(aclReadColumns);
  if (allowed.length === 0) return projection && projection.length > 0 ? [...projection] : undefined;
  // Without `_p` the CRUD keeps its collection's (top-level) field names the header names: a dotted name matches none.
  if (!projection || projection.length === 0) return allowed.filter((field) => !field.includes('.'));
  return projection.filter((field) => allowed.includes(field));
}

function splitColumns(value: string | undefined): string[] {
  return value
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : [];
}

/**
 * MongoDB's exclusion projection (`_rawp` of zeros): the document without the paths named; a dotted
 * path goes through objects and into each object of an array. The document is not changed.
 */
export function excludeFields<T extends Record<string, unknown>>(doc: T, paths: readonly string[]): Record<string, unknown> {
  const out = structuredClone(doc) as Record<string, unknown>;
  const drop = (value: unknown, path: string[]): void => {
    if (Array.isArray(value)) return value.forEach((item) => drop(item, path));
    if (!isPlainObject(value)) return;
    const [head, ...rest] = path;
    if (!Object.hasOwn(value, head!)) return;
    if (rest.length === 0) delete value[head!];
    else drop(value[head!], rest);
  };
  for (const path of paths) drop(out, path.split('.'));
  return out;
}

/** A document as the caller may read it (the `acl_read_columns` header); the whole document without it. */
export function readableDoc<T extends Record<string, unknown>>(doc: T, aclReadColumns: string | undefined): Record<string, unknown> {
  const fields = readableFields(undefined, aclReadColumns);
  return fields ? projectDoc(doc, fields) : doc;
}

/** A document without its `_id` (`_rawp` with `_id: 0` among inclusions). */
export function withoutId(doc: Record<string, unknown>): Record<string, unknown> {
  const { _id: _dropped, ...rest } = doc;
  return rest;
}
