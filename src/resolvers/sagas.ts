import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { abortExpiration, scheduleExpiration } from './expiration.js';
import { followLinked } from './linked-follow.js';
import { revokeAccess } from './revocation.js';
import { deleteIdentity, identityOutcomeUnknown } from './roles.js';
import { bulkSourcesOf, type State } from '../crud/states.js';
import { userBusy } from '../errors.js';
import { compensate, setBlocked } from './saga-steps.js';
import { closeSync, identityBlocked, noteScheduled, openSync, runSynced, type SyncHandle } from './user-sync.js';
import { storedUser } from './stored-user.js';

/**
 * Moves one user to `stateTo` in the profile store and mirrors it in the identity provider:
 * DRAFT and TRASH block, PUBLIC unblocks (a profile not blocked itself), DELETED deletes
 * (AUTH_HARD_DELETE) or blocks.
 * Either both sides change or neither does. `user` is the profile as found, before the user's
 * lock: it is read again under it, and moved only if it is still in one of `sources` (undefined
 * when it is not: another request moved it meanwhile, it no longer matches). Answers the profile
 * the move acted on, as read under the lock.
 */
export async function transitionUser(
  ctx: Context,
  user: UserDoc,
  stateTo: State,
  sources: readonly State[] = bulkSourcesOf(stateTo),
): Promise<UserDoc | undefined> {
  const moved = await moveUser(ctx, user, stateTo, sources);
  if (!moved) return undefined;
  // Out of PUBLIC, the user may no longer log in: the sessions it has end too.
  if (stateTo !== 'PUBLIC') await revokeAccess(ctx, user.authUserId);
  else if (user.authUserId) ctx.deps.callerProfiles.forget(user.authUserId);
  return moved;
}

/**
 * A user moves under its lock (`user-sync`), whatever the move: one that changes nothing in the
 * identity (DRAFT ↔ TRASH) written without it could land after a move to PUBLIC that read the
 * same profile and unblocked the identity (TRASH, unblocked). A user without identity too: its
 * move, acting on the profile read first, met a user moved or deleted meanwhile (the CRUD's 400
 * for a refused transition, a 404, answered to a valid request). With an identity step, the intent
 * guards the move: a failure (or a process that dies) leaves the identity following the profile
 * as stored, whichever step the failure hid.
 */
async function moveUser(ctx: Context, found: UserDoc, stateTo: State, sources: readonly State[]): Promise<UserDoc | undefined> {
  const leaving = found.__STATE__ === 'DELETED' && stateTo !== 'DELETED';
  const sync = await openSync(ctx, found, { replaced: leaving && found.expirationDate ? found.expirationId : undefined });
  const user = await readUnderLock(ctx, found, sync, sources);
  if (!user) return undefined;
  const authUserId = found.authUserId;
  if (!authUserId) {
    await moveProfileOnly(ctx, user, stateTo, sync);
    return user;
  }
  if (leaving) {
    await leaveDeleted(ctx, user, stateTo, authUserId, sync);
    return user;
  }
  const hardDelete = stateTo === 'DELETED' && ctx.deps.config.AUTH_HARD_DELETE;
  // Held while the steps run: one that outlasts the lease must not be raced by the reconciler.
  // Its lease checked before each step (`held`): one whose renewals failed for a lease wrote its
  // state after another write had taken the user and made the identity follow the profile.
  await runSynced(ctx, sync, async (held) => {
    held();
    // Not checked between its two steps: once the profile is DELETED, the identity's deletion follows it.
    if (hardDelete) return deleteMoving(ctx, user, authUserId);
    // PUBLIC unblocks only a profile that is not blocked itself: an administrator's block or an
    // expiry (`blocked: true`) stays, as every other write makes the identity follow the profile.
    const blocked = identityBlocked({ ...user, __STATE__: stateTo });
    if (identityBlocked(user) !== blocked) await setBlocked(ctx, authUserId, blocked);
    held();
    await ctx.deps.users.setState(user._id, stateTo, ctx.scope);
    return true;
  });
  return user;
}

/**
 * A user without identity: the profile moves alone, under the user's lock (a schedule made on the
 * way out of DELETED saved in the intent, which aborts it on a failure unless the profile points
 * to it). A bulk activation, which links without the lock, linking it meanwhile is followed after
 * the lock is let go.
 */
async function moveProfileOnly(ctx: Context, user: UserDoc, stateTo: State, sync: SyncHandle): Promise<void> {
  await runSynced(ctx, sync, async (held) => {
    held();
    if (user.__STATE__ === 'DELETED' && stateTo !== 'DELETED') {
      await scheduleAgain(ctx, user, { note: (expirationId) => noteScheduled(ctx, sync, expirationId) });
    }
    held();
    await ctx.deps.users.setState(user._id, stateTo, ctx.scope);
  });
  if (identityBlocked(user) !== identityBlocked({ ...user, __STATE__: stateTo })) await followIfLinked(ctx, user._id);
}

/**
 * The profile as stored once the lock is held: the move acts on it, not on what was found before.
 * Gone or in none of `sources`: nothing to move (undefined). Unlinked or linked to another identity,
 * or moved into or out of DELETED meanwhile (the intent recorded names the identity and the
 * schedule it replaces): the 409 `USER_BUSY` a racing write gets, before any step.
 */
