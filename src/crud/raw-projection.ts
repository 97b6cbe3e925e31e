import { InvalidInputError } from '../errors.js';
import type { FieldIndex } from './field-types.js';
import { isPlainObject } from './filter.js';
import { checkProjectedField, single, splitList } from './query-params.js';
import { assertFieldPaths, assertVariablesBound, checkExpressions, RAW_PROJECTION_DICTIONARY } from './raw-expressions.js';

/**
 * `_rawp`, the CRUD's raw MongoDB projection (crud-service 7.2.5 lib/projectionUtils.js), as far as
 * the service answers it itself (the embedded store's lists, and `GET /users/:id` in both modes):
 * plain inclusions (`{"price": 1, "attachments.name": true}`), turned into the field list `_p`
 * would give (`_id` alone when nothing is kept), and plain exclusions (`{"price": 0}`), every field
 * but those; `_id` may be either in either kind, as MongoDB takes it. The CRUD's own refusals come
 * first, in its words: `_rawp` with `_p`, an operator off its dictionary, an exclusion of a field
 * `acl_read_columns` lists. Aggregation expressions are evaluated by raw-expressions.ts within its
 * bounds (docs/decisions.md, "CRUD fidelity, round four" and "round five").
 */

const NOT_ALLOWED_VARIABLES = new Set(['$$ROOT', '$$CURRENT', '$$PRUNE', '$$DESCEND', '$$KEEP', '$$CLUSTER_TIME', '$$REMOVE', '$$NOW']);
/** The CRUD's `fieldVarOrOperatorsRegex`: operators, system variables and field references, read in the raw text. */
const OPERATOR_OR_VARIABLE = /\${1,2}[a-zA-Z_0-9-]+/g;

const badRequest = (message: string) => new InvalidInputError(message, [{ path: ['querystring', '_rawp'], message }]);

/** The fields `_rawp` keeps, or undefined without `_rawp` (then `_p` applies). */
export function parseRawProjection(
  query: Record<string, unknown>,
  { index, aclReadColumns }: { index?: FieldIndex; aclReadColumns?: string },
): { projection: string[]; withoutId?: true } | { exclusion: string[] } | { expression: Record<string, unknown> } | undefined {
  if (query._rawp === undefined) return undefined;
  const text = single(query._rawp, '_rawp');
  // The CRUD tests both for truth: an empty one is absent.
  if (text === '') return undefined;
  if (typeof query._p === 'string' && query._p !== '') throw badRequest('Use of both _rawp and _p parameter is not allowed');
  const acls = aclReadColumns ? splitList(aclReadColumns) : [];
  checkRawNames(text);
  for (const match of text.match(OPERATOR_OR_VARIABLE) ?? []) {
    if (match.startsWith('$$')) {
      if (NOT_ALLOWED_VARIABLES.has(match)) throw badRequest(`Operator ${match} is not allowed in raw projection`);
    } else if (!RAW_PROJECTION_DICTIONARY.has(match) && !isFieldReference(match.slice(1), acls, index)) {
      throw badRequest(`Operator ${match} is not allowed in raw projection`);
    }
  }
  let projection: unknown;
  try {
    projection = JSON.parse(text);
  } catch {
    throw badRequest('querystring/_rawp must be a JSON object');
  }
  if (!isPlainObject(projection)) throw badRequest('querystring/_rawp must be a JSON object');
  // The header's names are looked up as the object's own keys only (`constructor` names no field here).
  const excludes = (field: string) => Object.hasOwn(projection, field) && (projection[field] === 0 || projection[field] === false);
  if (acls.some(excludes)) {
    throw badRequest('_rawp exclusive projection is overriding at least one acl_read_column value');
  }
  // The CRUD keeps the names acl_read_columns lists (all of them without the header) and drops null values.
  const kept = flattened(
    Object.entries(projection).filter(([field, value]) => (acls.length === 0 || acls.includes(field)) && value != null),
  );
  if (kept.some(([, value]) => typeof value !== 'number' && typeof value !== 'boolean'))
    return expressionProjection(kept, (name) => isFieldReference(name, acls, index));
  // Nothing left: `_id` alone, as a projection of `_id` (an empty list would be every field).
  if (kept.length === 0) return { projection: ['_id'] };
  const isExcluded = ([, value]: [string, unknown]) => value === 0 || value === false;
  // MongoDB takes `_id` either way in either kind of projection: the other names decide the kind.
  const id = kept.find(([field]) => field === '_id');
  const others = kept.filter(([field]) => field !== '_id');
  const excluded = others.filter(isExcluded);
  // MongoDB's exclusion: every field but those named (only without acl_read_columns, whose names are kept as inclusions).
  if (excluded.length === others.length && (others.length > 0 || (id && isExcluded(id)))) {
    const names = (id && isExcluded(id) ? [id, ...excluded] : excluded).map(([field]) => checkProjectedField(field));
    return { exclusion: names };
  }
  const mixed = others.find((entry) => isExcluded(entry));
  if (excluded.length > 0) throw badRequest(`querystring/_rawp: Cannot do exclusion on field ${mixed![0]} in inclusion projection`);
  const included = others.map(([field]) => checkProjectedField(field));
  // `_id: 0` among inclusions: MongoDB's only exclusion there.
  if (id && isExcluded(id)) return { projection: included.length > 0 ? included : ['_id'], withoutId: true };
  return { projection: included.length > 0 ? included : ['_id'] };
}

