import type { Context } from '../context.js';
import { withoutDeadline } from '../deadline.js';
import { during } from '../errors.js';

/** Grants a user's roles (its `authUserId` is the subject); users without roles get no binding. */
export async function grantRoles(ctx: Context, authUserId: string, roles: string[] | undefined): Promise<void> {
  if (!roles?.length) return;
  await during('granting roles', () => ctx.deps.roles.grant(authUserId, roles, ctx.scope));
}

/**
 * A roles change: revoke, then grant. As the original documents, if the grant fails after the
 * revoke the user is left with no roles and the caller gets the error.
 */
export async function replaceRoles(ctx: Context, authUserId: string, roles: string[] | undefined): Promise<void> {
  await revokeRoles(ctx, authUserId);
  await grantRoles(ctx, authUserId, roles);
}

/** Removes every binding of a user (its identity is deleted). */
export async function revokeRoles(ctx: Context, authUserId: string): Promise<void> {
  await during('revoking roles', () => ctx.deps.roles.revoke(authUserId, ctx.scope));
}

/**
 * Deletes an identity, then its role bindings, which would outlive it: every place that deletes an
 * identity does both, in this order. The identity's failure throws, unless the identity is gone
 * all the same. The bindings' failure (Rönd
 * down) is logged and answered as `rolesLeft`: a request has done what its client asked and
 * leaves its intent open, a reconciler throws it to be run again (deleting a gone identity is
 * harmless). The revoke has its own calls' timeouts: it outlives the request's deadline.
 */
export async function deleteIdentity(ctx: Context, authUserId: string): Promise<{ rolesLeft?: unknown }> {
  try {
    await ctx.deps.identity.deleteUser(authUserId);
  } catch (error) {
    // The provider may have acted and then answered an error (or lost the answer): undoing the
    // operation then would leave a profile pointing to an identity that is gone.
    if (!(await identityGone(ctx, authUserId))) throw error;
  }
  try {
    await withoutDeadline(() => revokeRoles(ctx, authUserId));
    return {};
  } catch (error) {
    ctx.deps.logger.error({ err: error, authUserId, requestId: ctx.requestId }, 'could not revoke the roles of a deleted identity');
    return { rolesLeft: error };
  }
}

/** True only when the provider says the identity does not exist; false when it does or cannot say. */
async function identityGone(ctx: Context, authUserId: string): Promise<boolean> {
  try {
    const [identity] = await withoutDeadline(() => ctx.deps.identity.getUsers([authUserId]));
    return identity === undefined;
  } catch {
    return false;
  }
}

/** The union of the permissions of these roles. */
export async function permissionsOf(ctx: Context, roles: string[] | undefined): Promise<string[]> {
  if (!roles?.length) return [];
  return during('reading permissions', () => ctx.deps.roles.permissionsOf(roles, ctx.scope));
}
