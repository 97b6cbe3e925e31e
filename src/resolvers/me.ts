import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import type { UserDoc } from '../ports/user-store.js';
import { requireAuthenticated } from './access.js';
import { selectProperties, userinfo } from './userinfo.js';

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
  const listed = ctx.deps.config.USERINFO_ADDITIONAL_PROPERTIES;
  return profile && !caller.admin && listed !== undefined ? shownToItself(profile, listed) : profile;
}

/**
 * What a user who is no administrator sees of its own profile when USERINFO_ADDITIONAL_PROPERTIES
 * lists what `/userinfo` shows: the fields `/userinfo` names anyway (its id, group and login names),
 * what the User type cannot be without (state, dates), and the listed properties. `me.user` showed
 * every property, and who created and changed the profile, whatever the list kept from `/userinfo`.
 */
function shownToItself(profile: UserDoc, listed: readonly string[]): UserDoc {
  return selectProperties(profile, [...ALWAYS_SHOWN, ...listed]) as UserDoc;
}

const ALWAYS_SHOWN = ['_id', 'userGroup', 'authUserId', 'username', 'email', '__STATE__', 'createdAt', 'updatedAt'];
