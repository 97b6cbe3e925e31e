import { InvalidInputError } from '../errors.js';
import { isSafeFieldPath, unsafeFieldError } from './safe-names.js';

/**
 * The longest username or e-mail address: an e-mail address has at most 320 characters. A login
 * takes no longer one, so creations and updates refuse one too (a user who could never log in).
 */
export const MAX_LOGIN_NAME = 320;

/** The deepest JSON any input may hold unless its reader says otherwise (bodies, `_q`, JSON arguments). */
export const MAX_INPUT_DEPTH = 64;

/**
 * The longest identity id (`authUserId`) the service looks up: no provider gives longer ones, and
 * Auth0 and the auth0-client search an id in a query string (percent-encoded, up to 9 characters
 * a character), where a 100,000-character one passed their request head (431, a 500 for the caller).
 */
export const MAX_IDENTITY_ID_CHARS = 1024;

/**
 * Whether an identity id is longer than any identity's: the identity-provider adapters take it as
 * naming no identity (unknown, not found), and ask no upstream about it. So every path that takes
 * an `authUserId` from a caller answers it as it answers an unknown id.
 */
export function namesNoIdentity(id: string): boolean {
  // A token's claims are not typed at run time: a `sub` that is missing stays the adapter's to refuse.
  return typeof id === 'string' && id.length > MAX_IDENTITY_ID_CHARS;
}

export { MAX_SHOWN_ID, MAX_SHOWN_MESSAGE, shownId, shownText } from './shown-text.js';

export interface InputLimits {
  /** Where the value came from, for messages: `['body']`, `['querystring', '_q']`, `['variables']`. */
  where: readonly string[];
  /** Containers (objects and arrays) nested at most this deep: `{}` is 1, a scalar 0. */
  maxDepth?: number;
  /** Most values (containers and scalars together); no limit when absent. */
  maxNodes?: number;
}

/**
 * The one check of a client's JSON before anything recursive reads it (coercion, validation, a
 * filter compiler: a 60,000-deep object overflowed their stack). It walks with its own stack and
 * refuses, with a 400 naming the place: nesting past `maxDepth`, more than `maxNodes` values, and
 * any key that is, or has as a dotted segment, `__proto__`, `constructor` or `prototype`. Only
 * arrays and plain objects are entered; anything else (a Date, an upload) is one value.
 */
export function assertSafeInput(value: unknown, { where, maxDepth = MAX_INPUT_DEPTH, maxNodes = Infinity }: InputLimits): void {
  if (!isContainer(value)) return;
  // Parallel stacks of plain values (no object per node): a 100,000-item body is walked in a few ms.
  const values: (unknown[] | Record<string, unknown>)[] = [value];
  const depths: number[] = [1];
  let nodes = 1;
  while (values.length > 0) {
    const container = values.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) refuse(pathTo(value, container, where), `is nested more than ${maxDepth} levels deep`);
    if (Array.isArray(container)) {
      nodes += container.length;
      if (nodes > maxNodes) refuse([...where], `holds more than ${maxNodes} values`);
      for (let index = 0; index < container.length; index += 1) {
        const child = container[index];
        if (typeof child === 'object' && child !== null && isContainer(child)) {
          values.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    for (const key in container) {
      if (!Object.hasOwn(container, key)) continue;
      if (++nodes > maxNodes) refuse([...where], `holds more than ${maxNodes} values`);
      if (!isSafeFieldPath(key)) throw unsafeFieldError(pathTo(value, container, where), key);
      const child = container[key];
      if (typeof child === 'object' && child !== null && isContainer(child)) {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
}

/** The path from `root` to `target` (searched again, only to word an error message). */
function pathTo(root: unknown, target: unknown, where: readonly string[]): string[] {
  const pending: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.value === target) return [...where, ...next.path];
    if (!isContainer(next.value)) continue;
    const entries = Array.isArray(next.value)
      ? next.value.map((item, index) => [String(index), item] as const)
      : Object.entries(next.value);
    for (const [key, child] of entries) if (isContainer(child)) pending.push({ value: child, path: [...next.path, key] });
  }
  return [...where];
}

function refuse(path: string[], problem: string): never {
  throw new InvalidInputError(`${path.join('/')} ${problem}`, [{ path, message: problem }]);
}

function isContainer(value: unknown): value is unknown[] | Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