async function readUnderLock(ctx: Context, found: UserDoc, sync: SyncHandle, sources: readonly State[]): Promise<UserDoc | undefined> {
  let stored: UserDoc | undefined;
  try {
    stored = await storedUser(ctx, found._id);
  } catch (error) {
    await closeSync(ctx, sync, true);
    throw error;
  }
  if (!stored || !stored.__STATE__ || !sources.includes(stored.__STATE__)) {
    await closeSync(ctx, sync, true);
    return undefined;
  }
  const deletedMoved = (stored.__STATE__ === 'DELETED') !== (found.__STATE__ === 'DELETED');
  const redated = found.__STATE__ === 'DELETED' && stored.expirationId !== found.expirationId;
  if (stored.authUserId === found.authUserId && !deletedMoved && !redated) return stored;
  await closeSync(ctx, sync, true);
  throw userBusy(found._id);
}

/**
 * Out of DELETED: a profile whose identity is gone (deleted by AUTH_HARD_DELETE) is unlinked first,
 * then moved, so it leaves DELETED as a profile-only user (a bulk activation may give it a new
 * identity) rather than one pointing to an identity that no longer exists (no login, a PUBLIC that
 * unblocks nothing). Under the user's lock: a hard delete still being finished (its intent held, or
 * stale and finished by `openSync`) is never raced. A process dying between the two writes leaves a
 * DELETED profile-only user, whose move the client's retry makes; nothing is lost, the identity being
 * gone. An identity still there (blocked, DELETED without AUTH_HARD_DELETE) stays linked and follows.
 * Its expiry is scheduled again in the same write as the unlink (`scheduleAgain`); the new schedule
 * is saved in the intent first and the old one named as `replaced`, so a repair keeps the one the
 * profile points to and aborts the other.
 */
async function leaveDeleted(ctx: Context, user: UserDoc, stateTo: State, authUserId: string, sync: SyncHandle): Promise<void> {
  // Held while the steps run: a step that outlasts the lease let the reconciler abort the new
  // schedule before the profile pointed to it (a user that never expired).
  await runSynced(ctx, sync, async (held) => {
    const [identity] = await ctx.deps.identity.getUsers([authUserId]);
    const blocked = identityBlocked({ ...user, __STATE__: stateTo });
    held();
    if (identity && identity.blocked !== blocked) await setBlocked(ctx, authUserId, blocked);
    held();
    await scheduleAgain(ctx, user, {
      unlink: !identity,
      note: (expirationId) => noteScheduled(ctx, sync, expirationId),
    });
    held();
    await ctx.deps.users.setState(user._id, stateTo, ctx.scope);
  });
}

/**
 * A user leaving DELETED keeps its `expirationDate`, but a soft delete aborted the schedule its
 * `expirationId` names: moved back, it never expired (PUBLIC, its identity unblocked, past its
 * date). Its date is scheduled again and the profile pointed to the new schedule while still
 * DELETED, before the move (with the unlink of a gone identity, in one write), then the old one is
 * aborted (it may still be live: `POST /users/state` to DELETED aborts nothing). A process dying
 * between the schedule and the write leaves a schedule that fires for the user's own date, doing
 * what the profile's does; between the write and the move, a DELETED user with a live schedule,
 * which blocks a user already blocked. A date gone by is scheduled too: it fires at once and blocks
 * the user, as its own schedule would have. `note` saves the new schedule where a repair finds it.
 */
async function scheduleAgain(
  ctx: Context,
  user: UserDoc,
  { unlink = false, note }: { unlink?: boolean; note: (expirationId: string) => Promise<void> },
): Promise<void> {
  const expirationId = await scheduleExpiration(ctx, user);
  if (!expirationId && !unlink) return;
  if (expirationId) await note(expirationId);
  const update = { ...(expirationId && { $set: { expirationId } }), ...(unlink && { $unset: { authUserId: true as const } }) };
  // A failure leaves the new schedule to the intent's repair, which aborts it unless the profile points to it.
  const written = await ctx.deps.users.patch(user._id, update, { states: ['DELETED'] }, ctx.scope);
  if (!expirationId) return;
  // Moved out meanwhile by another request, which scheduled it: this one is not pointed to.
  await abortExpiration(ctx, written ? user.expirationId : expirationId);
}

/**
 * A user moved without identity, whose blocked state the move changed: a bulk activation may have
 * linked it meanwhile to an identity made from the profile it read before the move (unblocked out
 * of TRASH, say). Read again (only such moves pay the read), a linked profile has its identity
 * follow, under the user's lock; one another write holds is left to it; with the job store failing
 * to record that intent, unguarded, until the profile stops moving (`followLinked`). Its failure
 * is logged: the move itself is done.
 */
async function followIfLinked(ctx: Context, userId: string): Promise<void> {
  await compensate(ctx, `make the identity of ${userId} follow its new state`, async () => {
    const moved = await storedUser(ctx, userId);
    if (moved?.authUserId) await followLinked(ctx, moved, { roles: false });
  });
}

/**
 * DELETED, then the identity and its bindings; false when the bindings are left (Rönd down): that
 * fails nothing, the intent stays open and the reconciler revokes them later.
 */
async function deleteMoving(ctx: Context, user: UserDoc, authUserId: string): Promise<boolean> {
  const { users } = ctx.deps;
  const from = user.__STATE__;
  await users.setState(user._id, 'DELETED', ctx.scope);
  try {
    return !(await deleteIdentity(ctx, authUserId)).rolesLeft;
  } catch (error) {
    // The identity may be gone: the profile stays DELETED, which its intent makes the identity follow.
    if (identityOutcomeUnknown(error)) throw error;
    await compensate(ctx, `move user ${user._id} back to ${from}`, () => users.setState(user._id, from, ctx.scope));
    throw error;
  }
}
