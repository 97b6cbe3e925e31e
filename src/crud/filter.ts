import { assertSafeInput } from '../domain/input-limits.js';
import { InvalidInputError } from '../errors.js';
import { assertRegexSyntax } from './regex-syntax.js';

/** Query operators the CRUD Service accepts in `_q` (and nothing else). */
export const ALLOWED_OPERATORS = new Set([
  '$gt',
  '$lt',
  '$gte',
  '$lte',
  '$eq',
  '$ne',
  '$in',
  '$nin',
  '$all',
  '$exists',
  '$nearSphere',
  '$regex',
  '$options',
  '$elemMatch',
  '$text',
  '$size',
  '$and',
  '$or',
]);

export type Filter = Record<string, unknown>;

/** Parses `_q`: a JSON object whose operators are all on the CRUD allow-list. */
export function parseFilter(raw: string, param = '_q'): Filter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidInputError(`querystring/${param} must be a valid JSON object`, [
      { path: ['querystring', param], message: 'invalid JSON' },
    ]);
  }
  if (!isPlainObject(parsed)) {
    throw new InvalidInputError(`querystring/${param} must be a JSON object`, [
      { path: ['querystring', param], message: 'must be object' },
    ]);
  }
  checkFilter(parsed, param);
  return parsed;
}

/** A filter from a client: no forbidden field names, no hostile depth, only allow-listed operators. */
export function checkFilter(filter: Filter, param = '_q'): void {
  // First, iteratively: the recursive walk below must not meet a hostile depth.
  assertSafeInput(filter, { where: ['querystring', param] });
  assertAllowedOperators(filter, ['querystring', param]);
  assertFilterShape(filter, param);
}

const LIST_OPERATORS = ['$in', '$nin', '$all'];

/** Operators that may stand where a field name does (MongoDB refuses `{"$gt": …}` there). */
const TOP_LEVEL_OPERATORS: ReadonlySet<string> = new Set(['$and', '$or', '$text']);
/** In a `$pull` condition on document items: MongoDB's logical operators, `$nor` included (`$text` is no item filter). */
const PULL_TOP_LEVEL: ReadonlySet<string> = new Set(['$and', '$or', '$nor']);

type Refuse = (key: string, message: string) => never;

function refuser(where: readonly string[]): Refuse {
  return (key, message) => {
    throw new InvalidInputError(`${where.join('/')}: ${key} ${message}`, [{ path: [...where, key], message }]);
  };
}

/**
 * The shape MongoDB accepts, so a malformed filter is the client's 400 in both modes rather than
 * a database error: a filter's keys are fields, `$and`/`$or` of filters or `$text`; a field's
 * condition is a value, or an object of operators only (`{"$gt": 1, "x": 2}` mixes them).
 */
function assertFilterShape(filter: Filter, param: string): void {
  assertShape(filter, refuser(['querystring', param]), TOP_LEVEL_OPERATORS);
}

/**
 * A `$pull` condition, in the shape MongoDB accepts (it fails the update otherwise, the CRUD's
 * 500): MongoDB reads it by its first key, as `pullingDocumentsOnly` (regex.ts) applies it: an
 * operator on the item itself (`{"$in": […]}`), or a filter on document items (a field, `{}`,
 * `$and`, `$or`, `$nor`). Any other value is compared as a whole.
 */
export function assertPullCondition(condition: unknown, where: readonly string[]): void {
  if (!isPlainObject(condition)) return;
  const refuse = refuser(where);
  const [first] = Object.keys(condition);
  if (first === undefined || !first.startsWith('$') || PULL_TOP_LEVEL.has(first)) assertShape(condition, refuse, PULL_TOP_LEVEL);
  else assertCondition(condition, 'the condition', refuse, PULL_TOP_LEVEL);
}

function assertShape(filter: Filter, refuse: Refuse, topLevel: ReadonlySet<string>): void {
  for (const [key, value] of Object.entries(filter)) {
    if (!key.startsWith('$')) {
      if (isPlainObject(value)) assertCondition(value, key, refuse, topLevel);
    } else if (!topLevel.has(key)) {
      refuse(key, 'must apply to a field');
    } else if (key !== '$text') {
      if (!Array.isArray(value) || value.length === 0 || !value.every(isPlainObject)) refuse(key, 'must be a non-empty array of filters');
      for (const inner of value as Filter[]) assertShape(inner, refuse, topLevel);
    }
  }
}

