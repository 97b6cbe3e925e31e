import type { IdentityChanges } from '../ports/identity-provider.js';
import type { UpdateExpr, UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import type { State } from '../crud/states.js';
import { requireAdmin } from './access.js';
import { ConflictError, during, NotFoundError, userBusy } from '../errors.js';
import { abortExpiration, scheduleExpiration } from './expiration.js';
import { grantRoles, revokeRoles, sameRoles } from './roles.js';
import { followLinked } from './linked-follow.js';
import { revokeAccess } from './revocation.js';
import { isAdminGroup, securityEvent } from './security-events.js';
import { closeSync, followProfile, identityBlocked, identityFieldsDiffer, noteScheduled, openSync, type SyncHandle } from './user-sync.js';
import { compensate } from './saga-steps.js';
import { holdingIntent } from './intent-jobs.js';
import { getUser, LIVE_STATES, requireGroup } from './users.js';
import { groupFields, parseByIdRequest } from './by-id-query.js';
import { assertUpdateFits, assertWritableColumns, coerceUpdate } from '../crud/update-types.js';
import { assertPullCost } from '../crud/pull-cost.js';
import { readableDoc } from '../crud/projection.js';
import { assertKeepsLoginNames, preview, toUpdateExpr } from './update-body.js';
import { shownId } from '../domain/input-limits.js';
import { storedUser } from './stored-user.js';

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
  assertKeepsLoginNames(current, next);
  assertNoExpiredUnblock(ctx, current, next);
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

/**
 * An expired user stays blocked: its schedule fired once, so a PATCH unblocking it (`blocked:
 * false`, or `$unset` of `blocked`) with its date still behind it made the expired account usable
 * for good. Such an unblock is the 409 `USER_EXPIRED` unless the same request moves the date into
 * the future (scheduled again) or unsets it. By the service's clock, the one its expiries fire by.
 */
function assertNoExpiredUnblock(ctx: Context, current: UserDoc, next: UserDoc): void {
  if (current.blocked !== true || next.blocked === true || next.expirationDate === undefined || next.expirationDate === null) return;
  const due = Date.parse(String(next.expirationDate));
  if (!(due <= ctx.deps.clock.now())) return;
  throw new ConflictError(
    `user ${current._id} has expired: unblocking it needs an expirationDate in the future, or expirationDate unset, in the same request`,
    'USER_EXPIRED',
  );
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
    stored = await storedUser(ctx, current._id);
  } catch (error) {
    await closeSync(ctx, sync, true);
    throw error;
  }
  if (!stored || stored.expirationId === current.expirationId) return;
  await closeSync(ctx, sync, true);
  throw userBusy(current._id);
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
    // Its lease checked before each step (`held`): one whose renewals failed for a lease would act
    // on the user beside the write or reconciler that took it meanwhile.
    patched = await holdingIntent(ctx, sync, async (held) => {
      held();
      await noteScheduled(ctx, sync, await reschedule(ctx, current, next, expr));
      held();
      if (changes) await ctx.deps.identity.updateUser(current.authUserId!, changes);
      held();
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
      // Checked before the revoke and the grant: a write whose renewals failed for a lease after its
      // profile write bound its roles over those of the write that took the user meanwhile.
      await holdingIntent(ctx, sync, async (held) => {
        held();
        await revokeRoles(ctx, authUserId);
        held();
        await grantRoles(ctx, authUserId, updated.roles);
      });
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

/** What the identity provider must change so it matches `next`; undefined when nothing. */
function identityChanges(current: UserDoc, next: UserDoc): IdentityChanges | undefined {
  if (!current.authUserId) return undefined;
  const changes: IdentityChanges = {};
  if (next.username !== current.username && next.username !== undefined) changes.username = next.username;
  if (next.email !== current.email && next.email !== undefined) changes.email = next.email;
  if (identityBlocked(next) !== identityBlocked(current)) changes.blocked = identityBlocked(next);
  return Object.keys(changes).length > 0 ? changes : undefined;
}
