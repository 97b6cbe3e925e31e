import { InvalidInputError } from '../errors.js';
import { isSafeFieldPath, unsafeFieldError } from './safe-names.js';

/** The deepest JSON any input may hold unless its reader says otherwise (bodies, `_q`, JSON arguments). */
export const MAX_INPUT_DEPTH = 64;

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
  const pending: Node[] = [{ value, depth: 1 }];
  let nodes = 1;
  for (let node = pending.pop(); node; node = pending.pop()) {
    const path = () => [...where, ...pathOf(node!)];
    if (node.depth > maxDepth) refuse(path(), `is nested more than ${maxDepth} levels deep`);
    const isArray = Array.isArray(node.value);
    const children = isArray ? (node.value as unknown[]).entries() : Object.entries(node.value);
    for (const [key, child] of children) {
      if (++nodes > maxNodes) refuse([...where], `holds more than ${maxNodes} values`);
      if (!isArray && !isSafeFieldPath(key as string)) throw unsafeFieldError(path(), key as string);
      if (isContainer(child)) pending.push({ value: child, depth: node.depth + 1, parent: node, key: String(key) });
    }
  }
}

function refuse(path: string[], problem: string): never {
  throw new InvalidInputError(`${path.join('/')} ${problem}`, [{ path, message: problem }]);
}

/** A JSON object or array on the walk; its path is built only for an error message. */
interface Node {
  value: unknown[] | Record<string, unknown>;
  depth: number;
  parent?: Node;
  key?: string;
}

function pathOf(node: Node): string[] {
  const path: string[] = [];
  for (let at: Node | undefined = node; at?.key !== undefined; at = at.parent) path.unshift(at.key);
  return path;
}

function isContainer(value: unknown): value is unknown[] | Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
