import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Context } from '../../src/context.js';
import { JOB_SAVED, JobWatches } from '../../src/infra/job-watches.js';
import type { JobStore } from '../../src/ports/job-store.js';
import { BULK_ACTIVATION } from '../../src/resolvers/activation.js';
import { watchJob } from '../../src/resolvers/job-watch.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { memoryJobStore } from '../helpers/memory-job-store.js';

/**
 * The jobProgress watch on the service's clock (a fake one): a step saved on another replica (no
 * event here) is seen at the next poll and not before; one saved on this replica (the worker's
 * event) at once; a caller's places are bounded and given back.
 */
const POLL_MS = 1000;
let clock: FakeClock;
let jobs: JobStore;
let events: EventEmitter;
let ctx: Context;

beforeEach(() => {
  clock = new FakeClock();
  jobs = memoryJobStore(clock);
  events = new EventEmitter();
  const deps = {
    clock,
    jobs,
    jobWatches: new JobWatches(events, 1),
    config: { JOB_PROGRESS_POLL_MS: POLL_MS, ACCESS_CONTROL: 'gateway', REQUEST_TIMEOUT_MS: 15_000 },
  };
  // An administrator resolved already (behind a gateway, every caller may manage); the watch
  // resolves it again from the request's headers at every wake-up.
  ctx = {
    deps,
    headers: {},
    caller: Promise.resolve({ kind: 'apiKey', admin: true, actorId: 'admin' }),
    scope: { actorId: 'admin', headers: {} },
  } as unknown as Context;
});

/** Whether the promise has settled once the work queued so far has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await clock.advance(0);
  return done;
}

describe('watchJob', () => {
  it('sees steps saved on another replica at its next poll, not before, then ends', async () => {
    const job = await jobs.create({ type: BULK_ACTIVATION, payload: [] });
    const stream = await watchJob(ctx, job.jobId);
    expect((await stream.next()).value).toMatchObject({ status: 'pending', total: null });

    // Another replica claims the job and saves a step: this replica hears nothing.
    expect(await jobs.claim(job.jobId, 'other-replica', 60_000)).toBe(true);
    await jobs.heartbeat(job.jobId, 'other-replica', 60_000, { next: 2 }, { total: 4, processed: 2, failed: 1 });
    const step = stream.next();
    await clock.advance(POLL_MS - 1);
    expect(await settled(step)).toBe(false);
    await clock.advance(1);
    expect((await step).value).toMatchObject({ status: 'pending', total: 4, processed: 2, failed: 1 });

    await jobs.finish(job.jobId, 'other-replica', { status: 'completed', result: { summary: { total: 4, failed: 1 } } });
    const end = stream.next();
    await clock.advance(POLL_MS);
    expect((await end).value).toMatchObject({ status: 'completed', total: 4, processed: 4, failed: 1 });
    expect((await stream.next()).done).toBe(true);
    expect(ctx.deps.jobWatches.openFor('admin')).toBe(0);
  });

  it('wakes at once for a step saved on this replica', async () => {
    const job = await jobs.create({ type: BULK_ACTIVATION, payload: [] });
    const stream = await watchJob(ctx, job.jobId);
    await stream.next();
    await jobs.claim(job.jobId, 'this-replica', 60_000);
    await jobs.finish(job.jobId, 'this-replica', { status: 'failed', result: { error: 'the identity provider refused the import' } });
    const next = stream.next();
    events.emit(JOB_SAVED, job.jobId);
    expect(await settled(next)).toBe(true);
    expect((await next).value).toMatchObject({ status: 'failed', error: 'the identity provider refused the import' });
  });

  it('sends nothing while nothing changed, and stops reading the store once the client leaves', async () => {
    const job = await jobs.create({ type: BULK_ACTIVATION, payload: [] });
    let reads = 0;
    const head = jobs.head.bind(jobs);
    jobs.head = (jobId) => ((reads += 1), head(jobId));
    const stream = await watchJob(ctx, job.jobId);
    await stream.next();
    const next = stream.next();
    await clock.advance(POLL_MS * 5);
    expect(await settled(next)).toBe(false);
    expect(reads).toBe(1 + 5);
    await stream.return!();
    expect((await next).done).toBe(true);
    await clock.advance(POLL_MS * 5);
    expect(reads).toBe(1 + 5);
    expect(ctx.deps.jobWatches.openFor('admin')).toBe(0);
  });

  it('gives the caller its place back when the client leaves, even before reading', async () => {
    const job = await jobs.create({ type: BULK_ACTIVATION, payload: [] });
    const stream = await watchJob(ctx, job.jobId);
    await expect(watchJob(ctx, job.jobId)).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    await stream.return!();
    expect(ctx.deps.jobWatches.openFor('admin')).toBe(0);
    const again = await watchJob(ctx, job.jobId);
    await again.return!();
  });

  it('does not follow operation intents', async () => {
    const intent = await jobs.create({ type: 'user-creation', payload: {} });
    await expect(watchJob(ctx, intent.jobId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
