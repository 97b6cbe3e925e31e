import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { withoutDeadline } from '../deadline.js';
import { followLinked } from './linked-follow.js';
import { revokeAccess } from './revocation.js';
import { deleteIdentity, identityOutcomeUnknown } from './roles.js';
import { ALL_STATES, type State } from '../crud/states.js';
import { NotFoundError } from '../errors.js';
import { closeSync, followProfile, identityBlocked, openSync } from './user-sync.js';

/**
 * Runs an undo step of a failed operation; answers whether it worked. Its own failure is logged,
 * never thrown: the caller reports the error that started the rollback.
 */
export async function compensate(ctx: Context, what: string, undo: () => Promise<unknown>): Promise<boolean> {
  try {
    // The step that failed may have been cut by the request's deadline: its undo gets its own
    // calls' timeouts rather than none at all.
    await withoutDeadline(undo);
    return true;
  } catch (error) {
    ctx.deps.logger.error({ err: error, requestId: ctx.requestId }, `could not ${what}`);
    return false;
  }
}

/**
 * Moves one user to `stateTo` in the profile store and mirrors it in the identity provider:
 * DRAFT and TRASH block, PUBLIC unblocks, DELETED deletes (AUTH_HARD_DELETE) or blocks.
 * Either both sides change or neither does.
 */
export async function transitionUser(ctx: Context, user: UserDoc, stateTo: State): Promise<void> {
  await moveUser(ctx, user, stateTo);
  // Out of PUBLIC, the user may no longer log in: the sessions it has end too.
  if (stateTo !== 'PUBLIC') await revokeAccess(ctx, user.authUserId);
  else if (user.authUserId) ctx.deps.callerProfiles.forget(user.authUserId);
}

/**
 * With an identity step, an intent guards the move: a failure (or a process that dies) leaves the
 * identity following the profile as stored, whichever step the failure hid.
 */
async function moveUser(ctx: Context, user: UserDoc, stateTo: State): Promise<void> {
  if (user.__STATE__ === 'DELETED' && stateTo !== 'DELETED' && user.authUserId) return leaveDeleted(ctx, user, stateTo, user.authUserId);
  const hardDelete = stateTo === 'DELETED' && ctx.deps.config.AUTH_HARD_DELETE;
  if (!user.authUserId || (!hardDelete && identityBlocked(user) === (stateTo !== 'PUBLIC'))) {
    await ctx.deps.users.setState(user._id, stateTo, ctx.scope);
    if (!user.authUserId && identityBlocked(user) !== identityBlocked({ ...user, __STATE__: stateTo })) await followIfLinked(ctx, user._id);
    return;
  }
  const sync = await openSync(ctx, user);
  let consistent = true;
  try {
    if (hardDelete) consistent = await deleteMoving(ctx, user, user.authUserId);
    else await blockMoving(ctx, user, stateTo, user.authUserId);
  } catch (error) {
    await followProfile(ctx, sync);
    throw error;
  }
  await closeSync(ctx, sync, consistent);
}

/**
 * Out of DELETED: a profile whose identity is gone (deleted by AUTH_HARD_DELETE) is unlinked first,
 * then moved, so it leaves DELETED as a profile-only user (a bulk activation may give it a new
 * identity) rather than one pointing to an identity that no longer exists (no login, a PUBLIC that
 * unblocks nothing). Under the user's lock: a hard delete still being finished (its intent held, or
 * stale and finished by `openSync`) is never raced. A process dying between the two writes leaves a
 * DELETED profile-only user, whose move the client's retry makes; nothing is lost, the identity being
 * gone. An identity still there (blocked, DELETED without AUTH_HARD_DELETE) stays linked and follows.
 */
async function leaveDeleted(ctx: Context, user: UserDoc, stateTo: State, authUserId: string): Promise<void> {
  const sync = await openSync(ctx, user);
  try {
    const [identity] = await ctx.deps.identity.getUsers([authUserId]);
    const blocked = identityBlocked({ ...user, __STATE__: stateTo });
    if (!identity) await ctx.deps.users.patch(user._id, { $unset: { authUserId: true } }, { states: ['DELETED'] }, ctx.scope);
    else if (identity.blocked !== blocked) await setBlocked(ctx, authUserId, blocked);
    await ctx.deps.users.setState(user._id, stateTo, ctx.scope);
  } catch (error) {
    await followProfile(ctx, sync);
    throw error;
  }
  await closeSync(ctx, sync, true);
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
    const moved = await ctx.deps.users.get(userId, { states: ALL_STATES, scope: ctx.scope });
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

async function blockMoving(ctx: Context, user: UserDoc, stateTo: State, authUserId: string): Promise<void> {
  await setBlocked(ctx, authUserId, stateTo !== 'PUBLIC');
  await ctx.deps.users.setState(user._id, stateTo, ctx.scope);
}

/** Blocks or unblocks an identity user; one that no longer exists has nothing to block. */
export async function setBlocked(ctx: Context, authUserId: string, blocked: boolean): Promise<void> {
  try {
    await ctx.deps.identity.updateUser(authUserId, { blocked });
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    ctx.deps.logger.warn({ authUserId, requestId: ctx.requestId }, 'identity user not found while changing its blocked flag');
  }
}
