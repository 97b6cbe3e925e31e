import type { Context } from '../context.js';
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

/** The union of the permissions of these roles. */
export async function permissionsOf(ctx: Context, roles: string[] | undefined): Promise<string[]> {
  if (!roles?.length) return [];
  return during('reading permissions', () => ctx.deps.roles.permissionsOf(roles, ctx.scope));
}
