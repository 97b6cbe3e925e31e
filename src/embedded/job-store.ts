import { randomUUID } from 'node:crypto';
import {
  type FinishedJobsQuery,
  GIVEN_BACK_MS,
  type Job,
  type JobHead,
  type JobListing,
  type JobListQuery,
  type JobStore,
} from '../ports/job-store.js';
import { turn } from '../domain/pace.js';
import type { Clock } from '../ports/clock.js';
import type { Db } from './db.js';
import { ConflictError } from '../errors.js';

/** A job's row; its payload has a row of its own in `job_payloads`, written once. */
interface JobRow {
  job_id: string;
  type: string;
  status: Job['status'];
  result: string | null;
  owner: string | null;
  lease_until: number | null;
  total: number | null;
  processed: number | null;
  failed: number | null;
  attempts: number | null;
  created_at: string;
  updated_at: string;
}

const CLAIMABLE = "status IN ('pending', 'running') AND (lease_until IS NULL OR lease_until < @now)";
const HELD = "job_id = @jobId AND owner = @owner AND status = 'running' AND lease_until >= @now";

/**
 * Jobs in the embedded store; a claim is one conditional UPDATE, so processes on one file never
 * share a job. The payload (megabytes for 100,000 ids) lives apart from the row that progress saves
 * and lease renewals rewrite, and is read and parsed only for the worker that claims the job.
 */
export function createSqliteJobStore(db: Db, clock: Clock): JobStore {
  const select = db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE job_id = ?');
  const selectPayload = db.prepare<[string], { payload: string }>('SELECT payload FROM job_payloads WHERE job_id = ?');
  const insertJob = db.prepare(
    'INSERT INTO jobs (job_id, type, status, owner, lease_until, created_at, updated_at) VALUES (@jobId, @type, @status, @owner, @lease, @at, @at)',
  );
  const insertPayload = db.prepare('INSERT INTO job_payloads (job_id, payload) VALUES (?, ?)');
  const claimOne = db.prepare(
    `UPDATE jobs SET status = 'running', owner = @owner, lease_until = @lease, attempts = attempts + 1, updated_at = @at
       WHERE job_id = @jobId AND ${CLAIMABLE}`,
  );
  const candidates = db.prepare<{ type: string; now: number }, { job_id: string }>(
    `SELECT job_id FROM jobs WHERE type = @type AND ${CLAIMABLE} ORDER BY created_at LIMIT 10`,
  );
  const renew = db.prepare(
    `UPDATE jobs SET lease_until = @lease, updated_at = @at, result = COALESCE(@result, result), total = COALESCE(@total, total),
       processed = COALESCE(@processed, processed), failed = COALESCE(@failed, failed) WHERE ${HELD}`,
  );
  const giveBack = db.prepare(`UPDATE jobs SET lease_until = @lease, attempts = MAX(attempts - 1, 0), updated_at = @at WHERE ${HELD}`);
  const end = db.prepare(`UPDATE jobs SET status = @status, result = @result, lease_until = NULL, updated_at = @at WHERE ${HELD}`);
  const remove = db.prepare(`DELETE FROM jobs WHERE ${HELD}`);
  const removePayload = db.prepare('DELETE FROM job_payloads WHERE job_id = ?');
  const removeEnded = db.prepare("DELETE FROM jobs WHERE job_id = ? AND status IN ('completed', 'failed')");
  const deleteEnded = db.transaction((jobId: string) => {
    if (removeEnded.run(jobId).changes !== 1) return false;
    removePayload.run(jobId);
    return true;
  });
  const create = db.transaction((row: Record<string, unknown>, payload: string) => {
    insertJob.run(row);
    insertPayload.run(row.jobId, payload);
  });
  const discard = db.transaction((held: { jobId: string; owner: string; now: number }) => {
    if (remove.run(held).changes !== 1) return false;
    removePayload.run(held.jobId);
    return true;
  });

  // One bounded DELETE by the jobs_finished index (no ORDER BY: its two status ranges would be sorted whole); the
  // payloads first, in the same transaction, which sees the same rows.
  const deleteBatch = db.transaction(({ types, before, limit }: FinishedJobsQuery) => {
    const marks = types.map(() => '?').join(', ');
    const finished = `SELECT job_id FROM jobs WHERE status IN ('completed', 'failed') AND updated_at < ? AND type IN (${marks}) LIMIT ?`;
    const params = [before, ...types, limit];
    db.prepare(`DELETE FROM job_payloads WHERE job_id IN (${finished})`).run(...params);
    return db.prepare(`DELETE FROM jobs WHERE job_id IN (${finished})`).run(...params).changes;
  });

  const head = (jobId: string) => {
    const row = select.get(jobId);
    return row && toHead(row);
  };
  const withPayload = async (job: JobHead): Promise<Job> => {
    const row = selectPayload.get(job.jobId);
    await turnIfLarge(row?.payload);
    return { ...job, payload: row ? (JSON.parse(row.payload) as unknown) : null };
  };
  const claim = (jobId: string, owner: string, leaseMs: number) => {
    const now = clock.now();
    return claimOne.run({ jobId, owner, lease: now + leaseMs, now, at: new Date(now).toISOString() }).changes === 1;
  };

  return {
    async create({ type, payload, jobId = randomUUID(), owner, leaseMs = 0 }) {
      const now = clock.now();
      const row = { jobId, type, status: owner ? 'running' : 'pending', owner: owner ?? null, lease: owner ? now + leaseMs : null };
      const text = JSON.stringify(payload ?? null);
      await turnIfLarge(text);
      try {
        create({ ...row, at: new Date(now).toISOString() }, text);
      } catch (error) {
        // As the CRUD's duplicate key: a named job (an operation's intent) that exists already.
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new ConflictError(`job ${jobId} exists already`);
        throw error;
      }
      return { ...head(jobId)!, payload: payload ?? null };
    },
    async get(jobId) {
      const job = head(jobId);
      return job && withPayload(job);
    },
    async head(jobId) {
      return head(jobId);
    },
    async list(query) {
      const { sql, params } = listSql(query);
      return db
        .prepare<unknown[], ListRow>(sql)
        .all(...params)
        .map(toListing);
    },
    async claim(jobId, owner, leaseMs) {
      return claim(jobId, owner, leaseMs);
    },
    async claimNext(type, owner, leaseMs) {
      for (const { job_id: jobId } of candidates.all({ type, now: clock.now() })) {
        if (claim(jobId, owner, leaseMs)) return await withPayload(head(jobId)!);
      }
      return undefined;
    },
    async heartbeat(jobId, owner, leaseMs, progress, counters) {
      const now = clock.now();
      const result = progress === undefined ? null : JSON.stringify(progress);
      const { total = null, processed = null, failed = null } = counters ?? {};
      const at = new Date(now).toISOString();
      return renew.run({ jobId, owner, lease: now + leaseMs, now, at, result, total, processed, failed }).changes === 1;
    },
    async handBack(jobId, owner) {
      const now = clock.now();
      return giveBack.run({ jobId, owner, lease: now + GIVEN_BACK_MS, now, at: new Date(now).toISOString() }).changes === 1;
    },
    async finish(jobId, owner, outcome) {
      const now = clock.now();
      const result = JSON.stringify(outcome.result ?? null);
      return end.run({ jobId, owner, status: outcome.status, result, at: new Date(now).toISOString(), now }).changes === 1;
    },
    async discard(jobId, owner) {
      return discard({ jobId, owner, now: clock.now() });
    },
    async deleteEnded(jobId) {
      return deleteEnded(jobId);
    },
    async deleteFinished(query) {
      // A few jobs a transaction, with a turn of the loop between them: each may free megabytes of
      // payload and results (500 jobs of 100,000 users held the loop about a second in one).
      let deleted = 0;
      for (;;) {
        const batch = Math.min(SWEPT_AT_ONCE, query.limit - deleted);
        const done = deleteBatch({ ...query, limit: batch });
        deleted += done;
        if (done < batch || deleted >= query.limit) return deleted;
        await turn();
      }
    },
  };
}

