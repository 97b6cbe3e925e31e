import { InvalidInputError } from '../errors.js';

/**
 * Names a request may not use as a field or as a segment of a dotted path: written into a plain
 * object (by a projection, an update operator or a mingo path walk) they reach `Object.prototype`.
 */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** The deepest JSON value any input may hold; deeper ones are refused before anything walks them recursively. */
export const MAX_INPUT_DEPTH = 64;

/** Whether a field name (or dotted path) avoids every forbidden segment. */
export function isSafeFieldPath(path: string): boolean {
  if (FORBIDDEN_SEGMENTS.has(path)) return false;
  if (!path.includes('.')) return true;
  return path.split('.').every((segment) => !FORBIDDEN_SEGMENTS.has(segment));
}

/** A 400 naming where the field was found (`body/constructor`, `querystring/_q/__proto__`). */
export function unsafeFieldError(where: readonly string[], field: string): InvalidInputError {
  const path = [...where, field];
  return new InvalidInputError(`${path.join('/')} is not an allowed field name`, [{ path, message: 'is not an allowed field name' }]);
}

export function assertSafeFieldPath(path: string, where: readonly string[]): void {
  if (!isSafeFieldPath(path)) throw unsafeFieldError(where, path);
}

/**
 * Walks a JSON value (iteratively, so a hostile depth cannot overflow the stack) and refuses any
 * object key that is, or has as a dotted segment, a forbidden name, and any nesting deeper than
 * `maxDepth`. Every input a client writes goes through here: bodies, `_q`, GraphQL JSON arguments.
 */
export function assertSafeKeys(value: unknown, where: readonly string[], maxDepth = MAX_INPUT_DEPTH): void {
  if (typeof value !== 'object' || value === null) return;
  const pending: Node[] = [{ value, depth: 0 }];
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (node.depth >= maxDepth) {
      const path = [...where, ...pathOf(node)];
      throw new InvalidInputError(`${path.join('/')} is nested deeper than ${maxDepth} levels`, [
        { path, message: `must not be nested deeper than ${maxDepth} levels` },
      ]);
    }
    const isArray = Array.isArray(node.value);
    for (const [key, inner] of isArray ? (node.value as unknown[]).entries() : Object.entries(node.value as object)) {
      if (!isArray && !isSafeFieldPath(key as string)) throw unsafeFieldError([...where, ...pathOf(node)], key as string);
      if (typeof inner === 'object' && inner !== null)
        pending.push({ value: inner, depth: node.depth + 1, parent: node, key: String(key) });
    }
  }
}

/** A JSON object or array on the walk; its path is built only for an error message. */
interface Node {
  value: unknown;
  depth: number;
  parent?: Node;
  key?: string;
}

function pathOf(node: Node): string[] {
  const path: string[] = [];
  for (let at: Node | undefined = node; at?.key !== undefined; at = at.parent) path.unshift(at.key);
  return path;
}

/** An own property of `object`, never one inherited from its prototype. */
export function ownValue<T>(object: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}
