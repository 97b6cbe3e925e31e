import { assertSafeInput } from '../domain/input-limits.js';
import { InvalidInputError } from '../errors.js';
import { isPlainObject } from './filter.js';

/**
 * `_rawp` with aggregation expressions (`{"attachments": {"$first": "$attachments"}}`), answered
 * by the service where the CRUD is not asked (the embedded store's lists, `GET /users/:id`): mingo
 * evaluates the projection as MongoDB's find does, with only the expressions of the CRUD's
 * dictionary (raw-projection.ts checks the text first), `$regexMatch` on RE2, and bounds so that a
 * projection cannot hold the event loop (docs/decisions.md, "CRUD fidelity, round five"):
 * - at most MAX_NODES values and MAX_DEPTH levels in the projection;
 * - no `$filter`/`$map` inside the `cond`/`in` of another, and no field (`$price`) read there: the
 *   work per item is then bounded by the projection's size, the items by the document's;
 * - no `$reduce` (its accumulator can grow with each item: quadratic work in the array's length);
 * - the page's documents (JSON length) times the projection's values at most WORK_BUDGET, and the
 *   items `$filter`/`$map` go through times the values of their body at most ITEM_BUDGET;
 * - what the values cost (expression-work.ts): the items' weight (characters and values) times the
 *   values of the body, each of which may go through a whole item (compare it, read its paths,
 *   repeat it in the answer).
 */

export const MAX_NODES = 200;
export const MAX_DEPTH = 16;
/**
 * Per answer, characters of each document × (fields the projection reads + 1), plus the projection's
 * values once per document: about 40 ms of mingo at worst, and the answer's JSON 8 ms (8,000,000
 * took 60 to 75 ms and 15 to 18 ms for 190 reads of a 42,000-character array).
 */
export const WORK_BUDGET = 4_000_000;
/** Per answer, items `$filter`/`$map` go through × (values of their `cond`/`in` + 2): 25 to 35 ms at worst. */
export const ITEM_BUDGET = 100_000;

const ITERATORS = new Set(['$filter', '$map']);
/** The CRUD's `rawProjectionDictionary` (lib/consts.js): every `$name` a `_rawp` may hold. */
export const RAW_PROJECTION_DICTIONARY: ReadonlySet<string> = new Set([
  '$eq',
  '$gt',
  '$gte',
  '$in',
  '$lt',
  '$lte',
  '$ne',
  '$nin',
  '$and',
  '$not',
  '$nor',
  '$or',
  '$exists',
  '$type',
  '$cond',
  '$regexMatch',
  '$mod',
  '$all',
  '$elemMatch',
  '$size',
  '$filter',
  '$reduce',
  '$concatArrays',
  '$first',
  '$map',
  '$dateToString',
]);
/**
 * Names of the dictionary mingo does not evaluate as they are: the query operators an
 * `$elemMatch` takes, `$regexMatch` (on RE2, raw-evaluation.ts) and `$reduce` (refused).
 */
const NOT_PLAIN_EXPRESSIONS = new Set(['$nin', '$nor', '$exists', '$all', '$elemMatch', '$regexMatch', '$reduce']);
/** The expressions of the dictionary mingo evaluates as they are. */
export const EXPRESSIONS = [...RAW_PROJECTION_DICTIONARY].filter((name) => !NOT_PLAIN_EXPRESSIONS.has(name));

export const where = ['querystring', '_rawp'];
/** The CRUD's words for a name off its dictionary (projectionUtils checkAllowedOperators). */
const notAllowed = (name: string) => {
  const message = `Operator ${name} is not allowed in raw projection`;
  return new InvalidInputError(message, [{ path: where, message }]);
};
export const refuse = (problem: string) => new InvalidInputError(`querystring/_rawp ${problem}`, [{ path: where, message: problem }]);