function assertCondition(condition: Filter, field: string, refuse: Refuse, topLevel: ReadonlySet<string>): void {
  const keys = Object.keys(condition);
  const operators = keys.filter((key) => key.startsWith('$'));
  if (operators.length === 0) return; // an embedded document, compared as a whole
  if (operators.length < keys.length) refuse(field, 'must not mix operators and fields');
  // The CRUD's parser maps these operands (a 400 when they are no array); MongoDB fails the query.
  for (const operator of LIST_OPERATORS) {
    if (Object.hasOwn(condition, operator) && !Array.isArray(condition[operator])) refuse(field, `${operator} must be an array`);
  }
  // MongoDB fails these ("$size needs a number", "$elemMatch needs an Object"), which the CRUD answers 500.
  const size = condition.$size;
  if (size !== undefined && !(Number.isInteger(size) && (size as number) >= 0)) refuse(field, '$size must be a whole number, 0 or more');
  const element = condition.$elemMatch;
  if (element !== undefined && !isPlainObject(element)) refuse(field, '$elemMatch must be an object');
  if (!isPlainObject(element)) return;
  const elementKeys = Object.keys(element);
  const isCondition = elementKeys.length > 0 && elementKeys.every((key) => key.startsWith('$') && !topLevel.has(key));
  if (isCondition) assertCondition(element, field, refuse, topLevel);
  else assertShape(element, refuse, topLevel);
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Walks a filter and rejects any `$operator` that is not on the allow-list (or in `also`). A query's
 * (`_q`, `acl_rows`, a GraphQL filter) is refused in the CRUD's query parser's words: `Unknown
 * operator: $x` where a field name stands (the filter, or a clause of `$and`/`$or`), `Unsupported
 * operator: $x` inside a field's condition; a PATCH body's (`$pull`) names where it stands.
 */
export function assertAllowedOperators(
  value: unknown,
  where: readonly string[] = ['querystring', '_q'],
  also: ReadonlySet<string> = NONE,
  level: 'filter' | 'condition' = 'filter',
): void {
  if (Array.isArray(value)) {
    for (const item of value) assertAllowedOperators(item, where, also, level);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    if (key.startsWith('$') && !ALLOWED_OPERATORS.has(key) && !also.has(key)) {
      const message =
        where[0] === 'body'
          ? `${where.join('/')}: operator ${key} is not allowed`
          : `${level === 'filter' ? 'Unknown' : 'Unsupported'} operator: ${key}`;
      throw new InvalidInputError(message, [{ path: [...where, key], message: 'operator not allowed' }]);
    }
    if (key === '$options') assertRegexOptions(inner, Object.hasOwn(value, '$regex'), where);
    if (key === '$regex') assertRegexSyntax(inner, value.$options, where);
    // $text and $nearSphere take their own option keys ($search, $geometry, $maxDistance…).
    const next = key === '$and' || key === '$or' || key === '$nor' ? 'filter' : 'condition';
    if (key !== '$text' && key !== '$nearSphere') assertAllowedOperators(inner, where, also, next);
  }
}

/**
 * MongoDB's `$regex` flags: another letter fails the query (the CRUD's 500), so it is a 400 in both
 * modes; so is `$options` with no `$regex` beside it (MongoDB's "$options needs a $regex", which the
 * embedded store's regex.ts refused already, in these words).
 */
function assertRegexOptions(options: unknown, withRegex: boolean, where: readonly string[]): void {
  const problem = !withRegex
    ? '$options needs a $regex'
    : typeof options === 'string' && /^[imxsu]*$/.test(options)
      ? undefined
      : '$options must be a string of the flags i, m, x, s, u';
  if (problem === undefined) return;
  throw new InvalidInputError(`${where.join('/')} ${problem}`, [{ path: [...where, '$options'], message: problem }]);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
