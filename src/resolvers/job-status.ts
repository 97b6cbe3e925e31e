import type { Context } from '../context.js';
import type { JobHead } from '../ports/job-store.js';
import { NotFoundError, TooManyRequestsError } from '../errors.js';
import { requireAdmin } from './access.js';
import { shownId } from '../domain/input-limits.js';

/** How the documented `GET /jobs/…/:id` paths show a job: `pending` until it ends. */
export interface JobAnswer {
  jobId: string;
  status: 'pending' | 'completed' | 'failed';
  jobCreatedAt: string;
  [field: string]: unknown;
}

/** The `Retry-After` of a bulk job refused for the jobs of its type not yet finished: they take tens of seconds to minutes. */
export const BULK_JOBS_RETRY_SECONDS = 30;

/**
 * A 429 when BULK_JOBS_MAX_PENDING jobs of this type are not yet finished (pending or running).
 * Counted in the job store, so every replica sees the others' jobs; before anything is written.
 * Alone, a first refusal only (a bulk activation asks it before checking its ids): `startBoundedJob`
 * counts again and creates as one step on this replica.
 */
export async function assertJobPlace(ctx: Context, type: string): Promise<void> {
  const max = ctx.deps.config.BULK_JOBS_MAX_PENDING;
  const open = await ctx.deps.jobs.list({ types: [type], statuses: ['pending', 'running'], limit: max });
  if (open.length >= max) {
    throw new TooManyRequestsError(
      `${max} jobs of this kind are not finished yet: at most ${max} at a time (BULK_JOBS_MAX_PENDING)`,
      BULK_JOBS_RETRY_SECONDS,
    );
  }
}

/**
 * `startJob` within BULK_JOBS_MAX_PENDING: the count and the creation are one step for the requests
 * of this replica (one start of a type at a time), so requests racing here add none beyond the bound
 * (each counted the same stored jobs and created one, before: 6 at once with a bound of 2 made 6).
 * Replicas racing each other may still add one each.
 */
export function startBoundedJob(ctx: Context, type: string, payload: unknown): Promise<JobAnswer> {
  return ctx.deps.jobStarts.run(type, async () => {
    await assertJobPlace(ctx, type);
    return startJob(ctx, type, payload);
  });
}

/** Creates a job for the workers, and wakes the ones of this process at once. */
async function startJob(ctx: Context, type: string, payload: unknown): Promise<JobAnswer> {
  const job = await ctx.deps.jobs.create({ type, payload });
  ctx.deps.metrics.job(type, 'pending');
  ctx.deps.jobEvents.emit('created', type);
  return { jobId: job.jobId, status: 'pending', jobCreatedAt: job.createdAt };
}

/**
 * A job of that type, as the documented status paths answer it; 404 for any other id. Read without
 * its payload (polls come every few hundred ms while a job of 100,000 ids runs): `completed` asks
 * for it when the answer needs it.
 */
export async function jobAnswer(
  ctx: Context,
  type: string,
  jobId: string,
  completed: (job: JobHead) => object | Promise<object>,
): Promise<JobAnswer> {
  await requireAdmin(ctx);
  const job = await ctx.deps.jobs.head(jobId);
  if (!job || job.type !== type) throw new NotFoundError(`job ${shownId(jobId)} not found`);
  const head = { jobId: job.jobId, jobCreatedAt: job.createdAt };
  if (job.status === 'completed') return { status: 'completed', ...head, ...(await completed(job)) };
  if (job.status === 'failed') return { ...head, status: 'failed' };
  // Beyond the documented fields, how far it got (once its handler has saved a step).
  const { total, processed, failed } = job.counters ?? {};
  return { ...head, status: 'pending', ...(job.counters && { total, processed, failed }) };
}
