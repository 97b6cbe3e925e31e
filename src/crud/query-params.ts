import { isSafeFieldPath } from '../domain/safe-names.js';
import { InvalidInputError } from '../errors.js';
import { isState, type State } from './states.js';

// The parameters of a CRUD-style query string, one at a time: each refusal names its parameter (a 400).

const FIELD = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * `_p`: the fields to return; absent or empty means every field, as in the CRUD. A name that is no
 * field (`a wrong projection`) matches nothing, so only `_id` comes back, as MongoDB answers the
 * CRUD's projection. `a.$` is MongoDB's positional projection (projection.ts); any other `$` and
 * `__proto__`-like segments are refused.
 */
export function parseProjection(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  const fields = splitList(single(raw, '_p')).map(checkProjectedField);
  return fields.length > 0 ? fields : undefined;
}

/** MongoDB's positional projection: `a.$`, `$` once, as the last segment. */
export const POSITIONAL = /^[^$]+\.\$$/;

export function checkProjectedField(name: string): string {
  const plain = POSITIONAL.test(name) ? name.slice(0, -2) : name;
  if (plain.includes('$') || !isSafeFieldPath(plain)) throw badParam(name, 'is not a valid field name');
  return name;
}

/**
 * `_st` as the CRUD reads it: its schema's pattern is not anchored (ajv finds it anywhere in the
 * text, so `FOO,PUBLIC` passes and an empty `_st` does not), then the text is split on commas and
 * a name that is no state matches nothing. Absent: PUBLIC.
 */
const STATES_PATTERN = '(PUBLIC|DRAFT|TRASH|DELETED)(,(PUBLIC|DRAFT|TRASH|DELETED))*';
const STATES_TEST = new RegExp(STATES_PATTERN);

export function parseStates(raw: unknown): State[] {
  if (raw === undefined) return ['PUBLIC'];
  const text = single(raw, '_st');
  if (!STATES_TEST.test(text)) throw badParam('_st', `must match pattern "${STATES_PATTERN}"`);
  return [...new Set(text.split(',').filter(isState))];
}

export function parseInteger(raw: unknown, name: string, { min, max, fallback }: { min: number; max?: number; fallback: number }): number {
  if (raw === undefined) return fallback;
  const text = single(raw, name, 'integer');
  // As ajv coerces a string (`data && data == +data`): `2e0`, ` 2` and `2.0` are 2; then no fraction.
  const value = text === '' ? NaN : Number(text);
  if (!Number.isSafeInteger(value)) throw badParam(name, 'must be integer');
  if (value < min) throw badParam(name, `must be >= ${min}`);
  if (max !== undefined && value > max) throw badParam(name, `must be <= ${max}`);
  return value;
}

export function checkField(name: string): string {
  if (!FIELD.test(name) || !isSafeFieldPath(name)) throw badParam(name, 'is not a valid field name');
  return name;
}

/**
 * A parameter's one value. Given twice it is an array, which the CRUD's ajv (it coerces types, not
 * arrays to scalars) refuses naming the type the parameter must have.
 */
export function single(value: unknown, name: string, type = 'string'): string {
  if (typeof value !== 'string') throw badParam(name, `must be ${type}`);
  return value;
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** A query parameter refused, in the CRUD's words (`querystring/<name> <problem>`). */
export function badParam(name: string, problem: string): InvalidInputError {
  return new InvalidInputError(`querystring/${name} ${problem}`, [{ path: ['querystring', name], message: problem }]);
}
