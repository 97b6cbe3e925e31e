import { z } from 'zod';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { ConflictError, NotFoundError, userBusy } from '../errors.js';
import { attachExpiration, attachIdentity, undoRegistration } from './creation-steps.js';
import { abortExpiration } from './expiration.js';
import { sendWelcomeReset } from './auth.js';
import { type CreationIntent, type CreationProgress, intentId, USER_CREATION } from './intents.js';
import type { JobHandler } from '../infra/job-worker.js';
import { grantRoles, revokeRoles } from './roles.js';
import { holdingIntent } from './intent-jobs.js';
import { followLinkedProfile } from './sync-follow.js';
import { closeSync, identityBlocked, openSync } from './user-sync.js';
import { storedUser } from './stored-user.js';

const Intent = z.object({
  userId: z.string().min(1),
  kind: z.enum(['create', 'register', 'link']),
  identity: z.boolean(),
  sendResetPwdEmail: z.boolean().optional(),
});
const Progress = z
  .object({ authUserId: z.string().optional(), expirationId: z.string().optional(), undo: z.boolean().optional() })
  .catch({});

/**
 * The reconciler of user creations: an intent left open (its process died, or its request could
 * not undo what it made) is claimed by a replica once its lease lapses, and the user is made
 * whole or absent. Runs again after any failure: an upstream being down delays a repair, never
 * abandons it.
 */
export const userCreationRepair: JobHandler<CreationProgress> = {
  type: USER_CREATION,
  retryForever: true,
  discardWhenDone: true,
  async run(ctx, job, run) {
    const progress = Progress.parse(run.progress ?? {});
    // Its lease checked before each external step: a repair whose renewals failed for a lease went on
    // after the client's retry had finished the creation, and bound the roles it had read before a
    // PATCH that followed (`JobRun.assertHeld`).
    const steps = { save: (more: CreationProgress) => run.save({ ...progress, ...more }), held: () => run.assertHeld() };
    const outcome = await repair(ctx, job.payload, progress, steps);
    return { status: 'completed', result: { ...progress, outcome } };
  },
};

/** What a repair did: `removed` (undone), `absent`, `whole`, `linked`, `identity created`, … */
export type RepairOutcome = string;

/**
 * Repairs the creation of `userId` at once if its intent is open and no process holds it (its
 * request gave up, or died); undefined when there is none to take (finished, or still being
 * worked on). For a retry that clashes with the user its lost answer was about.
 */
export async function repairNow(ctx: Context, userId: string, kind: CreationIntent['kind']): Promise<RepairOutcome | undefined> {
  const { jobs, replicaId, config } = ctx.deps;
  const jobId = intentId(userId);
  // Only an intent of the kind the caller repeats: a clash with another operation's user is no retry of it.
  const pending = await jobs.get(jobId);
  if (!pending || Intent.safeParse(pending.payload).data?.kind !== kind) return undefined;
  if (!(await jobs.claim(jobId, replicaId, config.JOBS_LEASE_MS))) return undefined;
  const job = await jobs.get(jobId);
  if (!job) return undefined;
  const progress = Progress.parse(job.result ?? {});
  const save = async (more: CreationProgress) => {
    await jobs.heartbeat(jobId, replicaId, config.JOBS_LEASE_MS, { ...progress, ...more });
  };
  const outcome = await repair(ctx, job.payload, progress, { save, held: () => {} });
  await jobs.discard(jobId, replicaId);
  return outcome;
}

/**
 * What a repair's steps need from whoever runs it: `save` records how far it got, `held` is called
 * before each external step and throws once the intent may no longer be the caller's.
 */
interface RepairSteps {
  save: (progress: CreationProgress) => Promise<void>;
  held: () => void;
  /** Makes the identity follow its profile changed while it was made (the repair holding the user's lock). */
  follow?: (linked: UserDoc) => Promise<unknown>;
}

async function repair(ctx: Context, payload: unknown, progress: CreationProgress, steps: RepairSteps): Promise<RepairOutcome> {
  const intent = Intent.parse(payload);
  const outcome = progress.undo
    ? await undoCreation(ctx, intent, progress, steps.held)
    : await finishCreation(ctx, intent, progress, steps);
  ctx.deps.logger.info({ userId: intent.userId, kind: intent.kind, outcome }, 'user creation repaired');
  return outcome;
}

