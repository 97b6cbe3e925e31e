import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Deps } from '../../src/context.js';
import { createDeps } from '../../src/deps.js';
import { InvalidInputError, TooManyRequestsError, UpstreamError } from '../../src/errors.js';
import { currentDeadline, withDeadline } from '../../src/deadline.js';
import { type JobHandler, JobWorker } from '../../src/infra/job-worker.js';

/**
 * The job worker over the embedded job store, in fake time (issue #18): its retry limit, what it
 * takes for a permanent failure, a lease lost in the middle of a run, and a resume from saved
 * progress. Time moves only when a test says so.
 */
let deps: Deps & { db: import('better-sqlite3').Database };
let worker: JobWorker | undefined;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  const config = loadConfig({ EMBEDDED_DB_PATH: ':memory:', LOG_LEVEL: 'silent', JOBS_LEASE_MS: '1000', JOBS_POLL_MS: '100' });
  deps = createDeps(config, pino({ level: 'silent' })) as typeof deps;
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  deps.db.close();
  vi.useRealTimers();
});

/** Lets fake time pass in steps, so that polls, back-offs and leases all get their turn. */
async function pass(ms: number): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += 50) await vi.advanceTimersByTimeAsync(50);
}

function start(handler: JobHandler<never>): void {
  worker = new JobWorker(deps, [handler]);
  worker.start();
}

const status = async (jobId: string) => (await deps.jobs.get(jobId))?.status;

describe('the job worker', () => {
  it('tries a job that fails on an upstream 5 times, then marks it failed', async () => {
    let calls = 0;
    const job = await deps.jobs.create({ type: 'flaky', payload: {} });
    start({
      type: 'flaky',
      run: async () => {
        calls += 1;
        throw new UpstreamError('CRUD', 'GET /users/', 503);
      },
    });
    await pass(30_000);
    expect(calls).toBe(5);
    expect(await status(job.jobId)).toBe('failed');
  });

  it('takes a 429 for a passing condition: tried again like a 5xx', async () => {
    let calls = 0;
    const job = await deps.jobs.create({ type: 'limited', payload: {} });
    start({
      type: 'limited',
      run: async () => {
        calls += 1;
        if (calls < 3) throw new TooManyRequestsError('slow down', 1);
        return { status: 'completed', result: { calls } };
      },
    });
    await pass(10_000);
    expect(calls).toBe(3);
    expect(await deps.jobs.get(job.jobId)).toMatchObject({ status: 'completed', result: { calls: 3 } });
  });

  it('marks a job failed at once when it fails on the client side (4xx)', async () => {
    let calls = 0;
    const job = await deps.jobs.create({ type: 'bad', payload: {} });
    start({
      type: 'bad',
      run: async () => {
        calls += 1;
        throw new InvalidInputError('no such user group');
      },
    });
    await pass(10_000);
    expect(calls).toBe(1);
    expect(await deps.jobs.get(job.jobId)).toMatchObject({ status: 'failed', result: { error: 'no such user group' } });
  });

  it('never gives up a job that asks to be retried forever', async () => {
    let calls = 0;
    const job = await deps.jobs.create({ type: 'repair', payload: {} });
    start({
      type: 'repair',
      retryForever: true,
      run: async () => {
        calls += 1;
        throw new UpstreamError('Auth0', 'POST /api/v2/users', 500);
      },
    });
    await pass(30_000);
    expect(calls).toBeGreaterThan(5);
    expect(await status(job.jobId)).not.toBe('failed');
  });

  it('stops a run whose lease another replica took, without finishing the job', async () => {
    const job = await deps.jobs.create({ type: 'long', payload: {} });
    let reachedEnd = false;
    start({
      type: 'long',
      run: async (_ctx, _job, run) => {
        // Another replica takes the job over (this replica's lease was lost, e.g. a long pause).
        deps.db.prepare("UPDATE jobs SET owner = 'other', lease_until = ? WHERE job_id = ?").run(Date.now() + 60_000, job.jobId);
        await run.save({ done: 1 } as never);
        reachedEnd = true;
        return { status: 'completed', result: {} };
      },
    });
    await pass(2_000);
    expect(reachedEnd).toBe(false);
    expect(await deps.jobs.get(job.jobId)).toMatchObject({ status: 'running', owner: 'other' });
  });

  it('runs a job woken by a request outside that request deadline', async () => {
    const seen: (number | undefined)[] = [];
    start({
      type: 'woken',
      run: async () => {
        seen.push(currentDeadline());
        return { status: 'completed', result: {} };
      },
    });
    await withDeadline(100, async () => {
      await deps.jobs.create({ type: 'woken', payload: {} });
      deps.jobEvents.emit('created', 'woken');
    });
    await pass(200);
    expect(seen).toEqual([undefined]);
  });

  it('resumes a job whose replica died between two chunks from the progress it saved', async () => {
    const job = await deps.jobs.create({ type: 'chunks', payload: { total: 3 } });
    // The dead replica claimed it, saved one chunk, and never came back.
    expect(await deps.jobs.claim(job.jobId, 'dead', 1000)).toBe(true);
    expect(await deps.jobs.heartbeat(job.jobId, 'dead', 1000, { done: 1 })).toBe(true);
    const seen: unknown[] = [];
    start({
      type: 'chunks',
      run: async (_ctx, _job, run) => {
        seen.push(run.progress);
        return { status: 'completed', result: { resumedFrom: run.progress } };
      },
    });
    await pass(500);
    expect(seen).toEqual([]); // its lease still holds
    await pass(1_500);
    expect(seen).toEqual([{ done: 1 }]);
    expect(await deps.jobs.get(job.jobId)).toMatchObject({ status: 'completed', result: { resumedFrom: { done: 1 } } });
  });
});
