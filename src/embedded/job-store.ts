import { randomUUID } from 'node:crypto';
import type { Job, JobStore } from '../clients/ports.js';
import type { Db } from './db.js';

interface JobRow {
  job_id: string;
  type: string;
  status: Job['status'];
  payload: string;
  result: string | null;
  owner: string | null;
  lease_until: number | null;
  created_at: string;
  updated_at: string;
}

const CLAIMABLE = "status IN ('pending', 'running') AND (lease_until IS NULL OR lease_until < @now)";

/** Jobs in the embedded store; a claim is one conditional UPDATE, so processes on one file never share a job. */
export function createSqliteJobStore(db: Db): JobStore {
  const select = db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE job_id = ?');

  function claim(jobId: string, owner: string, leaseMs: number): boolean {
    const now = Date.now();
    return (
      db
        .prepare(
          `UPDATE jobs SET status = 'running', owner = @owner, lease_until = @lease, updated_at = @at WHERE job_id = @jobId AND ${CLAIMABLE}`,
        )
        .run({ jobId, owner, lease: now + leaseMs, now, at: new Date(now).toISOString() }).changes === 1
    );
  }

  return {
    async create({ type, payload, jobId = randomUUID(), owner, leaseMs = 0 }) {
      const now = Date.now();
      const at = new Date(now).toISOString();
      db.prepare(
        'INSERT INTO jobs (job_id, type, status, payload, owner, lease_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        jobId,
        type,
        owner ? 'running' : 'pending',
        JSON.stringify(payload ?? null),
        owner ?? null,
        owner ? now + leaseMs : null,
        at,
        at,
      );
      return toJob(select.get(jobId)!);
    },
    async get(jobId) {
      const row = select.get(jobId);
      return row && toJob(row);
    },
    async claim(jobId, owner, leaseMs) {
      return claim(jobId, owner, leaseMs);
    },
    async claimNext(type, owner, leaseMs) {
      const candidates = db
        .prepare<{ type: string; now: number }, { job_id: string }>(
          `SELECT job_id FROM jobs WHERE type = @type AND ${CLAIMABLE} ORDER BY created_at LIMIT 10`,
        )
        .all({ type, now: Date.now() });
      for (const { job_id: jobId } of candidates) {
        if (claim(jobId, owner, leaseMs)) return toJob(select.get(jobId)!);
      }
      return undefined;
    },
    async heartbeat(jobId, owner, leaseMs, progress) {
      const now = Date.now();
      const result = progress === undefined ? null : JSON.stringify(progress);
      return (
        db
          .prepare(
            `UPDATE jobs SET lease_until = @lease, updated_at = @at, result = COALESCE(@result, result)
             WHERE job_id = @jobId AND owner = @owner AND status = 'running' AND lease_until >= @now`,
          )
          .run({ jobId, owner, lease: now + leaseMs, now, at: new Date(now).toISOString(), result }).changes === 1
      );
    },
    async finish(jobId, owner, outcome) {
      const now = Date.now();
      return (
        db
          .prepare(
            "UPDATE jobs SET status = @status, result = @result, lease_until = NULL, updated_at = @at WHERE job_id = @jobId AND owner = @owner AND status = 'running' AND lease_until >= @now",
          )
          .run({
            jobId,
            owner,
            status: outcome.status,
            result: JSON.stringify(outcome.result ?? null),
            at: new Date(now).toISOString(),
            now,
          }).changes === 1
      );
    },
    async discard(jobId, owner) {
      return (
        db
          .prepare("DELETE FROM jobs WHERE job_id = ? AND owner = ? AND status = 'running' AND lease_until >= ?")
          .run(jobId, owner, Date.now()).changes === 1
      );
    },
  };
}

function toJob(row: JobRow): Job {
  return {
    jobId: row.job_id,
    type: row.type,
    status: row.status,
    payload: JSON.parse(row.payload) as unknown,
    result: row.result === null ? undefined : (JSON.parse(row.result) as unknown),
    owner: row.owner ?? undefined,
    leaseUntil: row.lease_until ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