/** The request's caller got an error: whatever it made goes. */
async function undoCreation(ctx: Context, intent: CreationIntent, progress: CreationProgress, held: () => void): Promise<string> {
  // A registration undoes only its identity (and the profile's link to it): the profile was there before it.
  if (intent.kind === 'register') {
    held();
    if (progress.authUserId) await undoRegistration(ctx, intent.userId, progress.authUserId);
    return progress.authUserId ? 'identity removed' : 'nothing left';
  }
  const profile = await storedUser(ctx, intent.userId);
  held();
  if (progress.authUserId) await ctx.deps.identity.deleteUser(progress.authUserId);
  held();
  await abortExpiration(ctx, progress.expirationId);
  if (!profile) return progress.authUserId ? 'identity removed' : 'nothing left';
  held();
  await ctx.deps.users.delete(profile._id, { states: ALL_STATES, scope: ctx.scope });
  return 'removed';
}

/** The process died mid-way: the creation is finished where a profile was made, undone where none was. */
async function finishCreation(ctx: Context, intent: CreationIntent, progress: CreationProgress, steps: RepairSteps): Promise<string> {
  const { held } = steps;
  const profile = await storedUser(ctx, intent.userId);
  if (!profile) {
    // Its insert never happened (or was undone), or it was deleted (a registration's profile): an
    // identity made for it has no profile to serve. A link's identity existed before: it stays.
    held();
    if (progress.authUserId && intent.kind !== 'link') await ctx.deps.identity.deleteUser(progress.authUserId);
    held();
    await abortExpiration(ctx, progress.expirationId);
    return 'absent';
  }
  // The request checks the group again once the user is stored (a group deletion counts users
  // after its delete); it may have died first. A user whose group is gone is undone.
  if (intent.kind !== 'register' && !(await ctx.deps.groups.getGroup(profile.userGroup))) return undoCreation(ctx, intent, progress, held);
  return finishUnderLock(ctx, intent, profile, progress, steps);
}

/**
 * The steps on a stored profile run under the user's lock (`user-sync`), as every write of both
 * sides does, on the profile read again once it is held: a `PATCH` of the roles and of `blocked`
 * landing between the repair's read and its steps (the user linked by then) was undone on the
 * identity side (its old roles granted, the identity unblocked beside a blocked profile). A write
 * holding the user, or a profile gone or linked otherwise meanwhile, is the 409 `USER_BUSY`: the
 * repair is tried again (the reconciler's back-off), and reads again. Whatever the repair came to,
 * its own intent (`user-creation`) finishes it: the lock goes.
 */
async function finishUnderLock(
  ctx: Context,
  intent: CreationIntent,
  found: UserDoc,
  progress: CreationProgress,
  steps: RepairSteps,
): Promise<string> {
  const sync = await openSync(ctx, found);
  try {
    const profile = await storedUser(ctx, found._id);
    if (!profile || profile.authUserId !== found.authUserId) {
      throw userBusy(found._id);
    }
    return await holdingIntent(ctx, sync, async (lockHeld) => {
      const held = () => {
        steps.held();
        lockHeld();
      };
      // The link's answer showing a profile changed meanwhile: the identity follows it here, this
      // repair holding the lock (`attachIdentity` would leave it to the holder).
      const follow = followLinkedProfile(ctx, held);
      const locked = { ...steps, held, follow };
      let outcome = 'whole';
      if (intent.identity) outcome = await ensureIdentity(ctx, intent, profile, progress, locked);
      await ensureSchedule(ctx, profile, progress, locked);
      return outcome;
    });
  } finally {
    await closeSync(ctx, sync, true);
  }
}

/**
 * A user with a date points to its schedule: the one this creation made when it made one (a
 * second would be left behind, unknown to the profile), else a new one. A schedule the creation
 * made that the profile does not point to (a later PATCH changed the date) goes.
 */
