import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { assertPasswordPolicy } from '../domain/password-policy.js';
import { ConflictError, during, InvalidInputError } from '../errors.js';
import { attachExpiration, attachIdentity } from './creation-steps.js';
import { requireAdmin } from './access.js';
import { sendWelcomeReset } from './auth.js';
import type { CreateUserBody, CreateUserWithIdBody } from './inputs.js';
import { grantRoles } from './roles.js';
import { adminCreated } from './security-events.js';
import { compensate } from './saga-steps.js';
import { holdingIntent } from './intent-jobs.js';
import { closeIntent, handOver, heldWhile, type IntentHandle, noteProgress, openIntent, release } from './intents.js';
import { repairNow } from './user-repair.js';
import { newObjectId } from '../crud/ids.js';
import { requireGroup } from './users.js';
import { shownId } from '../domain/input-limits.js';

export interface CreateUserOptions {
  postponeAuthUserCreation?: boolean;
  sendResetPwdEmail?: boolean;
}

/**
 * `POST /users/`: the profile first (with our own `_id`), then the identity user and `authUserId`
 * on the profile, then the expiration schedule. An intent is recorded before the first step and
 * removed after the last: if the process dies in between, the reconciler (user-repair.ts)
 * finishes the creation. If a step fails, the earlier ones are undone and the caller gets the
 * error; what cannot be undone now (an upstream is down) is left to the reconciler to remove.
 * A retry of a creation whose answer was lost finds its intent and gets the same user.
 */
export async function createUser(ctx: Context, body: CreateUserBody, options: CreateUserOptions = {}): Promise<{ _id: string }> {
  await requireAdmin(ctx);
  const { password: requested, ...profile } = body;
  const password = chosenPassword(ctx, requested);
  const group = await requireGroup(ctx, profile.userGroup);
  ctx.deps.schemas.validateUser(group, profile);
  const withIdentity = !options.postponeAuthUserCreation && !group.authUserCreationDisabled;
  if (withIdentity) assertIdentityFields(profile);
  const attempt = { ctx, profile, password, withIdentity, options };
  const created = await during('creating user', async () => {
    const done = (await createOnce(attempt)) ?? (await createOnce(attempt, { retried: true }));
    if (!done) throw new ConflictError('A user with the same username or email is being created');
    return done;
  });
  adminCreated(ctx, created._id, profile);
  return created;
}

interface CreationAttempt {
  ctx: Context;
  profile: Omit<CreateUserBody, 'password'> & { userGroup: string };
  password: string | undefined;
  withIdentity: boolean;
  options: CreateUserOptions;
}

/** One try; undefined when it found the same user's failed creation and removed it, so a second try can go. */
async function createOnce(
  { ctx, profile, password, withIdentity, options }: CreationAttempt,
  { retried = false } = {},
): Promise<{ _id: string } | undefined> {
  const _id = newObjectId();
  const intent = await openIntent(ctx, {
    userId: _id,
    kind: 'create',
    identity: withIdentity,
    sendResetPwdEmail: options.sendResetPwdEmail,
  });
  const inserted = await heldWhile(ctx, intent, () => ctx.deps.users.insert({ ...profile, _id }, ctx.scope));
  if (!inserted.ok) {
    const { error } = inserted;
    // A clash inserted nothing; any other failure may have inserted it (a lost answer): delete by our `_id`.
    const conflict = error instanceof ConflictError;
    await giveUp(ctx, intent, conflict ? [] : [undoProfile(ctx, intent, _id)]);
    if (!conflict || retried) throw error;
    const resumed = await resumedCreation(ctx, profile, error);
    return resumed === undefined ? undefined : { _id: resumed };
  }
  const created = inserted.value;
  const attached = await heldWhile(ctx, intent, async () => {
    // The group again, now the user is stored: deleteUserGroup counts the group's users after its
    // delete, so either it sees this user and puts the group back, or this read sees the group gone
    // and the creation is undone. A user is never left without its group.
    await requireGroup(ctx, profile.userGroup);
    if (withIdentity) await attachIdentity(ctx, created, password, (authUserId) => noteProgress(ctx, intent, { authUserId }));
    await attachExpiration(ctx, created, (expirationId) => noteProgress(ctx, intent, { expirationId }));
  });
  if (!attached.ok) {
    const identityId = intent.progress.authUserId;
    await giveUp(ctx, intent, [
      ...(identityId ? [() => ctx.deps.identity.deleteUser(identityId)] : []),
      undoProfile(ctx, intent, created._id),
    ]);
    throw attached.error;
  }
  const authUserId = intent.progress.authUserId;
  await finishWhole(ctx, intent, async () => {
    if (!authUserId) return;
    await grantRoles(ctx, authUserId, created.roles);
    await sendWelcomeReset(ctx, authUserId, options.sendResetPwdEmail);
  });
  return { _id: created._id };
}

/**
 * The undo of the profile this creation inserted: deleted unless it links an identity this creation
 * did not make, in one conditional delete. A request whose renewals failed for a lease while a step
 * was in flight (a slow identity provider) was taken over by the reconciler, which made the user
 * whole with an identity of its own; the request's identity then refused as a duplicate, its undo
 * deleted the profile, leaving that identity to no one. Such a profile is the reconciler's.
 */
function undoProfile(ctx: Context, intent: IntentHandle, _id: string): () => Promise<unknown> {
  return () => {
    const own = intent.progress.authUserId;
    const unlinked = { $or: [{ authUserId: { $exists: false } }, ...(own ? [{ authUserId: own }] : [])] };
    const query = `_q=${encodeURIComponent(JSON.stringify(unlinked))}`;
    return ctx.deps.users.delete(_id, { states: ALL_STATES, scope: ctx.scope, query });
  };
}

