import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../src/domain/clock.js';
import { openDatabase } from '../src/embedded/db.js';
import { createSqliteJobStore } from '../src/embedded/job-store.js';
import { startService, type TestService } from './helpers/service.js';

/** The payload of a bulk job of 100,000 users: megabytes of JSON. */
const bigPayload = (count = 100_000) => ({
  userIds: Array.from({ length: count }, (_, index) => `user-${index}-0123456789abcdef`),
  upsert: true,
});

describe.each(['embedded', 'crud'] as const)('the payload of a bulk job (%s store)', (store) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ store });
  });
  afterAll(() => service.close());

  it('is neither read nor parsed by a status read', async () => {
    const payload = bigPayload();
    const size = JSON.stringify(payload).length;
    const job = await service.deps.jobs.create({ type: 'bulk-activation', payload });
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const res = await service.call('GET', `/jobs/bulk-activation/${job.jobId}`);
      expect(res.body).toMatchObject({ jobId: job.jobId, status: 'pending' });
      const parsed = parse.mock.calls.map(([text]) => String(text).length);
      expect(Math.max(0, ...parsed)).toBeLessThan(size / 100);
    } finally {
      parse.mockRestore();
    }
    // The worker that claims it still gets it whole.
    expect((await service.deps.jobs.get(job.jobId))?.payload).toEqual(payload);
  });
});

describe('the embedded job store', () => {
  it('saves progress without rewriting the payload', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ums-job-payload-')), 'jobs.sqlite');
    const db = openDatabase(file);
    const jobs = createSqliteJobStore(db, systemClock);
    const payload = bigPayload();
    const job = await jobs.create({ type: 'bulk-activation', payload, owner: 'worker', leaseMs: 60_000 });
    db.pragma('wal_checkpoint(TRUNCATE)');
    for (let next = 1000; next <= 20_000; next += 1000) {
      expect(await jobs.heartbeat(job.jobId, 'worker', 60_000, { next, summary: { inserted: next } })).toBe(true);
    }
    expect(await jobs.finish(job.jobId, 'worker', { status: 'completed', result: { done: true } })).toBe(true);
    // 21 writes of a small row, where rewriting the payload each time would have written 21 × 3.5 MB.
    expect(statSync(`${file}-wal`).size).toBeLessThan(JSON.stringify(payload).length / 4);
    expect(await jobs.get(job.jobId)).toMatchObject({ status: 'completed', result: { done: true }, payload });
    db.close();
  });

  it('removes the payload with its job', async () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'ums-job-payload-')), 'jobs.sqlite'));
    const jobs = createSqliteJobStore(db, systemClock);
    const job = await jobs.create({ type: 'user-creation', payload: { userId: 'u1' }, owner: 'request', leaseMs: 60_000 });
    expect(await jobs.discard(job.jobId, 'request')).toBe(true);
    expect(db.prepare('SELECT COUNT(*) AS n FROM job_payloads').get()).toEqual({ n: 0 });
    expect(await jobs.get(job.jobId)).toBeUndefined();
    db.close();
  });
});
