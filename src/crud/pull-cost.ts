import { InvalidInputError } from '../errors.js';
import { isPlainObject } from './filter.js';
import { valueAt, type UpdateOperators } from './update-types.js';

/**
 * The most term tests a `$pull` may cost: the terms of its condition times the values of the array
 * it runs over. Each item is tested against the whole condition (twice: the preview, then the
 * embedded store's write), so a 24 KB `$or` of 2,000 branches over 8,000 items held the event loop
 * 6.5 s. 2,000,000 tests take about 0.2 s; a condition of 10 terms still runs over 200,000 items.
 */
export const MAX_PULL_TESTS = 2_000_000;
/**
 * Their lists are looked up in a hash (membership.ts): one term, whatever their length. Not `$all`:
 * mingo compares each of its values with every value of the array it tests.
 */
const LISTS = new Set(['$in', '$nin']);

/** Refuses (400) a `$pull` whose condition, over the array the user holds, would cost more than MAX_PULL_TESTS. */
export function assertPullCost(doc: Record<string, unknown>, expr: UpdateOperators): void {
  for (const [path, condition] of Object.entries(expr.$pull ?? {})) {
    const items = valueAt(doc, path);
    if (!Array.isArray(items)) continue;
    const terms = termsOf(condition);
    const values = valuesOf(items, Math.floor(MAX_PULL_TESTS / terms) + 1);
    if (terms * values <= MAX_PULL_TESTS) continue;
    const problem = `a condition of ${terms} terms over at least ${values} values is too costly (at most ${MAX_PULL_TESTS} term tests)`;
    throw new InvalidInputError(`body/$pull/${path}: ${problem}`, [{ path: ['body', '$pull', path], message: problem }]);
  }
}

/**
 * The values of the array at every depth, up to `cap`: a term such as `$elemMatch` or `$all` walks
 * an item's own arrays, so 500 `$elemMatch` branches over 50 items of 1,000 held the event loop
 * 15 s while 50 items looked cheap.
 */
function valuesOf(items: unknown[], cap: number): number {
  let count = 0;
  const pending: unknown[] = [items];
  while (pending.length > 0 && count < cap) {
    const value = pending.pop();
    count += 1;
    // One by one: a spread of an array of 500,000 numbers (1 MB of JSON) overflows the call stack.
    const inner = Array.isArray(value) ? value : isPlainObject(value) ? Object.values(value) : [];
    for (const item of inner) pending.push(item);
  }
  return count;
}

/** Keys and array items, at every depth (the body's depth is already bounded); a `$in` list counts once. */
function termsOf(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + termsOf(item), 0);
  if (!isPlainObject(value)) return 1;
  let terms = 0;
  for (const [key, inner] of Object.entries(value)) terms += 1 + (LISTS.has(key) ? 1 : termsOf(inner));
  return terms;
}