/**
 * What MongoDB refuses in a `_rawp` the CRUD passes on (its 500), judged before a list is passed
 * on, on what the CRUD keeps of it (the names acl_read_columns lists, null values dropped): a mix
 * of exclusions and inclusions or expressions (`_id` aside), an empty sub-projection, a variable
 * nothing binds, a field path with an empty name (`"$"`, `"$a."`). A 400 in MongoDB's words, as
 * the service answers these itself. Text that is no JSON object, and the CRUD's own refusals, are
 * left to the CRUD.
 */
export function checkPassedRawProjection(text: string, aclReadColumns: string | undefined): void {
  checkRawNames(text);
  let projection: unknown;
  try {
    projection = JSON.parse(text);
  } catch {
    return;
  }
  if (!isPlainObject(projection)) return;
  const acls = aclReadColumns ? splitList(aclReadColumns) : [];
  // The CRUD's own 400 (an exclusion of a name the header lists) comes first: left to it.
  if (acls.some((field) => Object.hasOwn(projection, field) && projection[field] === 0)) return;
  const kept = flattened(
    Object.entries(projection).filter(([field, value]) => (acls.length === 0 || acls.includes(field)) && value != null),
  );
  const isExcluded = (value: unknown) => value === 0 || value === false;
  const others = kept.filter(([field]) => field !== '_id');
  const expression = kept.some(([, value]) => typeof value !== 'number' && typeof value !== 'boolean');
  const excluded = others.find(([, value]) => isExcluded(value));
  if (excluded && (expression || others.some(([, value]) => !isExcluded(value))))
    throw badRequest(`querystring/_rawp: Cannot do exclusion on field ${excluded[0]} in inclusion projection`);
  if (!expression) return;
  assertVariablesBound(Object.fromEntries(kept));
  assertFieldPaths(Object.fromEntries(kept));
}

/**
 * MongoDB's sub-projections as the dotted paths they stand for (`{"a": {"b": 1}}` is `a.b`); an
 * object with an operator (`{"$first": …}`) is an expression and stays whole.
 */
function flattened(entries: [string, unknown][], prefix = ''): [string, unknown][] {
  return entries.flatMap(([field, value]): [string, unknown][] => {
    const path = `${prefix}${field}`;
    if (!isPlainObject(value) || Object.keys(value).some((key) => key.startsWith('$'))) return [[path, value]];
    if (Object.keys(value).length === 0) throw badRequest(`querystring/_rawp: An empty sub-projection is not a valid value (${path})`);
    return flattened(Object.entries(value), `${path}.`);
  });
}

/**
 * A projection with expressions (or values, `"$price"`, `"text"`): MongoDB's inclusion kind, whose
 * only exclusion may be `_id`; evaluated by raw-expressions.ts within its bounds.
 */
function expressionProjection(kept: [string, unknown][], isField: (name: string) => boolean): { expression: Record<string, unknown> } {
  const excluded = kept.find(([field, value]) => field !== '_id' && (value === 0 || value === false));
  if (excluded) throw badRequest(`querystring/_rawp: Cannot do exclusion on field ${excluded[0]} in inclusion projection`);
  const expression = Object.fromEntries(kept.map(([field, value]) => [checkProjectedField(field), value]));
  checkExpressions(expression, isField);
  return { expression };
}

/** `$price` refers to a field: one acl_read_columns lists, else one the collection declares (its top-level names). */
function isFieldReference(name: string, acls: string[], index: FieldIndex | undefined): boolean {
  return acls.length > 0 ? acls.includes(name) : (index?.has(name) ?? false);
}

/**
 * `_rawp` naming, through a JSON escape (`"\u0024email"`, `"$\u0024ROOT"`), an operator, a
 * variable or a field the CRUD's check of its raw text does not see: MongoDB reads the parsed
 * name, so a hidden field or `$$ROOT` would pass around `acl_read_columns`. Refused in both modes
 * (the service answers such a projection itself too). Text that is no JSON is left to the reader.
 */
export function checkRawNames(text: string): void {
  if (!text.includes('\\')) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  const seen = new Set(text.match(OPERATOR_OR_VARIABLE) ?? []);
  const hidden = (JSON.stringify(parsed).match(OPERATOR_OR_VARIABLE) ?? []).find((name) => !seen.has(name));
  if (hidden === undefined) return;
  const problem = `names ${hidden} through a JSON escape: write it as it is, for the CRUD's check to read it`;
  throw new InvalidInputError(`querystring/_rawp ${problem}`, [{ path: ['querystring', '_rawp'], message: problem }]);
}
