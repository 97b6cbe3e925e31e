import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import type { JobHandler } from '../infra/job-worker.js';
import { attachExpiration } from './creation-steps.js';
import { abortExpiration } from './expiration.js';
import { endIntent, holdingIntent, recordIntent } from './intent-jobs.js';
import { findUsersByIds } from './users.js';
import { newObjectId } from '../crud/ids.js';

/**
 * The job type of the intents of writes that insert users with an expirationDate and schedule it
 * after (the CSV import): a profile stored without its schedule would never expire.
 */
export const USER_EXPIRY = 'user-expiry';

const Intent = z.object({ userIds: z.array(z.string().min(1)) });
/** `scheduled`: user id → the schedule made for it, saved before the user points to it. */
const Progress = z.object({ scheduled: z.record(z.string(), z.string()).optional() }).catch({});

/** Saves the id of a schedule made for a user of the intent; answers once a save holding it has landed. */
export type ScheduleRecorder = (userId: string, expirationId: string) => Promise<void>;

/**
 * Runs `insert` under an intent recorded first (claimed by this process) for `expiring`, the docs
 * to be scheduled (the caller decides, at one instant per row), which get their `_id` here so the
 * intent can name them; `insert` answers false when
 * a row whose schedule failed could not be taken back. It saves each schedule it makes with
 * `made` before the user points to it. Done, the intent goes; otherwise (or on a throw) its lease
 * is given up, for the reconciler.
 */
export async function guardExpiries(
  ctx: Context,
  expiring: Record<string, unknown>[],
  insert: (made?: ScheduleRecorder) => Promise<boolean>,
): Promise<void> {
  for (const doc of expiring) doc._id = newObjectId();
  const userIds = expiring.map((doc) => doc._id as string);
  if (userIds.length === 0) {
    await insert();
    return;
  }
  const jobId = `${USER_EXPIRY}:${randomUUID()}`;
  await recordIntent(ctx, { type: USER_EXPIRY, jobId, payload: { userIds } });
  let done = false;
  try {
    // Many rows' inserts and schedules may outlast a lease: the intent is held while they run.
    done = await holdingIntent(ctx, jobId, () => insert(scheduleRecorder(ctx, jobId)));
  } finally {
    await endIntent(ctx, jobId, done);
  }
}

/**
 * The batch's schedules, saved in its intent many at a time: the rows of a batch schedule at
 * once, and each waits for the next save (one write holds every id made before it starts), so a
 * batch costs a few job-store writes, not one per row. A save that fails throws: the row then
 * aborts its schedule and is taken back, as on any failure of its step. One that finds the intent
 * taken over (its renewals failed for a lease) is only logged, as `holdingIntent` does.
 */
function scheduleRecorder(ctx: Context, jobId: string): ScheduleRecorder {
  const { jobs, replicaId, config } = ctx.deps;
  const scheduled = new Map<string, string>();
  let next: Promise<void> | undefined;
  let last: Promise<unknown> = Promise.resolve();
  const save = async () => {
    next = undefined;
    const held = await jobs.heartbeat(jobId, replicaId, config.JOBS_LEASE_MS, { scheduled: Object.fromEntries(scheduled) });
    if (!held) ctx.deps.logger.warn({ jobId, requestId: ctx.requestId }, 'an import intent was taken over while its rows were scheduled');
  };
  return async (userId, expirationId) => {
    scheduled.set(userId, expirationId);
    if (!next) {
      next = last.then(save);
      last = next.catch(() => undefined);
    }
    await next;
  };
}

/**
 * The reconciler: the users of an intent left open (its process died, or a row could not be taken
 * back) that are stored with a date and no schedule get one: the one saved for them when there is
 * one (the process died before the user pointed to it), else a new one. A saved schedule that the
 * user no longer points to (taken back, deleted, or rescheduled since) is aborted. Runs again after
 * any failure.
 */
export const userExpiryRepair: JobHandler = {
  type: USER_EXPIRY,
  retryForever: true,
  discardWhenDone: true,
  async run(ctx, job, run) {
    const { userIds } = Intent.parse(job.payload);
    const saved = new Map(Object.entries(Progress.parse(run.progress ?? {}).scheduled ?? {}));
    const users = await findUsersByIds(ctx, userIds, ALL_STATES);
    let scheduled = 0;
    for (const userId of userIds) {
      const user = users.get(userId);
      const made = saved.get(userId);
      // Its lease checked before each step, as the other reconcilers do (`JobRun.assertHeld`): one whose
      // renewals failed for a lease would point a user, changed since its read, to a schedule.
      if (user?.expirationDate && !user.expirationId) {
        scheduled += 1;
        run.assertHeld();
        if (made) await ctx.deps.users.patch(userId, { $set: { expirationId: made } }, { states: ALL_STATES }, ctx.scope);
        else await attachExpiration(ctx, user);
      } else if (made && user?.expirationId !== made) {
        run.assertHeld();
        await abortExpiration(ctx, made);
      }
    }
    ctx.deps.logger.info({ jobId: job.jobId, scheduled }, 'expirations of inserted users repaired');
    return { status: 'completed', result: { scheduled } };
  },
};
