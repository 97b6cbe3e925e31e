import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GIVEN_BACK_MS, type Job } from '../ports/job-store.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ConflictError, userBusy } from '../errors.js';
import { withoutDeadline } from '../deadline.js';
import type { JobHandler } from '../infra/job-worker.js';
import { endIntent, freeIfEnded, holdingIntent, noteRecorded, recordIntent } from './intent-jobs.js';
import { bindingsLeft, syncToProfile, type SyncOutcome } from './sync-follow.js';

export { identityBlocked, identityFieldsDiffer, type SyncOutcome } from './sync-follow.js';

/**
 * The job type of the intents of operations that change a user on both sides (PATCH, state
 * changes): the profile as stored is the truth, and the identity follows it.
 */
export const USER_SYNC = 'user-sync';

/**
 * `roles`: the operation replaces the identity's bindings (revoke, then grant), which the repair
 * does again from the profile; `replaced`: the schedule the operation replaces, which must go once
 * the profile no longer points to it.
 */
const Intent = z.object({
  userId: z.string().min(1),
  authUserId: z.string().optional(),
  roles: z.boolean().optional(),
  replaced: z.string().optional(),
  /** This request's own mark: an intent whose recording answer was lost is known for its own by it. */
  nonce: z.string().optional(),
});
/** `scheduled`: an expiration the operation made, which must go unless the profile points to it. */
const Progress = z.object({ scheduled: z.string().optional() }).catch({});
type SyncIntent = z.infer<typeof Intent>;

export interface SyncHandle {
  jobId: string;
  /** This operation's own hold of the intent (`IntentRef`): never another request's of this replica. */
  owner: string;
  intent: SyncIntent;
  scheduled?: string;
}

/** Recorded before the first step, claimed by this process: if it dies, the reconciler makes the identity follow the profile. */
export async function openSync(
  ctx: Context,
  user: Pick<UserDoc, '_id' | 'authUserId'>,
  also: Pick<SyncIntent, 'roles' | 'replaced'> = {},
  mark: string = randomUUID(),
): Promise<SyncHandle> {
  const intent: SyncIntent = { userId: user._id, authUserId: user.authUserId, ...also, nonce: mark };
  // One id per user: the intent is also the user's lock, so two writes never interleave their steps.
  const jobId = `${USER_SYNC}:${user._id}`;
  const handle: SyncHandle = { jobId, owner: `${ctx.deps.replicaId}:${randomUUID()}`, intent };
  // Taken (twice at most: once more after a stale intent was finished, when another request may have taken it meanwhile).
  const taken = (await createIntent(ctx, handle)) || ((await repairStale(ctx, jobId)) && (await createIntent(ctx, handle)));
  if (!taken) throw userBusy(user._id);
  return handle;
}

/** False when an intent of that id exists (the store's ConflictError). */
async function createIntent(ctx: Context, handle: SyncHandle): Promise<boolean> {
  const sentAt = ctx.deps.clock.now();
  try {
    await recordIntent(ctx, { type: USER_SYNC, jobId: handle.jobId, payload: handle.intent, owner: handle.owner });
    noteRecorded(ctx, handle, sentAt);
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    await releaseIfRecorded(ctx, handle);
    throw error;
  }
}

/**
 * A lost answer may hide an intent that was recorded: held by this request's lease, it would be
 * the user's lock for JOBS_LEASE_MS, and the client's retry a 409 meanwhile. Found with this
 * request's mark (not another request's of this replica), its lease is given back at once, so the
 * retry (or the reconciler) finishes it. Best effort: otherwise the lease lapses.
 */
async function releaseIfRecorded(ctx: Context, { jobId, owner, intent }: SyncHandle): Promise<void> {
  const { jobs } = ctx.deps;
  try {
    const job = await withoutDeadline(() => jobs.get(jobId));
    if (job && Intent.safeParse(job.payload).data?.nonce === intent.nonce)
      await withoutDeadline(() => jobs.heartbeat(jobId, owner, GIVEN_BACK_MS));
  } catch (error) {
    ctx.deps.logger.warn({ err: error, jobId, requestId: ctx.requestId }, 'an intent whose recording failed could not be looked up');
  }
}

/**
 * An intent left by a request that gave up or died (its lease lapsed) is finished now, freeing the
 * user; one that ended (`freeIfEnded`) is deleted; false when one is held.
 */
async function repairStale(ctx: Context, jobId: string): Promise<boolean> {
  const { jobs, replicaId, config } = ctx.deps;
  // This repair's own hold, as an operation's (`SyncHandle.owner`): never another request's of this replica.
  const held = { jobId, owner: `${replicaId}:${randomUUID()}` };
  const sentAt = ctx.deps.clock.now();
  if (!(await jobs.claim(jobId, held.owner, config.JOBS_LEASE_MS))) return freeIfEnded(ctx, jobId);
  noteRecorded(ctx, held, sentAt);
  try {
    const job = await jobs.get(jobId);
    const follow = (stale: Job, stillHeld: () => void) =>
      syncToProfile(ctx, Intent.parse(stale.payload), Progress.parse(stale.result ?? {}).scheduled, stillHeld);
    if (job) await withoutDeadline(() => holdingIntent(ctx, held, (stillHeld) => follow(job, stillHeld)));
  } catch (error) {
    // Still unrepairable (an upstream down): the lease goes back at once, or the user would be
    // USER_BUSY for JOBS_LEASE_MS, held by a request that has already answered.
    await withoutDeadline(() => jobs.heartbeat(jobId, held.owner, GIVEN_BACK_MS)).catch(() => undefined);
    throw error;
  }
  await jobs.discard(jobId, held.owner);
  return true;
}

