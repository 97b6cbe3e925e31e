import { update as applyUpdate } from 'mingo/updater';
import type { IdentityChanges } from '../ports/identity-provider.js';
import type { UpdateExpr, UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES, type State } from '../crud/states.js';
import { requireAdmin } from './access.js';
import { assertAllowedOperators, assertPullCondition, isPlainObject } from '../crud/filter.js';
import { linearQueryOptions, pullingDocumentsOnly } from '../crud/regex.js';
import { ConflictError, during, InvalidInputError, NotFoundError, PayloadTooLargeError } from '../errors.js';
import { parseInput, SERVICE_FIELDS, StandardFields } from './inputs.js';
import { abortExpiration, scheduleExpiration } from './expiration.js';
import { replaceRoles, sameRoles } from './roles.js';
import { followLinked } from './linked-follow.js';
import { revokeAccess } from './revocation.js';
import { isAdminGroup, securityEvent } from './security-events.js';
import { closeSync, followProfile, identityBlocked, identityFieldsDiffer, noteScheduled, openSync, type SyncHandle } from './user-sync.js';
import { compensate } from './saga-steps.js';
import { holdingIntent } from './intent-jobs.js';
import { getUser, LIVE_STATES, requireGroup } from './users.js';
import { groupFields, parseByIdRequest } from './by-id-query.js';
import { assertUpdateFits, assertWritableColumns, coerceUpdate } from '../crud/update-types.js';
import { assertArrayModifiers } from '../crud/update-modifiers.js';
import { assertPullCost } from '../crud/pull-cost.js';
import { readableDoc } from '../crud/projection.js';
import { shownId } from '../domain/input-limits.js';

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

/**
 * `PATCH /users/:id`: a CRUD PATCH body (a bare object means `$set`). The result is validated
 * against the new group's schema (or the current one); a changed expirationDate is rescheduled;
 * the identity provider gets the username, email and blocked changes first, and is put back if
 * the profile write then fails. A roles change is revoke-then-grant, after the write.
 */
export async function updateUser(ctx: Context, id: string, body: unknown, rawQuery = ''): Promise<UserDoc> {
  await requireAdmin(ctx);
  const request = parseByIdRequest(ctx, rawQuery);
  const query = request.query;
  // The caller's `_st` narrows the states, as on the CRUD; a DELETED user stays uneditable.
  const states = request.states ? LIVE_STATES.filter((state) => request.states!.includes(state)) : LIVE_STATES;
  // Values coerced by the group schemas, as the CRUD's PATCH schema coerces them ("9999" → 9999).
  const fields = await groupFields(ctx);
  const expr = coerceUpdate(toUpdateExpr(body), fields) as UpdateExpr;
  assertWritableColumns(expr, ctx.scope.headers.acl_write_columns, fields);
  const current = await getUser(ctx, id, states, 'updating user', query);
  assertUpdateFits(current, expr);
  assertPullCost(current, expr);
  const next = preview(current, expr, ctx.deps.config.BODY_LIMIT_BYTES);
  const group = await requireGroup(ctx, next.userGroup);
  ctx.deps.schemas.validateUser(group, next);
  const { updated, sync } = await during('updating user', () => writeBoth(ctx, { current, next, expr, query, states }));
  if (updated.userGroup !== current.userGroup || (identityBlocked(updated) && !identityBlocked(current))) {
    await revokeAccess(ctx, current.authUserId);
  } else if (current.authUserId) {
    ctx.deps.callerProfiles.forget(current.authUserId);
  }
  if (updated.expirationId !== current.expirationId) await abortExpiration(ctx, current.expirationId);
  if (sync) await finishRoles(ctx, { current, updated, sync });
  // Once this write's own lock is let go: a new date takes it too, and a follow inside would find it held.
  // Its roles too: the activation granted those it read, and this write, seeing no identity, bound none.
  const rebind = !current.authUserId && Boolean(updated.authUserId) && !sameRoles(current.roles, updated.roles);
  if (linkedMeanwhile(current, updated) || rebind) {
    await compensate(ctx, `make the identity of ${current._id} follow`, () => followLinked(ctx, updated, { roles: rebind }));
  }
  noteRoleChange(ctx, current, updated);
  return updated;
}

/** A change of group or roles is a security event; `admin` says when it made or unmade an administrator. */
function noteRoleChange(ctx: Context, before: UserDoc, after: UserDoc): void {
  const group = before.userGroup !== after.userGroup;
  const roles = !sameRoles(before.roles, after.roles);
  if (!group && !roles) return;
  const [was, is] = [isAdminGroup(ctx, before.userGroup), isAdminGroup(ctx, after.userGroup)];
  securityEvent(ctx, 'role.changed', {
    userId: after._id,
    authUserId: before.authUserId,
    ...(group ? { userGroup: { from: before.userGroup, to: after.userGroup } } : {}),
    ...(roles ? { roles: { from: before.roles ?? [], to: after.roles ?? [] } } : {}),
    ...(was !== is ? { admin: is ? 'granted' : 'revoked' } : {}),
  });
}

/** REST `PATCH /users/:id`: the updated user as the caller may read it (the acl_read_columns header). */
export async function updateUserAnswer(ctx: Context, id: string, body: unknown, rawQuery: string): Promise<Record<string, unknown>> {
  return readableDoc(await updateUser(ctx, id, body, rawQuery), ctx.scope.headers.acl_read_columns);
}

/**
 * A new, changed or removed expirationDate: schedules the new date and records its id (or unsets
 * it) in the same PATCH. Answers the new schedule, to abort if the PATCH fails.
 */
