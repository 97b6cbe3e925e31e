import type { Context } from '../context.js';
import { InvalidInputError, TooManyRequestsError, UnauthorizedError } from '../errors.js';
import { requireAuthenticated } from './access.js';
import { checkLoginSizes, loginRefused } from './auth.js';
import { securityEvent } from './security-events.js';

/**
 * A signed-in user changes its own password with its current one: the way the bootstrap
 * administrator (no e-mail, so no reset link) replaces the password printed at the first start.
 * Only a user session may (not an API key or a gateway header: they name no password holder),
 * and only with the embedded provider; the caller's session stays, its other sessions end.
 */
export async function changeOwnPassword(ctx: Context, input: { currentPassword: string; newPassword: string }): Promise<void> {
  const caller = await requireAuthenticated(ctx);
  // The current password is hashed to be checked: no more than a login's (the new one meets the policy's 128).
  checkLoginSizes({ password: input.currentPassword }, 'currentPassword');
  const change = ctx.deps.auth.changeOwnPassword;
  if (!change) {
    throw new InvalidInputError(
      "The identity provider changes passwords itself: use requestPasswordChange (POST /users/change-password) and the reset e-mail's link",
    );
  }
  if (caller.kind !== 'user' || !caller.claims?.sid) throw new InvalidInputError('Only a signed-in user can change its own password');
  const authUserId = caller.claims.sub;
  try {
    await change({ authUserId, ...input, keepSessionId: caller.claims.sid });
  } catch (error) {
    // A wrong current password is a failed login (metrics, log, lockout event); a weak new one is not.
    if (error instanceof UnauthorizedError || error instanceof TooManyRequestsError)
      loginRefused(ctx, caller.claims.username ?? authUserId, error);
    throw error;
  }
  ctx.deps.callerProfiles.forget(authUserId);
  securityEvent(ctx, 'password.changed', { authUserId });
  securityEvent(ctx, 'session.revoked', { authUserId, reason: 'password_changed' });
}
