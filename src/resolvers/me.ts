import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import type { UserDoc } from '../ports/user-store.js';
import { requireAuthenticated } from './access.js';
import { userinfo } from './userinfo.js';

/** The caller as GraphQL's `me` shows it: what `/userinfo` answers, and whether it may manage users. */
export interface Me {
  claims: Record<string, unknown>;
  admin: boolean;
}

export async function me(ctx: Context): Promise<Me> {
  const caller = await requireAuthenticated(ctx);
  return { claims: await userinfo(ctx), admin: caller.admin };
}

/**
 * The caller's own profile, read as `/userinfo` reads it: with the request's platform headers, so
 * an `acl_rows` filter that hides the profile there hides it here too.
 */
export async function ownProfile(ctx: Context, caller: Me): Promise<UserDoc | undefined> {
  await requireAuthenticated(ctx);
  const authUserId = caller.claims.sub;
  if (typeof authUserId !== 'string') return undefined;
  const [profile] = await ctx.deps.users.find({ authUserId }, { states: ALL_STATES, limit: 1, scope: ctx.scope });
  return profile;
}
