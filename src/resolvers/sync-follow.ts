import type { IdentityChanges, IdentityUser } from '../ports/identity-provider.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { deleteIdentity, grantRoles, revokeRoles } from './roles.js';

// How a `user-sync` intent's repair makes the identity (its bindings, the schedules it names) follow
// the profile as stored (user-sync.ts records, holds and closes the intents).

/** What a repair needs of a `user-sync` intent. */
export interface FollowedIntent {
  userId: string;
  authUserId?: string;
  roles?: boolean;
  replaced?: string;
}

/** The identity provider blocks a user who is blocked in the profile or not PUBLIC. */
export function identityBlocked(user: Pick<UserDoc, 'blocked' | '__STATE__'>): boolean {
  return user.blocked === true || (user.__STATE__ !== undefined && user.__STATE__ !== 'PUBLIC');
}

/** Whether the fields an identity follows (e-mail, username, blocked) differ between two reads of a profile. */
export function identityFieldsDiffer(before: UserDoc, after: UserDoc): boolean {
  const moved = after.email !== before.email || after.username !== before.username;
  return moved || identityBlocked(after) !== identityBlocked(before);
}

/**
 * Errors of a repair that deleted the identity and could not revoke its bindings (Rönd down): the
 * intent stays open for the reconciler, but the identity side of the operation is done.
 */
export const bindingsLeft = new WeakSet<object>();

/** What making an identity follow its profile came to (`unlinked`: the profile is gone, or links another identity). */
export type SyncOutcome = 'unlinked' | 'identity deleted' | 'identity missing' | 'followed' | 'conflict';

/**
 * What a step that linked a profile to its identity calls after: the identity follows the profile,
 * the caller's lock checked by `held` before each change.
 */
export function followLinkedProfile(ctx: Context, held: () => void): (linked: UserDoc) => Promise<SyncOutcome> {
  return (linked) => syncToProfile(ctx, { userId: linked._id, authUserId: linked.authUserId }, undefined, held);
}

/** `held` is called before each external step: it throws once the caller no longer holds the intent. */
export async function syncToProfile(
  ctx: Context,
  intent: FollowedIntent,
  scheduled: string | undefined,
  held: () => void = () => {},
): Promise<SyncOutcome> {
  // Every user, whatever the caller's acl_rows: the truth is needed, not the caller's view of it.
  const profile = await ctx.deps.users.get(intent.userId, { states: ALL_STATES, scope: { actorId: ctx.scope.actorId, headers: {} } });
  for (const expirationId of [scheduled, intent.replaced]) {
    if (!expirationId || profile?.expirationId === expirationId) continue;
    held();
    await abortQuietly(ctx, expirationId);
  }
  const authUserId = intent.authUserId;
  if (!profile || !authUserId || profile.authUserId !== authUserId) return 'unlinked';
  if (profile.__STATE__ === 'DELETED' && ctx.deps.config.AUTH_HARD_DELETE) {
    held();
    const { rolesLeft } = await deleteIdentity(ctx, authUserId);
    if (rolesLeft) {
      if (typeof rolesLeft === 'object' && rolesLeft !== null) bindingsLeft.add(rolesLeft);
      throw rolesLeft;
    }
    return 'identity deleted';
  }
  const outcome = await followIdentity(ctx, profile, authUserId, held);
  // Revoke then grant again: the bindings of the identity are the profile's roles, whichever step was cut.
  if (intent.roles) {
    held();
    await revokeRoles(ctx, authUserId);
    held();
    await grantRoles(ctx, authUserId, profile.roles);
  }
  return outcome;
}

/** As documented for the Timer Service, an abort's error is ignored (a retry would fail the same way). */
async function abortQuietly(ctx: Context, expirationId: string): Promise<void> {
  try {
    await ctx.deps.scheduler.abort(expirationId);
  } catch (error) {
    ctx.deps.logger.error({ err: error, expirationId }, 'could not abort an expiration left by an interrupted operation');
  }
}

async function followIdentity(ctx: Context, profile: UserDoc, authUserId: string, held: () => void): Promise<SyncOutcome> {
  held();
  const [current] = await ctx.deps.identity.getUsers([authUserId]);
  if (!current) return 'identity missing';
  const changes = differences(current, profile);
  if (!changes) return 'followed';
  held();
  try {
    await ctx.deps.identity.updateUser(authUserId, changes);
  } catch (error) {
    // Deleted since it was read (a deletion finished by its reconciler takes no user-sync lock): nothing left to follow.
    if (error instanceof NotFoundError) return 'identity missing';
    // Another identity took the name or e-mail meanwhile, or the provider refuses the profile's
    // values: no retry will change that. Left for an operator.
    if (!(error instanceof ConflictError || error instanceof InvalidInputError)) throw error;
    ctx.deps.logger.error({ userId: profile._id, authUserId }, 'an identity cannot follow its profile: its name or e-mail is taken');
    return 'conflict';
  }
  return 'followed';
}

function differences(current: IdentityUser, profile: UserDoc): IdentityChanges | undefined {
  const changes: IdentityChanges = {};
  if (profile.username !== undefined && profile.username !== current.username) changes.username = profile.username;
  if (profile.email !== undefined && profile.email !== current.email) changes.email = profile.email;
  if (identityBlocked(profile) !== current.blocked) changes.blocked = identityBlocked(profile);
  return Object.keys(changes).length > 0 ? changes : undefined;
}
