import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import type { JobHandler } from '../infra/job-worker.js';
import { abortExpiration } from './expiration.js';
import { endIntent, recordIntent } from './intent-jobs.js';
import { revokeAccess } from './revocation.js';
import { deleteIdentity } from './roles.js';
import { storedUser } from './stored-user.js';

/** The job type of user-deletion intents; the reconciler below finishes the ones left open. */
export const USER_DELETION = 'user-deletion';

/** What the deletion removes besides the profile: kept in the intent, since the profile may be gone when it is read. */
const Intent = z.object({
  userId: z.string().min(1),
  authUserId: z.string().optional(),
  expirationId: z.string().optional(),
});
type DeletionIntent = z.infer<typeof Intent>;

/**
 * Records the intent of `DELETE /users/:id` before its first step, claimed by this process. Each
 * deletion has its own id (two deletions of one user may overlap: the second finds no profile).
 */
export async function openDeletion(ctx: Context, user: UserDoc): Promise<string | undefined> {
  // Without an identity or a schedule the deletion is one step: nothing is left to finish.
  if (!user.authUserId && !user.expirationId) return undefined;
  const payload: DeletionIntent = { userId: user._id, authUserId: user.authUserId, expirationId: user.expirationId };
  const jobId = `${USER_DELETION}:${user._id}:${randomUUID()}`;
  await recordIntent(ctx, { type: USER_DELETION, jobId, payload });
  return jobId;
}

/**
 * An identity whose profile is already gone and that could not be deleted now (a bulk activation's
 * orphan): a deletion intent left to the reconciler (not claimed), which deletes it once it can,
 * unless a profile links it by then.
 */
export async function deleteLater(ctx: Context, orphan: { userId: string; authUserId: string }): Promise<void> {
  const payload: DeletionIntent = { userId: orphan.userId, authUserId: orphan.authUserId };
  await ctx.deps.jobs.create({ type: USER_DELETION, jobId: `${USER_DELETION}:${orphan.userId}:${randomUUID()}`, payload });
}

/**
 * The deletion ended with both sides consistent (done, or the profile put back): the intent goes.
 * When they may not be (the profile may be gone, the identity not), `finished` is false and the
 * intent's lease is given up, so the reconciler finishes the deletion as soon as it can.
 */
export async function closeDeletion(ctx: Context, jobId: string | undefined, finished: boolean): Promise<void> {
  if (jobId) await endIntent(ctx, jobId, finished);
}

/**
 * The reconciler of deletions: an intent whose lease lapsed (its process died, or its request
 * could not put the profile back, or Rönd was down) is finished where the profile is gone: the
 * identity, its role bindings, the sessions and the expiration schedule follow it. A profile still
 * there was never deleted (the process died before) or was put back: the user stays whole. Runs
 * again after any failure.
 */
export const userDeletionRepair: JobHandler = {
  type: USER_DELETION,
  retryForever: true,
  discardWhenDone: true,
  async run(ctx, job, run) {
    const intent = Intent.parse(job.payload);
    const profile = await storedUser(ctx, intent.userId);
    if (profile) return { status: 'completed', result: { outcome: 'kept' } };
    // An identity another profile links meanwhile (a bulk activation matches identities by
    // e-mail) is that profile's now: it stays, with its bindings and sessions.
    const authUserId = (await linkedElsewhere(ctx, intent.authUserId)) ? undefined : intent.authUserId;
    // Its lease checked before each step: a repair whose renewals failed for a lease deleted an
    // identity that a profile had linked after its read (`JobRun.assertHeld`).
    // deleteUser answers false for an identity already gone: a repeated repair is harmless.
    if (authUserId) {
      run.assertHeld();
      const { rolesLeft } = await deleteIdentity(ctx, authUserId);
      if (rolesLeft) throw rolesLeft;
    }
    run.assertHeld();
    await revokeAccess(ctx, authUserId);
    run.assertHeld();
    await abortExpiration(ctx, intent.expirationId);
    ctx.deps.logger.info({ userId: intent.userId }, 'user deletion finished by the reconciler');
    return { status: 'completed', result: { outcome: 'deleted' } };
  },
};

async function linkedElsewhere(ctx: Context, authUserId: string | undefined): Promise<boolean> {
  if (!authUserId) return false;
  const linked = await ctx.deps.users.find({ authUserId }, { states: ALL_STATES, scope: ctx.scope, limit: 1 });
  return linked.length > 0;
}
