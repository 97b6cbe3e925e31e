/**
 * MongoDB's `$pull`, for the CRUD emulator (test code, written from MongoDB's documentation and
 * kept apart from the product's reading in src/crud/regex.ts). MongoDB reads a condition by its
 * first key: an operator on the item (`{"$in": […]}`) tests each item itself; a field, `{}`, `$and`,
 * `$or` or `$nor` is a filter that only document items can match; anything else is compared whole.
 * mingo's updater tests the item whenever any key is an operator, so `{"$or": [{"k": 1}]}` pulled
 * nothing and `{}` pulled every item, scalars included.
 */
import { Query } from 'mingo';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const LOGICAL = new Set(['$and', '$or', '$nor']);

/** Applies `pull` to `doc` in place; paths whose value is no array are left alone, as MongoDB does for a missing one. */
export function applyPull(doc: Json, pull: Json): void {
  for (const [path, condition] of Object.entries(pull)) {
    const segments = path.split('.');
    const parent = segments
      .slice(0, -1)
      .reduce<unknown>((at, key) => (isObject(at) || Array.isArray(at) ? (at as Json)[key] : undefined), doc);
    const last = segments.at(-1)!;
    if (!(isObject(parent) || Array.isArray(parent))) continue;
    const items = (parent as Json)[last];
    if (!Array.isArray(items)) continue;
    const matches = matcher(condition);
    (parent as Json)[last] = items.filter((item) => !matches(item));
  }
}

function matcher(condition: unknown): (item: unknown) => boolean {
  if (!isObject(condition)) return (item) => JSON.stringify(item) === JSON.stringify(condition);
  const [first] = Object.keys(condition);
  if (first === undefined || !first.startsWith('$') || LOGICAL.has(first)) {
    const query = new Query(condition);
    return (item) => isObject(item) && query.test(item);
  }
  const list = listOnly(condition);
  if (list) {
    // MongoDB looks a value up in an `$in` list (a set); mingo hashes the whole list for every item.
    const members = new Set(list.values.map((value) => JSON.stringify(value)));
    return (item) => members.has(JSON.stringify(item)) !== list.negated;
  }
  const query = new Query({ item: condition });
  return (item) => query.test({ item });
}

/** `{$in: [scalars]}` or `{$nin: [scalars]}` alone (objects and arrays are left to mingo). */
function listOnly(condition: Json): { values: unknown[]; negated: boolean } | undefined {
  const keys = Object.keys(condition);
  const values = condition[keys[0]!];
  if (keys.length !== 1 || !['$in', '$nin'].includes(keys[0]!) || !Array.isArray(values)) return undefined;
  if (values.some((value) => typeof value === 'object' && value !== null)) return undefined;
  return { values, negated: keys[0] === '$nin' };
}
