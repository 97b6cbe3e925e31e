import { randomUUID } from 'node:crypto';
import type { Job, JobStore } from '../../src/ports/job-store.js';
import type { Clock } from '../../src/ports/clock.js';

/**
 * A JobStore in memory, for unit tests of the job worker: the claims and leases of the port's
 * contract (test/job-store.test.ts runs that contract against it too), on the clock it is given.
 * Jobs are copied in and out, as a real store would serialize them.
 */
export function memoryJobStore(clock: Clock): JobStore & { jobs: Map<string, Job> } {
  const jobs = new Map<string, Job>();
  const copy = (job: Job): Job => structuredClone(job);
  const claimable = (job: Job) =>
    (job.status === 'pending' || job.status === 'running') && (job.leaseUntil === undefined || job.leaseUntil < clock.now());
  const held = (jobId: string, owner: string) => {
    const job = jobs.get(jobId);
    return job && job.owner === owner && job.status === 'running' && (job.leaseUntil ?? 0) >= clock.now() ? job : undefined;
  };
  const stamp = (job: Job) => {
    job.updatedAt = new Date(clock.now()).toISOString();
  };
  const claim = (jobId: string, owner: string, leaseMs: number) => {
    const job = jobs.get(jobId);
    if (!job || !claimable(job)) return false;
    Object.assign(job, { status: 'running', owner, leaseUntil: clock.now() + leaseMs, attempts: (job.attempts ?? 0) + 1 });
    stamp(job);
    return true;
  };
  return {
    jobs,
    async create({ type, payload, jobId = randomUUID(), owner, leaseMs = 0 }) {
      const at = new Date(clock.now()).toISOString();
      const job: Job = { jobId, type, status: owner ? 'running' : 'pending', payload: payload ?? null, createdAt: at, updatedAt: at };
      if (owner) Object.assign(job, { owner, leaseUntil: clock.now() + leaseMs });
      if (jobs.has(jobId)) throw new Error(`job ${jobId} exists`);
      jobs.set(jobId, copy(job));
      return job;
    },
    async get(jobId) {
      const job = jobs.get(jobId);
      return job && copy(job);
    },
    async head(jobId) {
      const job = jobs.get(jobId);
      if (!job) return undefined;
      const { payload: _payload, ...head } = copy(job);
      return head;
    },
    async list({ types, statuses, limit, before }) {
      const after = (job: Job) =>
        !before || job.createdAt < before.createdAt || (job.createdAt === before.createdAt && job.jobId < before.jobId);
      const found = [...jobs.values()].filter(
        (job) => types.includes(job.type) && (!statuses?.length || statuses.includes(job.status)) && after(job),
      );
      found.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.jobId.localeCompare(a.jobId));
      return found.slice(0, limit).map(({ payload: _payload, result, ...head }) => {
        const summary = (result as { summary?: Record<string, unknown> } | null | undefined)?.summary;
        return structuredClone({ ...head, ...(summary && { summary }) });
      });
    },
    async claim(jobId, owner, leaseMs) {
      return claim(jobId, owner, leaseMs);
    },
    async claimNext(type, owner, leaseMs) {
      const candidates = [...jobs.values()].filter((job) => job.type === type && claimable(job));
      candidates.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      for (const job of candidates) if (claim(job.jobId, owner, leaseMs)) return copy(jobs.get(job.jobId)!);
      return undefined;
    },
    async heartbeat(jobId, owner, leaseMs, progress, counters) {
      const job = held(jobId, owner);
      if (!job) return false;
      job.leaseUntil = clock.now() + leaseMs;
      if (progress !== undefined) job.result = structuredClone(progress);
      if (counters !== undefined) job.counters = { ...counters };
      stamp(job);
      return true;
    },
    async handBack(jobId, owner) {
      const job = held(jobId, owner);
      if (!job) return false;
      Object.assign(job, { leaseUntil: clock.now() - 1, attempts: Math.max((job.attempts ?? 0) - 1, 0) });
      stamp(job);
      return true;
    },
    async finish(jobId, owner, outcome) {
      const job = held(jobId, owner);
      if (!job) return false;
      Object.assign(job, { status: outcome.status, result: structuredClone(outcome.result ?? null), leaseUntil: undefined });
      stamp(job);
      return true;
    },
    async discard(jobId, owner) {
      return held(jobId, owner) !== undefined && jobs.delete(jobId);
    },
    async deleteEnded(jobId) {
      const job = jobs.get(jobId);
      return job !== undefined && (job.status === 'completed' || job.status === 'failed') && jobs.delete(jobId);
    },
    async deleteFinished({ types, before, limit }) {
      const found = [...jobs.values()].filter(
        (job) => (job.status === 'completed' || job.status === 'failed') && types.includes(job.type) && job.updatedAt < before,
      );
      found.sort((x, y) => x.updatedAt.localeCompare(y.updatedAt));
      return found.slice(0, limit).filter((job) => jobs.delete(job.jobId)).length;
    },
  };
}