/** Finished jobs one transaction of a retention sweep deletes: a job of 100,000 users frees about 8 MB, 2 ms. */
const SWEPT_AT_ONCE = 10;

/** A payload this long (100,000 ids: megabytes) costs milliseconds to write, read or parse. */
const LARGE_PAYLOAD = 64 * 1024;

/** A turn of the event loop between the steps of a large payload's write or read, so none waits for all of them. */
async function turnIfLarge(text: string | undefined): Promise<void> {
  if (text !== undefined && text.length > LARGE_PAYLOAD) await turn();
}

type ListRow = Omit<JobRow, 'result'> & { summary: string | null; error: unknown };

/**
 * A page of jobs, newest first. Only placeholders vary with the query (one per type and status,
 * names from the caller's allow-lists); the summary and error are read out of the result by SQLite, so a
 * completed job's list of 100,000 users is neither read nor parsed.
 */
function listSql(query: JobListQuery): { sql: string; params: unknown[] } {
  const marks = (values: readonly unknown[]) => values.map(() => '?').join(', ');
  const where = [`type IN (${marks(query.types)})`];
  const params: unknown[] = [...query.types];
  if (query.statuses?.length) {
    where.push(`status IN (${marks(query.statuses)})`);
    params.push(...query.statuses);
  }
  if (query.before) {
    where.push('(created_at < ? OR (created_at = ? AND job_id < ?))');
    params.push(query.before.createdAt, query.before.createdAt, query.before.jobId);
  }
  const columns =
    "job_id, type, status, owner, lease_until, total, processed, failed, created_at, updated_at, json_extract(result, '$.summary') AS summary, json_extract(result, '$.error') AS error";
  const sql = `SELECT ${columns} FROM jobs WHERE ${where.join(' AND ')} ORDER BY created_at DESC, job_id DESC LIMIT ?`;
  return { sql, params: [...params, query.limit] };
}

function toListing(row: ListRow): JobListing {
  const { summary: summaryText, error, ...rest } = row;
  const { result: _result, ...head } = toHead({ ...rest, result: null });
  const summary = summaryText === null ? undefined : (JSON.parse(summaryText) as unknown);
  return { ...head, ...(isRecord(summary) && { summary }), ...(typeof error === 'string' && { error }) };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function toHead(row: JobRow): JobHead {
  return {
    jobId: row.job_id,
    type: row.type,
    status: row.status,
    result: row.result === null ? undefined : (JSON.parse(row.result) as unknown),
    owner: row.owner ?? undefined,
    leaseUntil: row.lease_until ?? undefined,
    ...(row.attempts ? { attempts: row.attempts } : {}),
    ...(row.total !== null && { counters: { total: row.total, processed: row.processed ?? 0, failed: row.failed ?? 0 } }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
