import { z } from 'zod';
import type { IdentityImportJob } from '../ports/identity-importer.js';
import type { Context } from '../context.js';
import { distinct, pace } from '../domain/pace.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { requireAdmin } from './access.js';
import { completeChunk, startChunk } from './activation-chunks.js';
import {
  type ActivationFailure,
  activationProgress,
  add,
  counters,
  emptySummary,
  type Outcome,
  type Progress,
  type RunningChunk,
} from './activation-progress.js';
import type { JobHandler } from '../infra/job-worker.js';
import { assertJobPlace, type JobAnswer, jobAnswer, startBoundedJob } from './job-status.js';
import { isObject, withPlainCheck } from './inputs.js';
import { findUsersByIds } from './users.js';
import { shownId } from '../domain/input-limits.js';

export const BULK_ACTIVATION = 'bulk-activation';
export type { ActivationFailure };

const Payload = withPlainCheck(
  z.object({ userIds: z.array(z.string()), upsert: z.boolean() }),
  (value) =>
    isObject(value) &&
    typeof value.upsert === 'boolean' &&
    Array.isArray(value.userIds) &&
    value.userIds.every((id) => typeof id === 'string'),
);

/** Import jobs a bulk activation keeps running at once: Auth0 runs at most 2 per tenant. */
const IMPORTS_AT_ONCE = 2;
/** Ids a bulk activation's request checks between two turns of the event loop. */
const CHECKED_AT_ONCE = 1000;
/** The first poll of an import job; the wait then doubles up to AUTH0_JOB_POLLING_INTERVAL. */
const FIRST_POLL_MS = 250;

/**
 * `POST /jobs/bulk-activation`: gives identities to existing profiles, through the identity
 * provider's import jobs. Every id must name a user (404 otherwise); the work is a persisted job.
 */
export async function startBulkActivation(ctx: Context, input: { userIds: string[]; upsert: boolean }): Promise<JobAnswer> {
  await requireAdmin(ctx);
  const userIds = await distinct(input.userIds);
  const max = ctx.deps.config.BULK_JOB_MAX_USERS;
  if (userIds.length > max) throw new InvalidInputError(`a bulk activation takes at most ${max} users, not ${userIds.length}`);
  // Refused before its ids are checked (about a second for 100,000); counted again as the job is created.
  await assertJobPlace(ctx, BULK_ACTIVATION);
  const unknown: string[] = [];
  // In slices, with turns of the event loop between them: 100,000 ids take about a second to check.
  for (let start = 0; start < userIds.length; start += CHECKED_AT_ONCE) {
    const slice = userIds.slice(start, start + CHECKED_AT_ONCE);
    const found = await findUsersByIds(ctx, slice);
    unknown.push(...slice.filter((id) => !found.has(id)));
    await pace();
  }
  if (unknown.length > 0) {
    const more = unknown.length > 10 ? ` and ${unknown.length - 10} more` : '';
    throw new NotFoundError(`users not found: ${unknown.slice(0, 10).map(shownId).join(', ')}${more}`);
  }
  return startBoundedJob(ctx, BULK_ACTIVATION, { userIds, upsert: input.upsert });
}

/** `GET /jobs/bulk-activation/:id`. */
export function bulkActivationJob(ctx: Context, jobId: string): Promise<JobAnswer> {
  return jobAnswer(ctx, BULK_ACTIVATION, jobId, (job) => {
    const { summary, failures } = job.result as Outcome;
    return { summary, failures };
  });
}

/**
 * The job: chunks of the importer's job size, one import job each, two running at once. Progress is
 * saved when a chunk's import job starts and when a chunk is done, so a restart polls the same
 * import jobs again instead of starting new ones.
 */
