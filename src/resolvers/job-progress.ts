import type { Context } from '../context.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { JobHead, JobListing } from '../ports/job-store.js';
import { requireAdmin } from './access.js';
import { BULK_ACTIVATION } from './activation.js';
import { BULK_CHANGE_PASSWORD } from './passwords.js';
import { shownId } from '../domain/input-limits.js';

/** The jobs an administrator follows, by the name GraphQL gives them; operation intents are not among them. */
export const JOB_KINDS = { BULK_ACTIVATION, BULK_PASSWORD_CHANGE: BULK_CHANGE_PASSWORD } as const;
export type JobKind = keyof typeof JOB_KINDS;
const KIND_OF = new Map<string, JobKind>(Object.entries(JOB_KINDS).map(([kind, type]) => [type, kind as JobKind]));

/** A job as the console shows it: `pending` (queued or running), `completed` or `failed`, and its counters. */
export interface JobView {
  jobId: string;
  kind: JobKind;
  status: 'pending' | 'completed' | 'failed';
  createdAt: string;
  updatedAt: string;
  /** Users of the job, once known (from its first saved step); users done so far, and those that failed. */
  total: number | null;
  processed: number | null;
  failed: number | null;
  /** Why a failed job failed. */
  error: string | null;
}

const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** The view of a job's head (a subscription) or listing (the jobs page). */
export function jobView(job: JobHead | JobListing): JobView | undefined {
  const kind = KIND_OF.get(job.type);
  if (!kind) return undefined;
  const status = job.status === 'completed' || job.status === 'failed' ? job.status : 'pending';
  const result = 'result' in job && typeof job.result === 'object' && job.result !== null ? (job.result as Record<string, unknown>) : {};
  const summary = ('summary' in job ? job.summary : (result.summary as Record<string, unknown> | undefined)) ?? {};
  const base = { jobId: job.jobId, kind, status, createdAt: job.createdAt, updatedAt: job.updatedAt, error: null } as const;
  const counters = job.counters;
  if (status === 'completed') {
    // An activation's result has a summary; a password job's keeps only its progress: the counters
    // of its last step say the same (without them its list and last event showed no numbers).
    const total = count(summary.total) ?? counters?.total ?? null;
    return { ...base, total, processed: total, failed: count(summary.failed) ?? counters?.failed ?? null };
  }
  const stored = 'error' in job ? job.error : result.error;
  const error = status === 'failed' && typeof stored === 'string' ? stored : null;
  return { ...base, error, total: counters?.total ?? null, processed: counters?.processed ?? null, failed: counters?.failed ?? null };
}

export interface JobPage {
  nodes: JobView[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** Recent jobs, newest first, by cursor: `after` is the `endCursor` of the page before. */
export async function listJobs(
  ctx: Context,
  query: { kinds?: readonly JobKind[]; status?: JobView['status']; first: number; after?: string | null },
): Promise<JobPage> {
  await requireAdmin(ctx);
  const kinds = query.kinds?.length ? query.kinds : (Object.keys(JOB_KINDS) as JobKind[]);
  const statuses = query.status === 'pending' ? (['pending', 'running'] as const) : query.status ? [query.status] : undefined;
  const before = query.after ? decodeCursor(query.after) : undefined;
  const found = await ctx.deps.jobs.list({
    types: kinds.map((kind) => JOB_KINDS[kind]),
    ...(statuses && { statuses }),
    limit: query.first + 1,
    ...(before && { before }),
  });
  const nodes = found.slice(0, query.first).flatMap((job) => jobView(job) ?? []);
  const last = nodes.at(-1);
  return { nodes, hasNextPage: found.length > query.first, endCursor: last ? encodeCursor(last) : null };
}

/** Opaque to clients: the created time and id of the last job of a page. */
function encodeCursor(job: JobView): string {
  return Buffer.from(JSON.stringify([job.createdAt, job.jobId])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; jobId: string } {
  try {
    const [createdAt, jobId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof jobId === 'string') return { createdAt, jobId };
  } catch {
    // Reported below.
  }
  throw new InvalidInputError('after is not a cursor of this list', [{ path: ['after'], message: 'is not a cursor of this list' }]);
}

/** A job an administrator may follow; NotFoundError for any other id (intents included). */
export async function followableJob(ctx: Context, jobId: string): Promise<JobView> {
  await requireAdmin(ctx);
  const job = await ctx.deps.jobs.head(jobId);
  const view = job && jobView(job);
  if (!view) throw new NotFoundError(`job ${shownId(jobId)} not found`);
  return view;
}
