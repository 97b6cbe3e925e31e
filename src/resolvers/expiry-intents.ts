import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import type { JobHandler } from '../infra/job-worker.js';
import { attachExpiration } from './creation-steps.js';
import { endIntent, holdingIntent, recordIntent } from './intent-jobs.js';
import { findUsersByIds } from './users.js';
import { newObjectId } from '../crud/ids.js';

/**
 * The job type of the intents of writes that insert users with an expirationDate and schedule it
 * after (the CSV import): a profile stored without its schedule would never expire.
 */
export const USER_EXPIRY = 'user-expiry';

const Intent = z.object({ userIds: z.array(z.string().min(1)) });

/**
 * Runs `insert` of `docs` under an intent recorded first (claimed by this process) for the ones
 * with a date, which get their `_id` here so the intent can name them; `insert` answers false when
 * a row whose schedule failed could not be taken back. Done, the intent goes; otherwise (or on a
 * throw) its lease is given up, for the reconciler.
 */
export async function guardExpiries(ctx: Context, docs: Record<string, unknown>[], insert: () => Promise<boolean>): Promise<void> {
  const expiring = docs.filter((doc) => doc.expirationDate !== undefined);
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
    done = await holdingIntent(ctx, jobId, insert);
  } finally {
    await endIntent(ctx, jobId, done);
  }
}

/**
 * The reconciler: the users of an intent left open (its process died, or a row could not be taken
 * back) that are stored with a date and no schedule get one. Runs again after any failure.
 */
export const userExpiryRepair: JobHandler = {
  type: USER_EXPIRY,
  retryForever: true,
  discardWhenDone: true,
  async run(ctx, job) {
    const { userIds } = Intent.parse(job.payload);
    const users = await findUsersByIds(ctx, userIds, ALL_STATES);
    const unscheduled = [...users.values()].filter((user) => user.expirationDate && !user.expirationId);
    for (const user of unscheduled) await attachExpiration(ctx, user);
    ctx.deps.logger.info({ jobId: job.jobId, scheduled: unscheduled.length }, 'expirations of inserted users repaired');
    return { status: 'completed', result: { scheduled: unscheduled.length } };
  },
};
