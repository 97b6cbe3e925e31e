import type { Context } from '../context.js';
import { withoutDeadline } from '../deadline.js';
import { ConflictError } from '../errors.js';
import { GIVEN_BACK_MS } from '../ports/job-store.js';

/**
 * What every operation intent shares (creation, deletion, user-sync, the expiries): a job recorded
 * before the operation's first step, claimed by this process for JOBS_LEASE_MS, so that if the
 * process dies the lease lapses and the type's reconciler (job worker) finishes the operation.
 */
export async function recordIntent(ctx: Context, intent: { type: string; jobId: string; payload: unknown; owner?: string }): Promise<void> {
  const { jobs, replicaId, config } = ctx.deps;
  await markUnrecorded(() => jobs.create({ ...intent, owner: intent.owner ?? replicaId, leaseMs: config.JOBS_LEASE_MS }));
}

/**
 * An intent of a fixed id (a user's lock: `user-sync:<_id>`, `user-creation:<_id>`) that ended,
 * completed or failed, is no holder: no one claims a finished job, so it kept its user USER_BUSY
 * until the retention sweep deleted it (JOBS_RETENTION_DAYS). Such a row comes from another release
 * or a tool (this one discards its intents when done). It goes in one conditional delete, which
 * never removes an intent recorded or claimed meanwhile; the caller then records its own, which
 * the store refuses if another request recorded one first. True when it went.
 */
export async function freeIfEnded(ctx: Context, jobId: string): Promise<boolean> {
  const freed = await ctx.deps.jobs.deleteEnded(jobId);
  if (freed) ctx.deps.logger.warn({ jobId, requestId: ctx.requestId }, 'an operation intent that had ended held its user: deleted');
  return freed;
}

/**
 * An intent by its id, held by this replica; or with the owner it was recorded with. An intent
 * named afresh by each operation may be the replica's; one a later operation may record again
 * under the same id (`user-sync:<_id>`, the user's lock) is the operation's own: one that went on
 * after its lease lapsed then renewed, gave back or discarded the intent that a later request of
 * the same replica had recorded meanwhile, and a third write took the user while it held it.
 */
export type IntentRef = string | { jobId: string; owner: string };

function heldBy(ctx: Context, ref: IntentRef): { jobId: string; owner: string } {
  return typeof ref === 'string' ? { jobId: ref, owner: ctx.deps.replicaId } : ref;
}

/** Errors of an intent's recording: no reconciler will find the work it was to guard. */
const unrecorded = new WeakSet<object>();

/**
 * True for an error thrown because an intent could not be recorded (the job store failing): work
 * left for later under it (a bulk job's follow-up) would be lost, so its caller must not only log
 * it, but fail the step, to be tried again, where it is found again.
 */
export function intentUnrecorded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && unrecorded.has(error);
}

/** Runs the recording of an intent, marking its error (`intentUnrecorded`). */
async function markUnrecorded<T>(record: () => Promise<T>): Promise<T> {
  try {
    return await record();
  } catch (error) {
    if (typeof error === 'object' && error !== null) unrecorded.add(error);
    throw error;
  }
}

/** How long an operation's own hold of an intent (`IntentRef` object) lasts: from its recording, then each renewal that landed. */
interface Lease {
  heldUntil: number;
  lost: boolean;
}
const leases = new WeakMap<object, Lease>();

/** The intent `ref` (an operation's own, `{ jobId, owner }`) was recorded by a call sent at `sentAt`. */
export function noteRecorded(ctx: Context, ref: object, sentAt: number): void {
  leases.set(ref, { heldUntil: sentAt + ctx.deps.config.JOBS_LEASE_MS, lost: false });
}

/** Thrown by `held` once an operation's lease may have lapsed: another request or the reconciler may hold the user. */
export class IntentLapsedError extends ConflictError {
  constructor() {
    super('this change lost its hold: the user is being changed by another request, try again', 'USER_BUSY');
  }
}

/**
 * Runs `work` while the intent's lease is renewed every third of JOBS_LEASE_MS, for an operation
 * that may outlast a lease (a CSV batch of many dated rows): a live one is never taken for a dead
 * one, or a reconciler would run it again beside it and discard the intent while it still works.
 * A renewal is outside the request's deadline; one that fails or finds the lease lost is logged.
 * `work` is given `held`, to call before each external step: it throws `IntentLapsedError` once the
 * lease may have lapsed (found lost, or under a third of it left since the recording or the last
 * renewal that landed), as `JobRun.assertHeld` does for a reconciler's run.
 */
export async function holdingIntent<T>(ctx: Context, ref: IntentRef, work: (held: () => void) => Promise<T>): Promise<T> {
  const { jobs, config, clock, logger } = ctx.deps;
  const { jobId, owner } = heldBy(ctx, ref);
  const leaseMs = config.JOBS_LEASE_MS;
  // A string ref (a replica's intent) has no recording noted: counted from now.
  const lease = (typeof ref === 'object' && leases.get(ref)) || { heldUntil: clock.now() + leaseMs, lost: false };
  if (typeof ref === 'object') leases.set(ref, lease);
  const held = () => {
    if (lease.lost || clock.now() > lease.heldUntil - leaseMs / 3) throw new IntentLapsedError();
  };
  const renew = async () => {
    const sent = clock.now();
    try {
      const renewed = await withoutDeadline(() => jobs.heartbeat(jobId, owner, leaseMs));
      if (renewed) lease.heldUntil = Math.max(lease.heldUntil, sent + leaseMs);
      else lease.lost = true;
      if (!renewed) logger.warn({ jobId, requestId: ctx.requestId }, 'an operation intent was taken over while its operation ran');
    } catch (error) {
      logger.warn({ err: error, jobId, requestId: ctx.requestId }, 'the lease of an operation intent could not be renewed');
    }
  };
  // The renewal in flight is awaited once the work ends: landing after the caller's hand-over
  // (a lease given up), it would hold the intent, the user's lock for a user-sync, a whole lease.
  let inFlight: Promise<void> = Promise.resolve();
  const timer = clock.setInterval(
    () => {
      inFlight = inFlight.then(renew);
    },
    Math.max(50, config.JOBS_LEASE_MS / 3),
  );
  try {
    return await work(held);
  } finally {
    clock.clearTimer(timer);
    await inFlight;
  }
}

/**
 * The operation ended. `done`: both sides are consistent, the intent goes. Otherwise its lease is
 * given up (with `progress`, when given), so the reconciler takes it at once. Outside the request's
 * deadline (the step that failed may have been cut by it); a failure here is logged and left: an
 * intent still there is finished by its reconciler, which finds nothing to do or does the rest.
 */
export async function endIntent(ctx: Context, ref: IntentRef, done: boolean, progress?: unknown): Promise<void> {
  const { jobs, logger } = ctx.deps;
  const { jobId, owner } = heldBy(ctx, ref);
  try {
    await withoutDeadline(() => (done ? jobs.discard(jobId, owner) : jobs.heartbeat(jobId, owner, GIVEN_BACK_MS, progress)));
  } catch (error) {
    logger.warn({ err: error, jobId, requestId: ctx.requestId }, 'an operation intent could not be closed');
  }
}
