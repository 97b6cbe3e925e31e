import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GIVEN_BACK_MS, type Job, type JobHead, type JobListing, type JobStore } from '../../ports/job-store.js';
import { UpstreamError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { CrudCollection, CrudDoc } from './collection.js';
import { namesADocument } from '../path-segment.js';

const JobDoc = z.looseObject({
  _id: z.string(),
  jobId: z.string(),
  type: z.string(),
  status: z.enum(['pending', 'running', 'completed', 'failed']),
  payload: z.unknown().optional(),
  result: z.unknown().optional(),
  owner: z.string().optional(),
  leaseUntil: z.number().optional(),
  attempts: z.number().optional().catch(undefined),
  counters: z.object({ total: z.number(), processed: z.number(), failed: z.number() }).optional().catch(undefined),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});

const STATES = ['PUBLIC'] as const;
/** The most documents a CRUD list answers (`CRUD_MAX_LIMIT`'s default): a sweep's batch. */
const CRUD_PAGE = 200;
/** Every field but the payload (megabytes for 100,000 ids): what status reads and lease changes need. */
const HEAD = '_id,jobId,type,status,result,owner,leaseUntil,attempts,counters,createdAt,updatedAt';

/**
 * Jobs in a CRUD collection (`JOBS_CRUD_ENDPOINT`), for several replicas: a claim is a conditional
 * `PATCH /:id?_q=…` that only matches while the lease is free or expired, so the CRUD (MongoDB's
 * single-document atomicity) decides which replica wins.
 */
export function createCrudJobStore(jobs: CrudCollection, clock: Clock, onUncounted: () => void = () => undefined): JobStore {
  /**
   * Whether the collection takes `attempts`: one declared before this release does not (the CRUD
   * refuses an undeclared field, 400). Claims then go on without the count (the worker counts in
   * memory, as before), once `onUncounted` has said so, rather than every claim failing. Only a 400
   * that the same change without the count passes stops the counting: any other 400 (refused either
   * way) is the caller's failure, and the store counts on. Once stopped, no count is answered (the
   * one stored before would be answered for good, and the worker would count nothing).
   */
  let counting = true;
  async function counted(update: Record<string, unknown>, inc: number, send: (update: Record<string, unknown>) => Promise<boolean>) {
    if (!counting) return send(update);
    try {
      return await send({ ...update, $inc: { attempts: inc } });
    } catch (error) {
      if (!(error instanceof UpstreamError) || error.upstreamStatus !== 400) throw error;
    }
    const sent = await send(update);
    if (counting) onUncounted();
    counting = false;
    return sent;
  }
  const head = (doc: z.infer<typeof JobDoc>): JobHead => {
    const { attempts, ...rest } = toHead(doc, clock);
    return counting && attempts !== undefined ? { ...rest, attempts } : rest;
  };

  /** The job's document; without its payload unless `payload`. */
  async function findDoc(jobId: string, payload = false) {
    if (!namesADocument(jobId)) return undefined;
    const [doc] = await jobs.list({ _q: JSON.stringify({ jobId }), _l: '1', ...(!payload && { _p: HEAD }) }, {});
    return doc && parse(doc);
  }

  async function getJob(jobId: string): Promise<Job | undefined> {
    const doc = await findDoc(jobId, true);
    return doc && { ...head(doc), payload: doc.payload };
  }

  async function claimDoc(_id: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = clock.now();
    const claimable = { status: { $in: ['pending', 'running'] }, $or: [{ leaseUntil: { $exists: false } }, { leaseUntil: { $lt: now } }] };
    const update = { $set: { status: 'running', owner, leaseUntil: now + leaseMs } };
    return counted(update, 1, async (sent) => (await jobs.patch(_id, sent, STATES, {}, claimable)) !== undefined);
  }

  /** Changes a job only while `owner` still holds an unexpired lease on it. */
  async function whileOwned(jobId: string, owner: string, update: Record<string, unknown>): Promise<boolean> {
    const doc = await findDoc(jobId);
    if (!doc) return false;
    const held = { owner, status: 'running', leaseUntil: { $gte: clock.now() } };
    return (await jobs.patch(doc._id, update, STATES, {}, held)) !== undefined;
  }

  return {
    async create({ type, payload, jobId = randomUUID(), owner, leaseMs = 0 }) {
      const claimed = owner ? { status: 'running', owner, leaseUntil: clock.now() + leaseMs } : { status: 'pending' };
      const doc = { jobId, type, ...claimed, payload: payload ?? null, __STATE__: 'PUBLIC' };
      await jobs.create(doc, {});
      const created = await findDoc(doc.jobId);
      if (!created)
        throw new UpstreamError('CRUD', 'POST jobs', 200, { message: `CRUD jobs: job ${doc.jobId} not found after its creation` });
      return { ...head(created), payload: doc.payload };
    },
    get: getJob,
    async head(jobId) {
      const doc = await findDoc(jobId);
      return doc && head(doc);
    },
    async list({ types, statuses, limit, before }) {
      const filter: Record<string, unknown> = { type: { $in: types } };
      if (statuses?.length) filter.status = { $in: statuses };
      if (before) filter.$or = [{ createdAt: { $lt: before.createdAt } }, { createdAt: before.createdAt, jobId: { $lt: before.jobId } }];
      const docs = await jobs.list({ _q: JSON.stringify(filter), _s: '-createdAt,-jobId', _l: String(limit), _p: HEAD }, {});
      return docs.map((doc) => toListing(head(parse(doc))));
    },
    async claim(jobId, owner, leaseMs) {
      const doc = await findDoc(jobId);
      return doc ? claimDoc(doc._id, owner, leaseMs) : false;
    },
    async claimNext(type, owner, leaseMs) {
      const filter = {
        type,
        status: { $in: ['pending', 'running'] },
        $or: [{ leaseUntil: { $exists: false } }, { leaseUntil: { $lt: clock.now() } }],
      };
      const candidates = await jobs.list({ _q: JSON.stringify(filter), _s: 'createdAt', _l: '10', _p: HEAD }, {});
      for (const candidate of candidates.map(parse)) {
        if (await claimDoc(candidate._id, owner, leaseMs)) return getJob(candidate.jobId);
      }
      return undefined;
    },
    async heartbeat(jobId, owner, leaseMs, progress, counters) {
      const set: Record<string, unknown> = { leaseUntil: clock.now() + leaseMs };
      if (progress !== undefined) set.result = progress;
      if (counters !== undefined) set.counters = { total: counters.total, processed: counters.processed, failed: counters.failed };
      return whileOwned(jobId, owner, { $set: set });
    },
    async handBack(jobId, owner) {
      return counted({ $set: { leaseUntil: clock.now() + GIVEN_BACK_MS } }, -1, (sent) => whileOwned(jobId, owner, sent));
    },
    async finish(jobId, owner, outcome) {
      return whileOwned(jobId, owner, { $set: { status: outcome.status, result: outcome.result ?? null }, $unset: { leaseUntil: true } });
    },
    async deleteFinished({ types, before, limit }) {
      const finished = { type: { $in: types }, status: { $in: ['completed', 'failed'] }, updatedAt: { $lt: before } };
      const page = { _q: JSON.stringify(finished), _s: 'updatedAt', _l: String(Math.min(limit, CRUD_PAGE)), _p: 'jobId' };
      const jobIds = (await jobs.list(page, {})).map((doc) => doc.jobId).filter((jobId) => typeof jobId === 'string');
      if (jobIds.length === 0) return 0;
      // `DELETE /` of those jobs, the filter sent again: one that changed meanwhile is not deleted.
      return jobs.deleteWhere({ ...finished, jobId: { $in: jobIds } }, STATES);
    },
    async deleteEnded(jobId) {
      if (!namesADocument(jobId)) return false;
      // `DELETE /` filtered by the status: a job claimed or recorded again meanwhile is not deleted.
      return (await jobs.deleteWhere({ jobId, status: { $in: ['completed', 'failed'] } }, STATES)) > 0;
    },
    async discard(jobId, owner) {
      const doc = await findDoc(jobId);
      if (!doc || doc.owner !== owner || doc.status !== 'running' || (doc.leaseUntil ?? 0) < clock.now()) return false;
      return jobs.delete(doc._id, STATES, {});
    },
  };
}

function parse(doc: CrudDoc): z.infer<typeof JobDoc> {
  const result = JobDoc.safeParse(doc);
  if (!result.success) throw new UpstreamError('CRUD', 'GET jobs', 200, { message: `CRUD jobs document ${doc._id} is not a job` });
  return result.data;
}

/** The CRUD's `_p` keeps whole top-level fields: the result is read, and only its summary and error kept. */
function toListing({ result, ...head }: JobHead): JobListing {
  const { summary, error } = typeof result === 'object' && result !== null ? (result as { summary?: unknown; error?: unknown }) : {};
  return {
    ...head,
    ...(typeof summary === 'object' && summary !== null && !Array.isArray(summary) && { summary: summary as Record<string, unknown> }),
    ...(typeof error === 'string' && { error }),
  };
}

function toHead(doc: z.infer<typeof JobDoc>, clock: Clock): JobHead {
  const now = new Date(clock.now()).toISOString();
  return {
    jobId: doc.jobId,
    type: doc.type,
    status: doc.status,
    result: doc.result ?? undefined,
    owner: doc.owner,
    leaseUntil: doc.leaseUntil,
    ...(doc.attempts ? { attempts: doc.attempts } : {}),
    ...(doc.counters && { counters: doc.counters }),
    createdAt: doc.createdAt ?? now,
    updatedAt: doc.updatedAt ?? now,
  };
}
