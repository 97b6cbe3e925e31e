import { InvalidInputError } from '../errors.js';
import { isPlainObject } from './filter.js';
import { valueAt, type UpdateOperators } from './update-types.js';

/**
 * The most term tests a `$pull` may cost: the terms of its condition times the items of the array
 * it runs over. Each item is tested against the whole condition (twice: the preview, then the
 * embedded store's write), so a 24 KB `$or` of 2,000 branches over 8,000 items held the event loop
 * 6.5 s. 2,000,000 tests take about 0.2 s; a condition of 10 terms still runs over 200,000 items.
 */
export const MAX_PULL_TESTS = 2_000_000;
/** Their lists are looked up in a hash (membership.ts): one term, whatever their length. */
const LISTS = new Set(['$in', '$nin', '$all']);

/** Refuses (400) a `$pull` whose condition, over the array the user holds, would cost more than MAX_PULL_TESTS. */
export function assertPullCost(doc: Record<string, unknown>, expr: UpdateOperators): void {
  for (const [path, condition] of Object.entries(expr.$pull ?? {})) {
    const items = valueAt(doc, path);
    if (!Array.isArray(items)) continue;
    const terms = termsOf(condition);
    if (terms * items.length <= MAX_PULL_TESTS) continue;
    const problem = `a condition of ${terms} terms over ${items.length} items is too costly (at most ${MAX_PULL_TESTS} term tests)`;
    throw new InvalidInputError(`body/$pull/${path}: ${problem}`, [{ path: ['body', '$pull', path], message: problem }]);
  }
}

/** Keys and array items, at every depth (the body's depth is already bounded); a `$in` list counts once. */
function termsOf(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + termsOf(item), 0);
  if (!isPlainObject(value)) return 1;
  let terms = 0;
  for (const [key, inner] of Object.entries(value)) terms += 1 + (LISTS.has(key) ? 1 : termsOf(inner));
  return terms;
}
