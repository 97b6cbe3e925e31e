import { InvalidInputError } from '../errors.js';
import { assertSafeInput } from './input-limits.js';
import { assertFollowableRefs, assertNoEndlessRef } from './schema-refs.js';

/*
 * What a group's `crudSchema` may hold when it is saved, so that ajv compiles it in well under a
 * second on the main thread (measurements and choice: docs/decisions.md). Compile time grows with
 * the keywords and subschemas (values bounds them), with the square of one combinator's branches,
 * and with the distinct patterns (each an RE2 compilation). A `$ref` is compiled once, not copied
 * into each use (`inlineRefs: false`, src/infra/group-schemas.ts), so it needs no limit of its own.
 * Only a save is checked: a schema stored before these limits is still read and compiled.
 */

/** Most values (containers, keys, array items) in a group schema. */
export const MAX_SCHEMA_VALUES = 2_000;
/** Most branches of one `oneOf`, `anyOf` or `allOf`. */
export const MAX_SCHEMA_BRANCHES = 50;
/** Most `oneOf`, `anyOf` and `allOf` branches in the whole schema. */
export const MAX_SCHEMA_ALL_BRANCHES = 200;
/** Most regular expressions: `pattern` values and `patternProperties` keys. */
export const MAX_SCHEMA_PATTERNS = 50;

const COMBINATORS = new Set(['oneOf', 'anyOf', 'allOf']);

/** Throws a 400 naming the limit (and where) a group schema passes; `where` is its place in the input. */
export function assertCompilableSchema(schema: Record<string, unknown>, where: readonly string[]): void {
  assertSafeInput(schema, { where, maxNodes: MAX_SCHEMA_VALUES });
  let branches = 0;
  let patterns = 0;
  const pending: { value: unknown; path: string[] }[] = [{ value: schema, path: [...where] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path } = next;
    if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push({ value: item, path: [...path, String(index)] }));
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, child] of Object.entries(value)) {
      if (COMBINATORS.has(key) && Array.isArray(child)) {
        if (child.length > MAX_SCHEMA_BRANCHES) refuse([...path, key], `has more than ${MAX_SCHEMA_BRANCHES} branches`);
        branches += child.length;
        if (branches > MAX_SCHEMA_ALL_BRANCHES)
          refuse([...where], `has more than ${MAX_SCHEMA_ALL_BRANCHES} oneOf, anyOf and allOf branches`);
      }
      if (key === 'pattern' && typeof child === 'string') patterns += 1;
      if (key === 'patternProperties' && typeof child === 'object' && child !== null) patterns += Object.keys(child).length;
      if (patterns > MAX_SCHEMA_PATTERNS) refuse([...where], `has more than ${MAX_SCHEMA_PATTERNS} patterns`);
      pending.push({ value: child, path: [...path, key] });
    }
  }
  assertFollowableRefs(schema, where);
  assertNoEndlessRef(schema, where);
}

function refuse(path: string[], problem: string): never {
  throw new InvalidInputError(`${path.join('/')} ${problem}`, [{ path, message: problem }]);
}