export const activationJob: JobHandler<Progress> = {
  type: BULK_ACTIVATION,
  progress: activationProgress,
  async run(ctx, job, run) {
    const { userIds, upsert } = Payload.parse(job.payload);
    // The payload's 100,000 ids were just parsed: the loop gets its turn before the work starts.
    await pace();
    const plan: Plan = { jobId: job.jobId, userIds, upsert, size: ctx.deps.identityImports.maxUsersPerJob };
    let progress: Progress = run.progress ?? { next: 0, summary: emptySummary(userIds.length), failures: [] };
    const save = () => run.save(progress, counters(progress, userIds.length));
    // Saved once before the first chunk, so the job shows its total while it runs.
    if (!run.progress) await save();
    while (more(progress, plan) || progress.running?.length) {
      // Embedded adapters answer without I/O: without this the whole job would run in one turn of the loop.
      await pace();
      progress = await step(ctx, progress, plan, (marked) => run.save(marked, counters(marked, userIds.length)));
      await save();
    }
    if (progress.failedImport) return { status: 'failed', result: { error: progress.failedImport } };
    return { status: 'completed', result: { summary: progress.summary, failures: inPayloadOrder(progress.failures, userIds) } };
  },
};

/** The job's users, whether it upserts, and the importer's job size (read once, when the job starts). */
interface Plan {
  /** The activation job's own id: with a chunk's start, the mark of the intents the chunk records. */
  jobId: string;
  userIds: string[];
  upsert: boolean;
  size: number;
}

function more(progress: Progress, plan: Plan): boolean {
  return !progress.failedImport && progress.next < plan.userIds.length;
}

/**
 * One turn of the job: starts a chunk while fewer than IMPORTS_AT_ONCE run, else finishes the
 * first running one to end. A start is marked first (`save`), so a resume knows a start may have
 * happened whose answer was never saved.
 */
async function step(ctx: Context, progress: Progress, plan: Plan, save: (marked: Progress) => Promise<void>): Promise<Progress> {
  const { starting, ...saved } = progress;
  const running = saved.running ?? [];
  if (running.length < IMPORTS_AT_ONCE && more(saved, plan)) {
    const again = starting === saved.next;
    if (!again) await save({ ...saved, starting: saved.next });
    const next = Math.min(plan.userIds.length, saved.next + plan.size);
    const mark = `${BULK_ACTIVATION}:${plan.jobId}:${saved.next}`;
    const started = await startChunk(ctx, plan.userIds.slice(saved.next, next), { upsert: plan.upsert, again, mark });
    if ('importJobId' in started) return { ...saved, next, running: [...running, started] };
    return done(saved, started, { next, running, total: plan.userIds.length });
  }
  const { chunk, job: importJob } = await firstFinished(ctx, running);
  const { status } = importJob;
  const others = running.filter((other) => other !== chunk);
  if (status === 'completed') {
    return done(saved, await completeChunk(ctx, chunk, importJob), { next: saved.next, running: others, total: plan.userIds.length });
  }
  // The job will end failed, but the identities of the other running import job get linked first.
  return { ...saved, running: others, failedImport: `the identity provider's import job ${chunk.importJobId} ended ${status}` };
}

/** The progress with a chunk's outcome added: `next` and `running` as they are once the chunk is done. */
function done(progress: Progress, outcome: Outcome, after: { next: number; running: RunningChunk[]; total: number }): Progress {
  const { next, running, total } = after;
  const summary = { ...add(progress.summary, outcome.summary), total };
  return { ...progress, next, summary, failures: [...progress.failures, ...outcome.failures], running };
}

/** The failures in the order of their users in the request (an index of 100,000 ids only when some failed). */
function inPayloadOrder(failures: ActivationFailure[], userIds: string[]): ActivationFailure[] {
  if (failures.length === 0) return failures;
  const order = new Map(userIds.map((id, index) => [id, index]));
  return failures.toSorted((a, b) => order.get(a.userId)! - order.get(b.userId)!);
}

/**
 * Polls the running import jobs until one ends: soon at first, then less often, up to
 * AUTH0_JOB_POLLING_INTERVAL.
 */
async function firstFinished(ctx: Context, running: RunningChunk[]): Promise<{ chunk: RunningChunk; job: IdentityImportJob }> {
  for (let wait = FIRST_POLL_MS; ; wait *= 2) {
    for (const chunk of running) {
      const job = await ctx.deps.identityImports.importJob(chunk.importJobId);
      if (job.status !== 'pending' && job.status !== 'processing') return { chunk, job };
    }
    const longest = ctx.deps.config.AUTH0_JOB_POLLING_INTERVAL(ctx.deps.clock.now());
    await ctx.deps.clock.sleep(Math.min(wait, longest));
  }
}
