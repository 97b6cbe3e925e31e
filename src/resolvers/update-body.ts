import { update as applyUpdate } from 'mingo/updater';
import type { UpdateExpr, UserDoc } from '../ports/user-store.js';
import { assertAllowedOperators, assertPullCondition, isPlainObject } from '../crud/filter.js';
import { linearQueryOptions, pullingDocumentsOnly } from '../crud/regex.js';
import { InvalidInputError, PayloadTooLargeError } from '../errors.js';
import { parseInput, SERVICE_FIELDS, StandardFields } from './inputs.js';
import { assertArrayModifiers } from '../crud/update-modifiers.js';

/** A PATCH's body (`PATCH /users/:id`, GraphQL `updateUser`): its checks, and the user it makes. */

const PULL_QUERY_OPTIONS = linearQueryOptions(['body', '$pull']);
const PULL_ALSO: ReadonlySet<string> = new Set(['$nor']);
const OPERATORS = ['$set', '$unset', '$inc', '$mul', '$currentDate', '$push', '$pull', '$addToSet'] as const;
const NOT_EDITABLE = new Set(['authUserId', ...SERVICE_FIELDS]);
/**
 * The creation takes `password` as the identity's and the import's inserts refuse it: an update
 * would store it in the profile in clear text, for every list and export to show. `$unset` may
 * still remove one that an older version let in.
 */
const NOT_WRITABLE = 'password';
/** The largest array index an update path may name. */
const MAX_ARRAY_INDEX = 9_999;

/** Checks a CRUD PATCH body and normalises a bare object to `$set`. */
export function toUpdateExpr(body: unknown): UpdateExpr {
  if (!isPlainObject(body)) throw new InvalidInputError('body must be object', [{ path: ['body'], message: 'must be object' }]);
  const keys = Object.keys(body);
  const operatorKeys = keys.filter((key) => key.startsWith('$'));
  if (operatorKeys.length > 0 && operatorKeys.length < keys.length) {
    throw new InvalidInputError('body must NOT mix update operators and plain fields');
  }
  const expr: UpdateExpr = operatorKeys.length === 0 ? { $set: body } : {};
  for (const key of operatorKeys) {
    if (!(OPERATORS as readonly string[]).includes(key)) {
      throw new InvalidInputError(`body/${key} is not a supported update operator`, [{ path: ['body', key], message: 'unknown operator' }]);
    }
    const fields = body[key];
    if (!isPlainObject(fields))
      throw new InvalidInputError(`body/${key} must be object`, [{ path: ['body', key], message: 'must be object' }]);
    expr[key as (typeof OPERATORS)[number]] = fields;
  }
  for (const [operator, fields] of Object.entries(expr)) {
    for (const field of Object.keys(fields ?? {})) {
      // MongoDB refuses an empty segment; the embedded updater dropped it (`a..b` wrote `a`).
      if (field.split('.').includes('')) {
        const problem = 'a field path must not be empty nor have an empty segment';
        throw new InvalidInputError(`body/${operator}/${field}: ${problem}`, [{ path: ['body', operator, field], message: problem }]);
      }
      if (field.split('.').some((segment) => segment.startsWith('$'))) {
        const problem = 'array-element updates (field.$.replace, field.$.merge) are not offered: update the whole array';
        throw new InvalidInputError(`body/${operator}/${field}: ${problem}`, [{ path: ['body', operator, field], message: problem }]);
      }
      // A `$pull` condition is a query: the operators `_q` allows, and `$nor` (MongoDB's rule for
      // document items, regex.ts); `$expr` or `$where` reached the CRUD, its 500.
      // and in the shape MongoDB takes (`{"$size": "x"}`, `{"$or": []}` failed the update on the CRUD, its 500).
      if (operator === '$pull') {
        assertAllowedOperators(fields![field], ['body', operator, field], PULL_ALSO);
        assertPullCondition(fields![field], ['body', operator, field]);
      }
      assertArrayModifiers(operator, fields![field], ['body', operator, field]);
      const top = field.split('.')[0]!;
      if (NOT_EDITABLE.has(top) || (top === NOT_WRITABLE && operator !== '$unset')) {
        throw new InvalidInputError(`${field} is not editable`, [{ path: ['body', operator, field], message: 'not editable' }]);
      }
      // `tags.99999999` would pad the array with a hundred million nulls (and the process with them).
      if (field.split('.').some((segment) => /^\d+$/.test(segment) && Number(segment) > MAX_ARRAY_INDEX)) {
        throw new InvalidInputError(`${field}: an array index must be at most ${MAX_ARRAY_INDEX}`, [
          { path: ['body', operator, field], message: `array index above ${MAX_ARRAY_INDEX}` },
        ]);
      }
    }
  }
  return expr;
}

/** The user as it will be after the update, computed with MongoDB's update semantics; no larger than `maxBytes` of JSON. */
export function preview(current: UserDoc, expr: UpdateExpr, maxBytes: number): UserDoc {
  const next = structuredClone(current);
  try {
    // `$pull` conditions may hold a `$regex`: RE2, as in filters (a backtracking pattern blocked the event loop).
    applyUpdate(next, pullingDocumentsOnly(expr) as Parameters<typeof applyUpdate>[1], undefined, undefined, {
      queryOptions: PULL_QUERY_OPTIONS,
    });
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    // mingo's own words name its internals ("input[(input.length - 1)] is not iterable"): not the client's.
    throw new InvalidInputError('body cannot be applied to this user: an operator does not fit the value it updates');
  }
  const changed = Object.fromEntries(
    Object.entries(next).filter(([field, value]) => Object.hasOwn(StandardFields.shape, field) && value !== current[field]),
  );
  parseInput(StandardFields.partial(), changed, 'body');
  const json = JSON.stringify(next);
  if (Buffer.byteLength(json) > maxBytes) throw new PayloadTooLargeError(`the updated user would be larger than ${maxBytes} bytes`);
  return JSON.parse(json) as UserDoc;
}

/**
 * A user with an identity keeps its username and e-mail: they are the identity's login names, which
 * the identity provider keeps whatever the profile says, so a profile without them would no longer
 * tell who logs in as the user (the login kept working with the removed name).
 */
export function assertKeepsLoginNames(current: UserDoc, next: UserDoc): void {
  if (!current.authUserId) return;
  for (const field of ['username', 'email'] as const) {
    if (current[field] === undefined || next[field] !== undefined) continue;
    const problem = `a user with an identity keeps its ${field}: change it, or delete the user`;
    throw new InvalidInputError(`body/${field}: ${problem}`, [{ path: ['body', field], message: problem }]);
  }
}
