import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { NotFoundError } from '../errors.js';
import type { UserDoc } from '../ports/user-store.js';
import { abortExpiration, scheduleExpiration } from './expiration.js';
import { randomPassword } from './random-password.js';
import { followUnlessHeld, identityBlocked, identityFieldsDiffer } from './user-sync.js';
import { compensate } from './saga-steps.js';
import { storedUser } from './stored-user.js';

// The steps of a user creation that the repair of an interrupted one (user-repair.ts) and the CSV
// import run again: shared here so neither imports the creation operation itself.

/**
 * Creates the identity user of a profile and stores its id there. `created` records the new id
 * (in the operation's intent) before the profile points to it, so whoever undoes or finishes the
 * operation knows the identity is its own.
 */
export async function attachIdentity(
  ctx: Context,
  user: UserDoc,
  password: string | undefined,
  created: (authUserId: string) => Promise<void>,
  follow: (linked: UserDoc) => Promise<unknown> = (linked) => followUnlessHeld(ctx, linked),
): Promise<string> {
  const identity = await ctx.deps.identity.createUser({
    username: user.username,
    email: user.email,
    password: password ?? randomPassword(ctx.deps.config.RANDOM_PWD_LENGTH),
    blocked: identityBlocked(user),
  });
  await created(identity.id);
  const patched = await ctx.deps.users.patch(user._id, { $set: { authUserId: identity.id } }, { states: ALL_STATES }, ctx.scope);
  if (!patched) throw new NotFoundError(`user ${user._id} disappeared while its identity was created`);
  // A profile-only write (a PATCH, a state change) landed while the identity was made from the
  // profile as read: seen in the link's answer (no extra call), the identity follows it now
  // (`follow`: under the user's lock, unless a caller holding it follows itself).
  if (identityFieldsDiffer(user, patched)) {
    await compensate(ctx, `make the identity of ${user._id} follow its changed profile`, () => follow(patched));
  }
  return identity.id;
}

/**
 * Undoes a registration's identity: the profile stops pointing to it (the link may have been
 * stored though its answer was lost), then it is deleted. In that order: a failure in between
 * leaves an identity the intent knows (the reconciler deletes it), never a profile pointing to
 * an identity that is gone, which no one would repair and a new registration would refuse.
 */
export async function undoRegistration(ctx: Context, userId: string, authUserId: string): Promise<void> {
  const profile = await storedUser(ctx, userId);
  if (profile?.authUserId === authUserId) {
    await ctx.deps.users.patch(userId, { $unset: { authUserId: true } }, { states: ALL_STATES }, ctx.scope);
  }
  await ctx.deps.identity.deleteUser(authUserId);
}

/**
 * Schedules the expiry of a new user and stores the schedule's id on it. `made` records the id (in
 * the operation's intent) before the profile points to it, so whoever finishes the operation links
 * that schedule instead of making a second one.
 */
export async function attachExpiration(ctx: Context, user: UserDoc, made?: (expirationId: string) => Promise<void>): Promise<void> {
  const attached = await tryAttachExpiration(ctx, user, made);
  if (!attached.failed) return;
  await abortExpiration(ctx, attached.expirationId);
  throw attached.error;
}

/** What `tryAttachExpiration` came to: on a failure, the schedule already made, if any. */
export type Attached = { failed: false } | { failed: true; error: unknown; expirationId?: string };

/**
 * As `attachExpiration`, but a failure leaves the schedule made to the caller: a CSV import aborts
 * it only once its row is taken back. A row left behind keeps it, or its user would point to (or
 * the reconciler link) a schedule that never fires.
 */
export async function tryAttachExpiration(ctx: Context, user: UserDoc, made?: (expirationId: string) => Promise<void>): Promise<Attached> {
  let expirationId: string | undefined;
  try {
    expirationId = await scheduleExpiration(ctx, user);
    if (!expirationId) return { failed: false };
    await made?.(expirationId);
    await ctx.deps.users.patch(user._id, { $set: { expirationId } }, { states: ALL_STATES }, ctx.scope);
    return { failed: false };
  } catch (error) {
    return { failed: true, error, expirationId };
  }
}
