import { isPlainObject } from './filter.js';
import type { SortKey } from './query.js';

/**
 * MongoDB's sort order, for sort keys SQL cannot order (paths through arrays): a document is
 * ordered by the smallest of the values at the path when ascending and by the largest when
 * descending; values of different types follow BSON's order (missing and null, numbers, strings,
 * objects, arrays, booleans). Dates are canonical text here, so they order as strings and as instants.
 */
export function compareBySortKeys(a: Record<string, unknown>, b: Record<string, unknown>, keys: readonly SortKey[]): number {
  for (const { field, direction } of keys) {
    const pick = direction === 1 ? smallest : largest;
    const order = compareValues(pick(valuesAt(a, field)), pick(valuesAt(b, field)));
    if (order !== 0) return order * direction;
  }
  return 0;
}

/** Every value a path reaches, arrays on the way and at the end unwound (own properties only). */
export function valuesAt(doc: unknown, path: string): unknown[] {
  let current: unknown[] = [doc];
  for (const segment of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current) {
      if (Array.isArray(value)) {
        if (/^\d+$/.test(segment) && Number(segment) < value.length) next.push(value[Number(segment)]);
        for (const item of value) if (isPlainObject(item) && Object.hasOwn(item, segment)) next.push(item[segment]);
      } else if (isPlainObject(value) && Object.hasOwn(value, segment)) {
        next.push(value[segment]);
      }
    }
    current = next;
  }
  return current.flatMap((value) => (Array.isArray(value) ? value : [value]));
}

function smallest(values: unknown[]): unknown {
  return values.reduce((best, value) => (best === MISSING || compareValues(value, best) < 0 ? value : best), MISSING);
}

function largest(values: unknown[]): unknown {
  return values.reduce((best, value) => (best === MISSING || compareValues(value, best) > 0 ? value : best), MISSING);
}

const MISSING = Symbol('missing');

function rank(value: unknown): number {
  if (value === MISSING || value === null || value === undefined) return 0;
  if (typeof value === 'number') return 1;
  if (typeof value === 'string') return 2;
  if (Array.isArray(value)) return 4;
  if (typeof value === 'object') return 3;
  if (typeof value === 'boolean') return 5;
  return 6;
}

export function compareValues(a: unknown, b: unknown): number {
  const [ra, rb] = [rank(a), rank(b)];
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (ra === 1 || ra === 2 || ra === 5) return a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
  if (ra === 3 || ra === 4) {
    const [ta, tb] = [JSON.stringify(a), JSON.stringify(b)];
    return ta === tb ? 0 : ta < tb ? -1 : 1;
  }
  return 0;
}
