import type { Context } from '../context.js';
import { securityEvent } from './security-events.js';

/**
 * A user lost a right it may be using in a live session: its group changed, it was blocked,
 * moved out of PUBLIC or deleted. The access check forgets its cached profile and every session
 * of the user ends. A failure to end them is logged rather than failing the change, which is
 * done: the access check reads the new profile anyway.
 */
export async function revokeAccess(ctx: Context, authUserId: string | undefined): Promise<void> {
  if (!authUserId) return;
  ctx.deps.callerProfiles.forget(authUserId);
  try {
    await ctx.deps.auth.endSessions(authUserId);
    securityEvent(ctx, 'session.revoked', { authUserId, reason: 'access_changed' });
  } catch (error) {
    ctx.deps.logger.error({ err: error, authUserId, requestId: ctx.requestId }, 'the sessions of a user could not be ended');
  }
}
