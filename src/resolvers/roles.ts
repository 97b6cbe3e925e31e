import type { Context } from '../context.js';
import { withoutDeadline } from '../deadline.js';
import { during, UpstreamError } from '../errors.js';

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

/** Whether two lists of roles name the same roles, in any order. */
export function sameRoles(a: string[] | undefined, b: string[] | undefined): boolean {
  return JSON.stringify([...(a ?? [])].sort()) === JSON.stringify([...(b ?? [])].sort());
}

/** Removes every binding of a user (its identity is deleted). */
export async function revokeRoles(ctx: Context, authUserId: string): Promise<void> {
  await during('revoking roles', () => ctx.deps.roles.revoke(authUserId, ctx.scope));
}

/** Errors of identity deletions whose outcome is unknown: the provider failed and could not be asked. */
const unknownOutcomes = new WeakSet<object>();

/**
 * True for an error of `deleteIdentity` after which the identity may be gone or not: undoing the
 * operation (the profile put back, moved out of DELETED) could leave it pointing to nothing, so the
 * caller leaves its intent open instead and the reconciler deletes the identity once it can.
 */
export function identityOutcomeUnknown(error: unknown): boolean {
  return typeof error === 'object' && error !== null && unknownOutcomes.has(error);
}

/**
 * Deletes an identity, then its role bindings, which would outlive it: every place that deletes an
 * identity does both, in this order. The identity's failure throws, unless the identity is gone
 * all the same; when the provider cannot say, the error is marked (`identityOutcomeUnknown`), unless
 * the call never reached it (`notSent`: nothing to look up, the identity is there). The
 * bindings' failure (Rönd down) is logged and answered as `rolesLeft`: a request has done what its
 * client asked and leaves its intent open, a reconciler throws it to be run again (deleting a gone
 * identity is harmless). The revoke has its own calls' timeouts: it outlives the request's deadline.
 */
export async function deleteIdentity(ctx: Context, authUserId: string): Promise<{ rolesLeft?: unknown }> {
  try {
    await ctx.deps.identity.deleteUser(authUserId);
  } catch (error) {
    // A call that never left (connection refused, circuit open) did nothing: the caller undoes at once.
    if (error instanceof UpstreamError && error.notSent) throw error;
    // The provider may have acted and then answered an error (or lost the answer): undoing the
    // operation then would leave a profile pointing to an identity that is gone.
    const gone = await identityGone(ctx, authUserId);
    if (gone === 'unknown' && typeof error === 'object' && error !== null) unknownOutcomes.add(error);
    if (gone !== 'gone') throw error;
  }
  try {
    await withoutDeadline(() => revokeRoles(ctx, authUserId));
    return {};
  } catch (error) {
    ctx.deps.logger.error({ err: error, authUserId, requestId: ctx.requestId }, 'could not revoke the roles of a deleted identity');
    return { rolesLeft: error };
  }
}

/** What the provider says of the identity: gone, still there, or nothing (it cannot be asked). */
async function identityGone(ctx: Context, authUserId: string): Promise<'gone' | 'there' | 'unknown'> {
  try {
    const [identity] = await withoutDeadline(() => ctx.deps.identity.getUsers([authUserId]));
    return identity === undefined ? 'gone' : 'there';
  } catch {
    return 'unknown';
  }
}

/** The union of the permissions of these roles. */
export async function permissionsOf(ctx: Context, roles: string[] | undefined): Promise<string[]> {
  if (!roles?.length) return [];
  return during('reading permissions', () => ctx.deps.roles.permissionsOf(roles, ctx.scope));
}