/** MongoDB's rule for a user variable's name (`as`): a lowercase letter (or a non-ASCII one) first, then letters, digits, `_`. */
const VARIABLE_NAME = /^[a-z\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*$/;

/**
 * Checks an expression projection's shape and bounds (before any document is read); refuses with a
 * 400. A `$$name` must be the `as` of the `$filter`/`$map` around it (`this` without `as`), as
 * MongoDB requires (`Use of undefined variable`): mingo resolved `$$this` elsewhere to the whole
 * document, around acl_read_columns.
 */
export function checkExpressions(spec: Record<string, unknown>, isField: (name: string) => boolean): void {
  assertSafeInput(spec, { where, maxDepth: MAX_DEPTH, maxNodes: MAX_NODES });
  const visit = (value: unknown, variable: string | undefined): void => {
    if (typeof value === 'string') {
      if (!value.startsWith('$')) return;
      if (!value.startsWith('$$')) {
        const problem = fieldPathProblem(value);
        if (problem) throw refuse(problem);
        if (variable !== undefined)
          throw refuse(`${value}: a field is not read inside the cond or in of $filter or $map (the item is, with $$)`);
        // The CRUD judges the names in the raw text, where `\u0024email` hides one: judged again as parsed.
        const name = value.slice(1).split('.')[0]!;
        if (!isField(name)) throw notAllowed(`$${name}`);
        return;
      }
      const name = value.slice(2).split('.')[0];
      if (name !== variable) throw refuse(`Use of undefined variable: ${name}`);
      return;
    }
    if (Array.isArray(value)) return value.forEach((item) => visit(item, variable));
    if (!isPlainObject(value)) return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$reduce') throw refuse('$reduce is not offered by the embedded store: its accumulator can grow with each item');
      if (ITERATORS.has(key)) {
        if (variable !== undefined)
          throw refuse(`${key} inside the cond or in of $filter or $map is not offered (work growing with the square of the items)`);
        if (!isPlainObject(inner)) continue;
        const as = inner.as ?? 'this';
        if (typeof as !== 'string' || !VARIABLE_NAME.test(as))
          throw refuse(`${key}'s as must be a variable name (a lowercase letter first)`);
        for (const [part, operand] of Object.entries(inner)) visit(operand, part === 'cond' || part === 'in' ? as : undefined);
      } else {
        visit(inner, variable);
      }
    }
  };
  visit(spec, undefined);
}

/**
 * MongoDB's refusal of a field path (`"$price"`) with an empty name, or undefined: mingo reads `"$"`
 * as the whole document (the CRUD emulator's answered fields acl_read_columns hides), and MongoDB's
 * refusal was the CRUD's 500.
 */
export function fieldPathProblem(value: string): string | undefined {
  if (!value.startsWith('$') || value.startsWith('$$')) return undefined;
  const path = value.slice(1);
  if (path === '') return "'$' by itself is not a valid FieldPath";
  if (path.endsWith('.')) return "FieldPath must not end with a '.'.";
  if (path.split('.').includes('')) return 'FieldPath field names may not be empty strings.';
  return undefined;
}

/** fieldPathProblem for every field path of a projection, a 400 for the first one MongoDB refuses. */
export function assertFieldPaths(value: unknown): void {
  if (typeof value === 'string') {
    const problem = fieldPathProblem(value);
    if (problem) throw refuse(problem);
  } else if (Array.isArray(value)) value.forEach(assertFieldPaths);
  else if (isPlainObject(value)) Object.values(value).forEach(assertFieldPaths);
}

/**
 * MongoDB's `Use of undefined variable` (the CRUD's 500, as it passes `_rawp` on), for a projection
 * the CRUD is given: a `$$name` of a user variable (a lowercase first letter) must be bound by the
 * `$filter`/`$map` (`as`, `this` without it) or `$reduce` (`this`, `value`) around it. System
 * variables (`$$ROOT`, `$$NOW`…) are the CRUD's to judge (its deny list) and MongoDB's.
 */
export function assertVariablesBound(value: unknown, bound: readonly string[] = []): void {
  if (typeof value === 'string') {
    if (!value.startsWith('$$')) return;
    const name = value.slice(2).split('.')[0]!;
    if (/^[a-z]/.test(name) && !bound.includes(name)) throw refuse(`Use of undefined variable: ${name}`);
    return;
  }
  if (Array.isArray(value)) return value.forEach((item) => assertVariablesBound(item, bound));
  if (!isPlainObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    if ((key !== '$filter' && key !== '$map' && key !== '$reduce') || !isPlainObject(inner)) {
      assertVariablesBound(inner, bound);
      continue;
    }
    const names = key === '$reduce' ? ['this', 'value'] : [typeof inner.as === 'string' ? inner.as : 'this'];
    for (const [part, operand] of Object.entries(inner))
      assertVariablesBound(operand, part === 'cond' || part === 'in' ? [...bound, ...names] : bound);
  }
}

/** How many fields (`$price`, `$attachments.name`) the projection reads: each may go through a whole document. */
export function readsOf(value: unknown): number {
  if (typeof value === 'string') return value.startsWith('$') && !value.startsWith('$$') ? 1 : 0;
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + readsOf(item), 0);
  if (isPlainObject(value)) return Object.values(value).reduce<number>((sum, item) => sum + readsOf(item), 0);
  return 0;
}

/** How many values a projection or a part of it holds. */
export function nodesOf(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + nodesOf(item), 1);
  if (isPlainObject(value)) return Object.values(value).reduce<number>((sum, item) => sum + nodesOf(item), 1);
  return 1;
}
