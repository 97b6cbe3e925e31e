import { InvalidInputError } from '../errors.js';

/**
 * Names a request may not use as a field or as a segment of a dotted path: written into a plain
 * object (by a projection, an update operator or a mingo path walk) they reach `Object.prototype`.
 */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Whether a field name (or dotted path) avoids every forbidden segment, and holds no NUL
 * character: BSON ends a name with one, so MongoDB's driver refuses to encode it (the CRUD's 500).
 */
export function isSafeFieldPath(path: string): boolean {
  if (FORBIDDEN_SEGMENTS.has(path) || path.includes('\0')) return false;
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

/** An own property of `object`, never one inherited from its prototype. */
export function ownValue<T>(object: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}