async function reschedule(ctx: Context, current: UserDoc, next: UserDoc, expr: UpdateExpr): Promise<string | undefined> {
  if (next.expirationDate === current.expirationDate) return undefined;
  if (!next.expirationDate) {
    if (current.expirationId) expr.$unset = { ...expr.$unset, expirationId: true };
    return undefined;
  }
  const expirationId = await scheduleExpiration(ctx, { _id: current._id, expirationDate: next.expirationDate });
  expr.$set = { ...expr.$set, expirationId };
  return expirationId;
}

/**
 * A new date replaces the schedule `current` points to, read before the user's lock was taken: a
 * write that landed in between (another replica's new date) made a schedule that this write would
 * then leave live with nothing pointing to it. Read again under the lock; changed, the write is the
 * 409 `USER_BUSY` a racing write gets, before anything is made.
 */
async function sameScheduleUnderLock(ctx: Context, current: UserDoc, sync: SyncHandle): Promise<void> {
  let stored: UserDoc | undefined;
  try {
    stored = await ctx.deps.users.get(current._id, { states: ALL_STATES, scope: ctx.scope });
  } catch (error) {
    await closeSync(ctx, sync, true);
    throw error;
  }
  if (!stored || stored.expirationId === current.expirationId) return;
  await closeSync(ctx, sync, true);
  throw new ConflictError(`user ${current._id} is being changed by another request: try again`, 'USER_BUSY');
}

interface Write {
  current: UserDoc;
  next: UserDoc;
  expr: UpdateExpr;
  query?: string;
  /** The states the caller's `_st` allows (LIVE_STATES at most). */
  states: readonly State[];
}

/**
 * The schedule, the identity, then the profile. With more than the profile to change, an intent
 * guards the steps: on a failure (or a process that dies) the identity and the schedule made
 * follow the profile as stored, whether or not a lost answer hid that a step was done. The
 * intent is answered open when the roles are still to be replaced (`finishRoles` closes it).
 */
async function writeBoth(ctx: Context, { current, next, expr, query, states }: Write): Promise<{ updated: UserDoc; sync?: SyncHandle }> {
  const changes = identityChanges(current, next);
  const roles = current.authUserId !== undefined && !sameRoles(current.roles, next.roles);
  const redated = next.expirationDate !== current.expirationDate;
  if (!changes && !roles && !redated) return { updated: await patchProfile(ctx, current._id, expr, { query, states }) };
  const sync = await openSync(ctx, current, { roles, replaced: redated ? current.expirationId : undefined });
  if (redated) await sameScheduleUnderLock(ctx, current, sync);
  let patched: UserDoc;
  try {
    // Held while the steps run: a step that outlasts the lease (a slow upstream, a REQUEST_TIMEOUT_MS
    // above JOBS_LEASE_MS) let the reconciler abort the new schedule before the profile pointed to it.
    patched = await holdingIntent(ctx, sync, async () => {
      await noteScheduled(ctx, sync, await reschedule(ctx, current, next, expr));
      if (changes) await ctx.deps.identity.updateUser(current.authUserId!, changes);
      return patchProfile(ctx, current._id, expr, { query, states });
    });
  } catch (error) {
    await followProfile(ctx, sync);
    throw error;
  }
  return { updated: patched, sync };
}

/**
 * A profile read without identity and written as such, which a bulk activation linked in between:
 * the identity it made has the values from before this write. Seen in the answer of the write
 * (no extra call); the identity is made to follow (under the lock), or left to the reconciler.
 */
function linkedMeanwhile(current: UserDoc, updated: UserDoc): boolean {
  return !current.authUserId && Boolean(updated.authUserId) && identityFieldsDiffer(current, updated);
}

/**
 * A roles change is revoke-then-grant, after the write. As documented, a failure reaches the
 * caller (the user may be left without roles); the intent then stays open and the reconciler
 * grants the profile's roles again, as it does when the process dies between the two.
 */
async function finishRoles(ctx: Context, { current, updated, sync }: { current: UserDoc; updated: UserDoc; sync: SyncHandle }) {
  try {
    const authUserId = current.authUserId;
    if (authUserId && !sameRoles(current.roles, updated.roles)) {
      await holdingIntent(ctx, sync, () => replaceRoles(ctx, authUserId, updated.roles));
    }
  } catch (error) {
    await closeSync(ctx, sync, false);
    throw error;
  }
  await closeSync(ctx, sync, true);
}

async function patchProfile(ctx: Context, id: string, expr: UpdateExpr, where: Pick<Write, 'query' | 'states'>): Promise<UserDoc> {
  const patched = await ctx.deps.users.patch(id, expr, { states: where.states, query: where.query }, ctx.scope);
  if (!patched) throw new NotFoundError(`user ${shownId(id)} not found`);
  return patched;
}

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
function preview(current: UserDoc, expr: UpdateExpr, maxBytes: number): UserDoc {
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

/** What the identity provider must change so it matches `next`; undefined when nothing. */
function identityChanges(current: UserDoc, next: UserDoc): IdentityChanges | undefined {
  if (!current.authUserId) return undefined;
  const changes: IdentityChanges = {};
  if (next.username !== current.username && next.username !== undefined) changes.username = next.username;
  if (next.email !== current.email && next.email !== undefined) changes.email = next.email;
  if (identityBlocked(next) !== identityBlocked(current)) changes.blocked = identityBlocked(next);
  return Object.keys(changes).length > 0 ? changes : undefined;
}
