import pLimit from 'p-limit';
import { z } from 'zod';
import type { Context } from '../context.js';
import { type ProgressFormat, unversionedIsVersion1 } from '../domain/job-progress.js';
import { distinct, pace } from '../domain/pace.js';
import { DomainError, InvalidInputError } from '../errors.js';
import { requireAdmin } from './access.js';
import { isObject, withPlainCheck } from './inputs.js';
import type { JobHandler } from '../infra/job-worker.js';
import type { Release } from '../infra/login-throttle.js';
import { type JobAnswer, jobAnswer, startBoundedJob } from './job-status.js';

export const BULK_CHANGE_PASSWORD = 'change-password-bulk';

const Payload = withPlainCheck(
  z.object({ authUserIds: z.array(z.string()) }),
  (value) => isObject(value) && Array.isArray(value.authUserIds) && value.authUserIds.every((id) => typeof id === 'string'),
);

/** Requests in flight at once; a window larger than this (a high pace) is sent in parts of this size. */
const SENDS_AT_ONCE = 32;
/** Requests of a window handed to the limiter at once, so a window of 100,000 holds no 100,000 promises. */
const SENDS_QUEUED = 1000;

/** Entries of a completed job's list built between two turns of the event loop. */
const LISTED_AT_ONCE = 5000;

/** Small whatever the job's size: the users before `next` that are not failures completed. */
const Progress = z.object({
  /** Index in `authUserIds` of the next user to send to. */
  next: z.number().int().nonnegative(),
  failures: z.array(z.object({ authUserId: z.string(), error: z.string() })),
});
type Progress = z.infer<typeof Progress>;

/** Version 1 is version 0 (saved before progress had versions) with a version beside it. */
export const passwordChangeProgress: ProgressFormat<Progress> = {
  version: 1,
  schema: Progress,
  migrate: unversionedIsVersion1,
};

/**
 * `POST /jobs/change-password/bulk`: a persisted job that asks the identity provider for a
 * change-password e-mail for each user, at most AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND.
 */
export async function startBulkPasswordChange(ctx: Context, input: { authUserIds: string[] }): Promise<JobAnswer> {
  await requireAdmin(ctx);
  const authUserIds = await distinct(input.authUserIds);
  const max = ctx.deps.config.BULK_JOB_MAX_USERS;
  if (authUserIds.length > max) throw new InvalidInputError(`a bulk change-password takes at most ${max} users, not ${authUserIds.length}`);
  return startBoundedJob(ctx, BULK_CHANGE_PASSWORD, { authUserIds });
}

/** `GET /jobs/change-password/bulk/:id`. */
export function bulkPasswordChangeJob(ctx: Context, jobId: string): Promise<JobAnswer> {
  return jobAnswer(ctx, BULK_CHANGE_PASSWORD, jobId, async (job) => {
    // Only a completed job's answer lists the users, so only then is the payload read.
    const { authUserIds } = Payload.parse((await ctx.deps.jobs.get(jobId))?.payload);
    await pace();
    const { next, failures } = job.result as Progress;
    const failed = new Set(failures.map((failure) => failure.authUserId));
    // Up to 100,000 entries: built in slices, with turns of the event loop between them.
    const completed: { authUserId: string }[] = [];
    for (let start = 0; start < next; start += LISTED_AT_ONCE) {
      for (let index = start; index < Math.min(next, start + LISTED_AT_ONCE); index += 1) {
        const authUserId = authUserIds[index]!;
        if (!failed.has(authUserId)) completed.push({ authUserId });
      }
      await pace();
    }
    // As the usage page shows a job whose every request failed: a list appears only when it has entries.
    return {
      summary: { failed: failures.length, completed: completed.length, total: authUserIds.length },
      ...(completed.length > 0 && { completed }),
      ...(failures.length > 0 && { failures }),
    };
  });
}

/**
 * The job never fails: each user's request either completes or is a failure. Requests go in
 * windows of `rate` (one second each), and the progress is saved after every window, so a restart
 * resends at most the window that was in flight.
 */
export const passwordChangeJob: JobHandler<Progress> = {
  type: BULK_CHANGE_PASSWORD,
  progress: passwordChangeProgress,
  async run(ctx, job, run) {
    const { authUserIds } = Payload.parse(job.payload);
    // The payload's 100,000 ids were just parsed: the loop gets its turn before the work starts.
    await pace();
    const rate = ctx.deps.config.AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND;
    const window = Math.max(1, Math.floor(rate));
    const windowMs = (1000 * window) / rate;
    const progress: Progress = run.progress ?? { next: 0, failures: [] };
    const counters = () => ({ total: authUserIds.length, processed: progress.next, failed: progress.failures.length });
    // Saved once before the first window, so the job shows its total while it runs.
    if (!run.progress) await run.save(progress, counters());
    while (progress.next < authUserIds.length) {
      const started = ctx.deps.clock.now();
      const ids = authUserIds.slice(progress.next, progress.next + window);
      const outcomes = await sendAll(ctx, ids);
      ids.forEach((authUserId, index) => {
        const error = outcomes[index];
        if (error !== undefined) progress.failures.push({ authUserId, error });
      });
      progress.next += ids.length;
      await run.save(progress, counters());
      if (progress.next < authUserIds.length) await ctx.deps.clock.sleep(started + windowMs - ctx.deps.clock.now());
    }
    return { status: 'completed', result: progress };
  },
};

/**
 * A window's requests, SENDS_AT_ONCE at a time, pausing for the event loop between them (the
 * embedded identity provider answers without I/O: a window of thousands would stall the service).
 */
async function sendAll(ctx: Context, ids: string[]): Promise<(string | undefined)[]> {
  const limit = pLimit(SENDS_AT_ONCE);
  const outcomes: (string | undefined)[] = [];
  for (let start = 0; start < ids.length; start += SENDS_QUEUED) {
    const part = ids.slice(start, start + SENDS_QUEUED);
    outcomes.push(...(await Promise.all(part.map((authUserId) => limit(() => pace().then(() => send(ctx, authUserId)))))));
  }
  return outcomes;
}

/**
 * Undefined when the request went out, else why not. Each e-mail counts in the user's window of
 * PASSWORD_EMAIL_MAX_PER_USER, as a single request's does (`requestPasswordChange`): several jobs
 * naming one user, or one job replayed, would otherwise mail it without bound. A user over the
 * limit is a failure with the 429's words; a request that failed gives its place back.
 */
async function send(ctx: Context, authUserId: string): Promise<string | undefined> {
  let release: Release | undefined;
  try {
    release = ctx.deps.passwordMailThrottle.reserve(authUserId);
    await ctx.deps.auth.requestPasswordChange(authUserId);
    return undefined;
  } catch (error) {
    release?.();
    if (!(error instanceof DomainError)) ctx.deps.logger.error({ err: error, authUserId }, 'change-password request failed');
    return error instanceof DomainError ? error.message : 'An internal server error occurred';
  }
}
