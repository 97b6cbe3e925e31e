import type { IdentityChanges } from '../ports/identity-provider.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ConflictError } from '../errors.js';
import { ALL_STATES } from '../crud/states.js';
import { replaceRoles, sameRoles } from './roles.js';
import { followProfile, followUnlessHeld, identityBlocked, identityFieldsDiffer, openSync, type SyncHandle } from './user-sync.js';
import { intentUnrecorded } from './intent-jobs.js';

// An identity a bulk activation linked while another write changed its profile, made to follow
// that profile (activation-races.ts for the chunk's side, update-user.ts and sagas.ts for the write's).

/**
 * The identity and its bindings follow the profile as stored, under the user's lock; a failure once
 * the lock is taken is the reconciler's (`followProfile`: `left`). `held` when another write holds
 * the user; throws when the intent cannot be recorded. `mark` names the intent (`openSync`).
 */
export async function followRoles(ctx: Context, user: UserDoc, mark?: string): Promise<'followed' | 'left' | 'held'> {
  let sync: SyncHandle;
  try {
    sync = await openSync(ctx, user, { roles: true }, mark);
  } catch (error) {
    if (error instanceof ConflictError) return 'held';
    throw error;
  }
  return (await followProfile(ctx, sync)) ? 'followed' : 'left';
}

/**
 * A write that read its profile without identity, whose answer shows it linked (a bulk activation
 * linked it in between): the identity made from the profile as it was follows it now, and with
 * `roles` (the write changed them) its bindings too, granted from the roles the activation read.
 * Under the user's lock; a user another write holds is left to it.
 */
export async function followLinked(ctx: Context, user: UserDoc, { roles }: { roles: boolean }): Promise<void> {
  try {
    if (roles) await followRoles(ctx, user);
    else await followUnlessHeld(ctx, user);
  } catch (error) {
    if (!intentUnrecorded(error)) throw error;
    // The job store failing: no reconciler would find this follow, and the identity would keep
    // the values (and the bindings) from before the write for good. It follows unguarded, as a
    // Timer callback whose intent cannot be recorded expires its user (a guarded write racing it,
    // the store back for it, is followed by followUnguarded's reads again).
    ctx.deps.logger.error({ err: error, userId: user._id, requestId: ctx.requestId }, 'a follow intent could not be recorded');
    await followUnguarded(ctx, user, roles);
  }
}

/** How many times an unguarded follow writes the identity again for a profile that moved meanwhile. */
const UNGUARDED_ROUNDS = 3;

/**
 * The identity's e-mail, username and blocked state made the profile's, and with `roles` its
 * bindings. Without the user's lock, a guarded write may land meanwhile (the store back for it):
 * its identity write may come before this one, which would then undo it. The profile is read again
 * after each write, and one that moved is followed again. Left: a guarded write (identity first,
 * then profile) whose identity write is just before this one's and its profile write after the
 * read (docs/reliability.md).
 */
async function followUnguarded(ctx: Context, user: UserDoc, roles: boolean): Promise<void> {
  const authUserId = user.authUserId!;
  let profile = user;
  for (let round = 0; round < UNGUARDED_ROUNDS; round += 1) {
    await writeIdentity(ctx, profile, authUserId, roles);
    // Whatever the caller's acl_rows, as the reconciler reads it: the truth is needed.
    const after = await ctx.deps.users.get(user._id, { states: ALL_STATES, scope: { actorId: ctx.scope.actorId, headers: {} } });
    if (after?.authUserId !== authUserId) return;
    if (!identityFieldsDiffer(profile, after) && (!roles || sameRoles(profile.roles, after.roles))) return;
    profile = after;
  }
  ctx.deps.logger.error({ userId: user._id, requestId: ctx.requestId }, 'an identity followed unguarded a profile that kept moving');
}

async function writeIdentity(ctx: Context, user: UserDoc, authUserId: string, roles: boolean): Promise<void> {
  const [identity] = await ctx.deps.identity.getUsers([authUserId]);
  if (!identity) return;
  const changes: IdentityChanges = {};
  if (user.username !== undefined && user.username !== identity.username) changes.username = user.username;
  if (user.email !== undefined && user.email !== identity.email) changes.email = user.email;
  if (identityBlocked(user) !== identity.blocked) changes.blocked = identityBlocked(user);
  if (Object.keys(changes).length > 0) await ctx.deps.identity.updateUser(authUserId, changes);
  if (roles) await replaceRoles(ctx, authUserId, user.roles);
}
