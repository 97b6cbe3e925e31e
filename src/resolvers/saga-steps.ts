import type { Context } from '../context.js';
import { withoutDeadline } from '../deadline.js';
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

/** Blocks or unblocks an identity user; one that no longer exists has nothing to block. */
export async function setBlocked(ctx: Context, authUserId: string, blocked: boolean): Promise<void> {
  try {
    await ctx.deps.identity.updateUser(authUserId, { blocked });
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    ctx.deps.logger.warn({ authUserId, requestId: ctx.requestId }, 'identity user not found while changing its blocked flag');
  }
}