async function ensureSchedule(ctx: Context, profile: UserDoc, progress: CreationProgress, { save, held }: RepairSteps): Promise<void> {
  const made = progress.expirationId;
  if ((profile.expirationDate && !profile.expirationId) || (made && profile.expirationId !== made)) held();
  if (profile.expirationDate && !profile.expirationId) {
    if (!made) return attachExpiration(ctx, profile, (expirationId) => save({ expirationId }));
    await ctx.deps.users.patch(profile._id, { $set: { expirationId: made } }, { states: ALL_STATES }, ctx.scope);
  } else if (made && profile.expirationId !== made) await abortExpiration(ctx, made);
}

/** The profile points to an identity that exists, made now if need be (a random password and, if asked, the reset e-mail). */
async function ensureIdentity(
  ctx: Context,
  intent: CreationIntent,
  profile: UserDoc,
  progress: CreationProgress,
  { save, held, follow }: RepairSteps,
): Promise<string> {
  const linked = profile.authUserId ?? progress.authUserId;
  // Asked by id (a PATCH of the blocked flag it should have anyway), not through a search: Auth0's
  // search may not see a user made a moment ago, and a miss there is no proof it is gone.
  if (linked !== undefined) held();
  const exists = linked !== undefined && (await identityExists(ctx, linked, identityBlocked(profile)));
  if (exists) {
    held();
    if (profile.authUserId !== linked) await link(ctx, profile, linked);
    // An intent still open means the roles and the e-mail may not have followed the identity
    // this creation made (they come before the intent is closed): they are given now. A link's
    // identity existed before: only its roles (no password e-mail was asked for it).
    held();
    if (intent.kind === 'link') await grantRoles(ctx, linked, profile.roles);
    else if (progress.authUserId === linked) await afterIdentity(ctx, intent, profile, linked, held);
    return profile.authUserId === linked ? 'whole' : 'linked';
  }
  if (intent.kind === 'link') return 'identity missing';
  // The identity was never made, or the profile points to one that is gone: make it.
  held();
  if (profile.authUserId) await ctx.deps.users.patch(profile._id, { $unset: { authUserId: true } }, { states: ALL_STATES }, ctx.scope);
  let authUserId: string;
  try {
    held();
    authUserId = await attachIdentity(ctx, { ...profile, authUserId: undefined }, undefined, (id) => save({ authUserId: id }), follow);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    // An identity with its name exists that no intent recorded (made in the instant before the
    // record, or by someone else): not ours to link or remove. Left for an operator.
    ctx.deps.logger.error({ userId: profile._id, requestId: ctx.requestId }, 'a repaired user clashes with an unrecorded identity');
    return 'identity conflict';
  }
  await afterIdentity(ctx, intent, profile, authUserId, held);
  return 'identity created';
}

/** True when the identity exists (its blocked flag now matches the profile); false when it is gone. */
async function identityExists(ctx: Context, authUserId: string, blocked: boolean): Promise<boolean> {
  try {
    await ctx.deps.identity.updateUser(authUserId, { blocked });
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/**
 * A profile deleted since it was read answers no link: a `DELETE` of a profile without identity
 * takes no lock, and the repair went on to grant the roles of an identity no profile pointed to.
 * It fails instead; tried again, the repair finds no profile and deletes the identity it made.
 */
async function link(ctx: Context, profile: UserDoc, authUserId: string): Promise<void> {
  const linked = await ctx.deps.users.patch(profile._id, { $set: { authUserId } }, { states: ALL_STATES }, ctx.scope);
  if (!linked) throw new NotFoundError(`user ${profile._id} disappeared while its identity was linked`);
}

/**
 * What a creation does once the identity exists: roles, then the password e-mail if it was asked
 * for. The request may have granted them before it stopped, and a grant adds a binding each time:
 * revoked first, the identity this creation made (it has no other bindings) gets them once.
 */
async function afterIdentity(ctx: Context, intent: CreationIntent, profile: UserDoc, authUserId: string, held: () => void): Promise<void> {
  if (profile.roles?.length) {
    held();
    await revokeRoles(ctx, authUserId);
    held();
    await grantRoles(ctx, authUserId, profile.roles);
  }
  held();
  await sendWelcomeReset(ctx, authUserId, intent.sendResetPwdEmail);
}
