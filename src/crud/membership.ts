import * as queryOperators from 'mingo/operators/query';
import type { Options } from 'mingo/types';
import { ensureArray, HashMap, isNil, isRegExp, resolve } from 'mingo/util';

type Predicate = (obj: unknown) => boolean;

/**
 * `$in` and `$nin` with their list hashed once. mingo's hashes the whole list again for every
 * value it tests (`intersection` builds a map of it), so a `$pull` of 5,000 names over an array of
 * 5,000 held the event loop 6.5 s, and 60,000 of each (a body well under 1 MiB) for hours. Same
 * answers as mingo's: a value (or any item of an array value) equal to a member; a missing or null
 * value is in a list that holds null. A list with a regular expression is left to mingo.
 */
export function hashedIn(selector: string, value: unknown, options: Options): Predicate {
  if (!Array.isArray(value) || value.some(isRegExp)) return queryOperators.$in(selector, value, options) as Predicate;
  const members = HashMap.init<unknown, true>();
  for (const member of value) members.set(member, true);
  const holdsNull = members.has(null);
  return (obj) => {
    const found = resolve(obj as Parameters<typeof resolve>[0], selector, { unwrapArray: true });
    if (isNil(found)) return holdsNull;
    return ensureArray(found).some((item) => members.has(item));
  };
}

export function hashedNin(selector: string, value: unknown, options: Options): Predicate {
  if (!Array.isArray(value) || value.some(isRegExp)) return queryOperators.$nin(selector, value, options) as Predicate;
  const isIn = hashedIn(selector, value, options);
  return (obj) => !isIn(obj);
}
