import type { AccessClaims } from '../ports/authenticator.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { OBJECT_ID } from '../crud/ids.js';
import { UnauthorizedError } from '../errors.js';
import { requireAuthenticated } from './access.js';
import { permissionsOf } from './roles.js';

/** The documented answer for a user who exists only in the profile store. */
export const NOT_LOGGED = 'Missing authUserId, user not logged';

/**
 * `GET /userinfo`: the identity claims (always) merged over the profile properties chosen by
 * USERINFO_ADDITIONAL_PROPERTIES (unset: all, empty: none, a list: those).
 */
export async function userinfo(ctx: Context): Promise<Record<string, unknown>> {
  const caller = await requireAuthenticated(ctx);
  const { config } = ctx.deps;
  if (!caller.claims) {
    if (caller.kind === 'gateway' && caller.actorId !== 'public') return gatewayUserinfo(ctx, caller.actorId);
    throw new UnauthorizedError(NOT_LOGGED);
  }
  const claims = identityClaims(caller.claims, config.CUSTOM_USER_ID_KEY);
  const [profile] = await ctx.deps.users.find({ authUserId: caller.claims.sub }, { states: ALL_STATES, limit: 1, scope: ctx.scope });
  return {
    ...selectProperties(profile ?? {}, config.USERINFO_ADDITIONAL_PROPERTIES),
    ...(await permissionsClaim(ctx, profile?.roles)),
    ...caller.claims.providerUserinfo,
    ...claims,
  };
}

/**
 * `permissions`, the union of the permissions of the user's roles, when it is listed in
 * USERINFO_ADDITIONAL_PROPERTIES and roles are configured (embedded, or ROLES_CRUD_ENDPOINT).
 */
async function permissionsClaim(ctx: Context, roles: string[] | undefined): Promise<{ permissions?: string[] }> {
  const { config } = ctx.deps;
  if (!config.USERINFO_ADDITIONAL_PROPERTIES?.includes('permissions')) return {};
  if (config.ROND_ENABLED && !config.ROLES_CRUD_ENDPOINT) return {};
  return { permissions: await permissionsOf(ctx, roles) };
}

function identityClaims(claims: AccessClaims, userIdKey: string): Record<string, unknown> {
  const out: Record<string, unknown> = { sub: claims.sub, [userIdKey]: claims.sub };
  for (const key of ['username', 'email', 'email_verified', 'userGroup'] as const) {
    if (claims[key] !== undefined) out[key] = claims[key];
  }
  return out;
}

/** The profile's own fields that `wanted` names, in its order (the whole profile without a list). */
export function selectProperties(profile: Record<string, unknown>, wanted: readonly string[] | undefined): Record<string, unknown> {
  if (wanted === undefined) return profile;
  return Object.fromEntries(wanted.filter((key) => Object.hasOwn(profile, key)).map((key) => [key, profile[key]]));
}

async function gatewayUserinfo(ctx: Context, userId: string): Promise<Record<string, unknown>> {
  const options = { states: ALL_STATES, scope: ctx.scope };
  const [profile] = OBJECT_ID.test(userId)
    ? [await ctx.deps.users.get(userId, options)]
    : await ctx.deps.users.find({ authUserId: userId }, { ...options, limit: 1 });
  if (!profile?.authUserId) throw new UnauthorizedError(NOT_LOGGED);
  const claims = { sub: profile.authUserId, [ctx.deps.config.CUSTOM_USER_ID_KEY]: profile.authUserId };
  return { ...selectProperties(profile, ctx.deps.config.USERINFO_ADDITIONAL_PROPERTIES), ...claims };
}