/** Saves the id of a schedule the operation made, before the steps that may fail after it. */
export async function noteScheduled(ctx: Context, handle: SyncHandle, scheduled: string | undefined): Promise<void> {
  if (!scheduled) return;
  handle.scheduled = scheduled;
  const { jobs, config } = ctx.deps;
  await jobs.heartbeat(handle.jobId, handle.owner, config.JOBS_LEASE_MS, { scheduled });
}

/**
 * A step failed: rather than undo the steps it believes were made (an answer lost after the
 * upstream acted would fool it), the operation reads the profile as stored and makes the identity
 * and the schedule follow it. If that fails too, the intent goes to the reconciler. True when
 * followed now, false when left to the reconciler.
 */
export async function followProfile(ctx: Context, handle: SyncHandle): Promise<boolean> {
  let followed = true;
  try {
    // Its own calls' timeouts: the step that failed may have been cut by the request's deadline.
    // Held while it runs: a reconciler taking it over meanwhile would let another write in before
    // this one's last step, which would then undo that write's identity change.
    // Its lease checked before each step: one whose renewals failed for a lease went on after another
    // write had taken the user, and put the identity back to the profile it had read before that write.
    await withoutDeadline(() => holdingIntent(ctx, handle, (held) => syncToProfile(ctx, handle.intent, handle.scheduled, held)));
  } catch (error) {
    ctx.deps.logger.error({ err: error, requestId: ctx.requestId }, `could not make user ${handle.intent.userId} follow its profile`);
    followed = false;
  }
  await closeSync(ctx, handle, followed);
  return followed;
}

/**
 * An operation's steps on both sides, holding the user's intent (`held` throws once its lease may
 * have lapsed). A step failing makes the identity follow the profile as stored, then is thrown;
 * once the steps are done the lock goes, or is left to the reconciler when they answer false.
 */
export async function runSynced(ctx: Context, handle: SyncHandle, steps: (held: () => void) => Promise<boolean | void>): Promise<void> {
  let consistent: boolean | void;
  try {
    consistent = await holdingIntent(ctx, handle, steps);
  } catch (error) {
    await followProfile(ctx, handle);
    throw error;
  }
  await closeSync(ctx, handle, consistent !== false);
}

/** Done (or followed): the intent goes; otherwise its lease is given up, for the reconciler. */
export async function closeSync(ctx: Context, handle: SyncHandle, done: boolean): Promise<void> {
  await endIntent(ctx, handle, done, { scheduled: handle.scheduled });
}

/**
 * Makes the identity follow the profile as stored, under the user's lock, as the reconciler would:
 * a soft delete resumed on a profile already DELETED finishes the identity side this way (deleted
 * with its bindings under AUTH_HARD_DELETE, else blocked). Failed, the intent goes to the reconciler.
 * `mark` names the intent (a random one by default), so that a caller tried again can know it.
 */
export async function syncNow(ctx: Context, user: Pick<UserDoc, '_id' | 'authUserId'>, mark?: string): Promise<SyncOutcome> {
  let handle: SyncHandle;
  try {
    handle = await openSync(ctx, user, {}, mark);
  } catch (error) {
    // A stale intent whose repair deleted the identity but not its bindings: it stays open for them.
    if (bindingsLeft.has(error as object)) return 'identity deleted';
    throw error;
  }
  let done = false;
  try {
    const outcome = await holdingIntent(ctx, handle, (held) => syncToProfile(ctx, handle.intent, undefined, held));
    done = true;
    return outcome;
  } catch (error) {
    if (bindingsLeft.has(error as object)) return 'identity deleted';
    throw error;
  } finally {
    await closeSync(ctx, handle, done);
  }
}

/**
 * `syncNow` for a profile that changed by itself while its identity was being made (a bulk
 * activation's link racing a profile-only write): a user another write holds is left to it, which
 * makes the identity follow the profile as stored.
 */
export async function followUnlessHeld(ctx: Context, user: Pick<UserDoc, '_id' | 'authUserId'>): Promise<void> {
  try {
    await syncNow(ctx, user);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
}

/**
 * Whether the user's `user-sync` intent is one recorded with this `mark` (an operation that names
 * its intents the same way each time it is tried, as a bulk activation's chunk does).
 */
export async function syncHeldWith(ctx: Context, userId: string, mark: string): Promise<boolean> {
  const job = await ctx.deps.jobs.get(`${USER_SYNC}:${userId}`);
  return job !== undefined && Intent.safeParse(job.payload).data?.nonce === mark;
}

/** The reconciler: an intent whose process died (or could not follow the profile) is finished here. Runs again after any failure. */
export const userSyncRepair: JobHandler = {
  type: USER_SYNC,
  retryForever: true,
  // The intent is the user's lock: a client's write waits at most this long after an outage ends.
  maxBackoffMs: 5_000,
  discardWhenDone: true,
  async run(ctx, job, run) {
    const intent = Intent.parse(job.payload);
    // Its lease checked before each step: a repair whose renewals failed for a lease, going on after a
    // write took the user, revoked and granted the roles it had read before that write.
    const outcome = await syncToProfile(ctx, intent, Progress.parse(run.progress ?? {}).scheduled, () => run.assertHeld());
    ctx.deps.logger.info({ userId: intent.userId, outcome }, 'user identity made to follow its profile');
    return { status: 'completed', result: { outcome } };
  },
};
