import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { withoutDeadline } from '../deadline.js';
import { revokeAccess } from './revocation.js';
import type { State } from '../crud/states.js';
import { NotFoundError } from '../errors.js';

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

/** The identity provider blocks a user who is blocked in the profile or not PUBLIC. */
export function identityBlocked(user: Pick<UserDoc, 'blocked' | '__STATE__'>): boolean {
  return user.blocked === true || (user.__STATE__ !== undefined && user.__STATE__ !== 'PUBLIC');
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

async function moveUser(ctx: Context, user: UserDoc, stateTo: State): Promise<void> {
  const { users, identity, config } = ctx.deps;
  const from = user.__STATE__;
  const authUserId = user.authUserId;
  if (!authUserId) return users.setState(user._id, stateTo, ctx.scope);
  if (stateTo === 'DELETED' && config.AUTH_HARD_DELETE) {
    await users.setState(user._id, stateTo, ctx.scope);
    try {
      await identity.deleteUser(authUserId);
    } catch (error) {
      await compensate(ctx, `move user ${user._id} back to ${from}`, () => users.setState(user._id, from, ctx.scope));
      throw error;
    }
    return;
  }
  const wasBlocked = identityBlocked(user);
  const blocked = stateTo !== 'PUBLIC';
  if (blocked !== wasBlocked) await setBlocked(ctx, authUserId, blocked);
  try {
    await users.setState(user._id, stateTo, ctx.scope);
  } catch (error) {
    if (blocked !== wasBlocked)
      await compensate(ctx, `restore blocked=${wasBlocked} on ${authUserId}`, () => setBlocked(ctx, authUserId, wasBlocked));
    throw error;
  }
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
