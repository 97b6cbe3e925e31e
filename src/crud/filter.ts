import { assertSafeKeys } from '../domain/safe-names.js';
import { InvalidInputError } from '../errors.js';

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
  assertSafeKeys(filter, ['querystring', param]);
  assertAllowedOperators(filter, param);
}

/** Walks a filter and rejects any `$operator` that is not on the allow-list. */
export function assertAllowedOperators(value: unknown, param = '_q'): void {
  if (Array.isArray(value)) {
    for (const item of value) assertAllowedOperators(item, param);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    if (key.startsWith('$') && !ALLOWED_OPERATORS.has(key)) {
      throw new InvalidInputError(`querystring/${param}: operator ${key} is not allowed`, [
        { path: ['querystring', param, key], message: 'operator not allowed' },
      ]);
    }
    // $text and $nearSphere take their own option keys ($search, $geometry, $maxDistance…).
    if (key !== '$text' && key !== '$nearSphere') assertAllowedOperators(inner, param);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