/**
 * Undoes the steps made, latest first: when all are undone the intent goes; when one cannot be
 * (its upstream is down), the intent is handed to the reconciler, which removes the rest later.
 */
export async function giveUp(ctx: Context, intent: IntentHandle, undos: (() => Promise<unknown>)[]): Promise<void> {
  let undone = true;
  // Held while it runs (undos have no deadline): a reconciler taking the creation over meanwhile
  // would finish it, making an identity for the profile this undo is about to delete.
  await holdingIntent(ctx, intent.jobId, async () => {
    for (const undo of undos) undone = (await compensate(ctx, 'undo a step of a failed creation', undo)) && undone;
  });
  if (undone) await closeIntent(ctx, intent);
  else await handOver(ctx, intent);
}

/** The steps after a user is whole (roles, e-mail), then the intent goes; failed, the intent is released for the reconciler. */
export async function finishWhole(ctx: Context, intent: IntentHandle, steps: () => Promise<void>): Promise<void> {
  const done = await heldWhile(ctx, intent, steps);
  if (!done.ok) {
    await release(ctx, intent);
    throw done.error;
  }
  await closeIntent(ctx, intent);
}

/**
 * The insert clashed: either a real duplicate (409), or the same user from a creation that did not
 * finish (a lost answer, a crash) and whose intent is open and no longer held. That one is
 * repaired now: finished, it is answered as if this request had created it (its id); undone
 * (its request had failed), this request creates the user afresh (undefined).
 */
async function resumedCreation(ctx: Context, profile: CreationAttempt['profile'], conflict: ConflictError): Promise<string | undefined> {
  const existing = await findSameUser(ctx, profile);
  const outcome = existing && (await repairNow(ctx, existing._id, 'create'));
  // Undone (its request had failed): this request creates the user afresh.
  if (existing && outcome === 'removed') return undefined;
  if (!existing || !outcome || !FINISHED.has(outcome)) throw conflict;
  return existing._id;
}

/** Repairs after which the user is whole: a retry may answer its id. */
const FINISHED = new Set(['whole', 'linked', 'identity created']);

async function findSameUser(ctx: Context, profile: CreationAttempt['profile']): Promise<UserDoc | undefined> {
  const keys = [profile.username && { username: profile.username }, profile.email && { email: profile.email }].filter(Boolean);
  if (keys.length === 0) return undefined;
  const [existing] = await ctx.deps.users.find({ $or: keys }, { states: ALL_STATES, limit: 1, scope: ctx.scope });
  return existing && existing.userGroup === profile.userGroup ? existing : undefined;
}

/** `POST /users/with-id`: a profile for an identity user that already exists (an intent guards the steps, as for createUser). */
export async function createUserWithId(ctx: Context, body: CreateUserWithIdBody): Promise<{ _id: string }> {
  await requireAdmin(ctx);
  const group = await requireGroup(ctx, body.userGroup);
  const [identity] = await ctx.deps.identity.getUsers([body.authUserId]);
  if (!identity) throw new InvalidInputError(`authUserId "${shownId(body.authUserId)}" does not exist in the authentication service`);
  const linked = await ctx.deps.users.find({ authUserId: body.authUserId }, { states: ALL_STATES, limit: 1, scope: ctx.scope });
  if (linked.length > 0) throw new InvalidInputError(`authUserId "${body.authUserId}" is already linked to user ${linked[0]!._id}`);
  const profile: Record<string, unknown> = { ...body };
  if (profile.username === undefined && identity.username) profile.username = identity.username;
  if (profile.email === undefined && identity.email) profile.email = identity.email;
  ctx.deps.schemas.validateUser(group, profile);
  const _id = newObjectId();
  const created = await during('creating user', async () => {
    const intent = await openIntent(ctx, { userId: _id, kind: 'link', identity: true });
    const undoProfile = () => ctx.deps.users.delete(_id, { states: ALL_STATES, scope: ctx.scope });
    const inserted = await heldWhile(ctx, intent, () => ctx.deps.users.insert({ ...profile, _id }, ctx.scope));
    if (!inserted.ok) {
      await giveUp(ctx, intent, [undoProfile]);
      throw inserted.error;
    }
    const created = inserted.value;
    const attached = await heldWhile(ctx, intent, async () => {
      if (body.blocked !== undefined && body.blocked !== identity.blocked)
        await ctx.deps.identity.updateUser(identity.id, { blocked: body.blocked });
      await attachExpiration(ctx, created, (expirationId) => noteProgress(ctx, intent, { expirationId }));
    });
    if (!attached.ok) {
      await giveUp(ctx, intent, [undoProfile]);
      throw attached.error;
    }
    await finishWhole(ctx, intent, () => grantRoles(ctx, identity.id, created.roles));
    return { _id: created._id };
  });
  adminCreated(ctx, created._id, { userGroup: body.userGroup, username: profile.username });
  return created;
}

/**
 * The password the identity user gets: the caller's (checked against the policy) only when
 * RANDOM_PWD_GEN is false; otherwise, or when none is given, a random one (undefined here).
 */
export function chosenPassword(ctx: Context, password: string | undefined): string | undefined {
  if (ctx.deps.config.RANDOM_PWD_GEN || !password) return undefined;
  assertPasswordPolicy(password);
  return password;
}

export function assertIdentityFields(user: { username?: unknown; email?: unknown }): void {
  if (!user.username && !user.email) {
    throw new InvalidInputError('username or email is required to create the user in the authentication service', [
      { path: ['body', 'username'], message: 'username or email is required' },
    ]);
  }
}
