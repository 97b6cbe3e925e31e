import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentDeadline, withDeadline } from '../../src/deadline.js';
import { InvalidInputError, NotFoundError, TooManyRequestsError, UpstreamError } from '../../src/errors.js';
import type { Deps } from '../../src/context.js';
import type { JobHandler } from '../../src/infra/job-worker.js';
import { workerFixture } from '../helpers/job-worker.js';

/**
 * The job worker over a memory job store, on a fake clock (issue #18): its retry limit and
 * back-off, what it takes for a permanent failure, and a lease lost in the middle of a run. Time
 * moves only when a test says so (JOBS_LEASE_MS 3000, JOBS_POLL_MS 100).
 */
let fixture: Awaited<ReturnType<typeof workerFixture>>;
beforeEach(async () => {
  fixture = await workerFixture();
});
afterEach(() => fixture.close());

/** A handler of `type` that counts its runs and fails each with `error`. */
function failing(type: string, error: () => Error, options: Partial<JobHandler> = {}) {
  const handler = {
    type,
    calls: 0,
    ...options,
    async run() {
      handler.calls += 1;
      throw error();
    },
  };
  return handler;
}

const stored = async (jobId: string) => fixture.store.get(jobId);

describe('the job worker: failures', () => {
  it('tries a job that fails on an upstream 5 times, backing off between tries, then marks it failed', async () => {
    const handler = failing('flaky', () => new UpstreamError('CRUD', 'GET /users/', 503));
    const job = await fixture.store.create({ type: 'flaky', payload: {} });
    fixture.replica([handler]);
    await fixture.clock.advance(1);
    expect(handler.calls).toBe(1);
    // Backs off 2 s after the first failure (then doubles, up to the lease), not at the next poll.
    await fixture.clock.advance(1900);
    expect(handler.calls).toBe(1);
    await fixture.clock.advance(300);
    expect(handler.calls).toBe(2);
    await fixture.clock.advance(60_000);
    expect(handler.calls).toBe(5);
    expect(await stored(job.jobId)).toMatchObject({ status: 'failed', result: { error: expect.stringContaining('CRUD') } });
  });

  it('counts its failed runs in memory over a store that counts no claims (a CRUD collection without attempts): failed after 5', async () => {
    const handler = failing('uncounted', () => new UpstreamError('CRUD', 'GET /users/', 503));
    const job = await fixture.store.create({ type: 'uncounted', payload: {} });
    fixture.replica([handler], (deps) => ({
      jobs: {
        ...deps.jobs,
        claimNext: async (...args) => {
          const claimed = await deps.jobs.claimNext(...args);
          return claimed && { ...claimed, attempts: undefined };
        },
      },
    }));
    await fixture.clock.advance(60_000);
    expect(handler.calls).toBe(5);
    expect(await stored(job.jobId)).toMatchObject({ status: 'failed' });
  });

  it('takes a 429 for a passing condition: tried again like a 5xx', async () => {
    let calls = 0;
    const job = await fixture.store.create({ type: 'limited', payload: {} });
    fixture.replica([
      {
        type: 'limited',
        run: async () => {
          calls += 1;
          if (calls < 3) throw new TooManyRequestsError('slow down', 1);
          return { status: 'completed', result: { calls } };
        },
      },
    ]);
    await fixture.clock.advance(20_000);
    expect(calls).toBe(3);
    expect(await stored(job.jobId)).toMatchObject({ status: 'completed', result: { calls: 3 } });
  });

  it.each([
    ['invalid input (400)', () => new InvalidInputError('no such user group')],
    ['not found (404)', () => new NotFoundError('user 42 not found')],
  ])('marks a job failed at once when it fails on the client side: %s', async (_name, error) => {
    const handler = failing('bad', error);
    const job = await fixture.store.create({ type: 'bad', payload: {} });
    fixture.replica([handler]);
    await fixture.clock.advance(30_000);
    expect(handler.calls).toBe(1);
    expect(await stored(job.jobId)).toMatchObject({ status: 'failed', result: { error: error().message } });
  });

  it('never gives up a job that asks to be retried forever', async () => {
    const handler = failing('repair', () => new UpstreamError('Auth0', 'POST /api/v2/users', 500), { retryForever: true });
    const job = await fixture.store.create({ type: 'repair', payload: {} });
    fixture.replica([handler]);
    await fixture.clock.advance(60_000);
    expect(handler.calls).toBeGreaterThan(10);
    expect((await stored(job.jobId))?.status).toBe('running');
  });

  it('keeps a failed run to its back-off when a renewal of its lease lands after the run failed', async () => {
    // A user-sync intent is its user's lock: its back-off (maxBackoffMs) bounds how long the user's
    // writes are refused once the upstream is back. A renewal sent while the run worked, answered
    // after the back-off was written, held the job a whole JOBS_LEASE_MS (3 s here) instead.
    let fail!: () => void;
    const failed = new Promise<void>((resolve) => (fail = resolve));
    let landRenewal!: () => void;
    const renewalLands = new Promise<void>((resolve) => (landRenewal = resolve));
    let renewalSent = false;
    const handler = {
      type: 'lock',
      retryForever: true,
      maxBackoffMs: 1_000,
      calls: 0,
      async run() {
        handler.calls += 1;
        if (handler.calls === 1) await failed;
        throw new UpstreamError('Auth0', 'PATCH /api/v2/users', 503);
      },
    };
    const job = await fixture.store.create({ type: 'lock', payload: {} });
    fixture.replica([handler], (deps) => ({
      jobs: {
        ...deps.jobs,
        async heartbeat(jobId, owner, leaseMs, ...rest) {
          // The first renewal (a full lease) is slow to answer: it lands when the test says.
          if (leaseMs === 3_000 && !renewalSent) {
            renewalSent = true;
            await renewalLands;
          }
          return deps.jobs.heartbeat(jobId, owner, leaseMs, ...rest);
        },
      },
    }));
    await fixture.clock.advance(1);
    await fixture.clock.advance(1_000);
    expect([handler.calls, renewalSent]).toEqual([1, true]);
    fail();
    await fixture.clock.advance(1);
    landRenewal();
    await fixture.clock.advance(1_200);
    expect(handler.calls).toBe(2);
    expect((await stored(job.jobId))?.status).toBe('running');
  });

  it('runs a job woken by a request outside that request deadline', async () => {
    const seen: (number | undefined)[] = [];
    const { deps } = fixture.replica([
      {
        type: 'woken',
        run: async () => {
          seen.push(currentDeadline());
          return { status: 'completed', result: {} };
        },
      },
    ]);
    await withDeadline(100, async () => {
      await fixture.store.create({ type: 'woken', payload: {} });
      deps.jobEvents.emit('created', 'woken');
    });
    await fixture.clock.advance(1);
    expect(seen).toEqual([undefined]);
  });
});

describe('the job worker: a job whose process dies in every run', () => {
  /** A handler whose run never ends: its process dies during it (the test kills the replica). */
  function dying(type: string) {
    const handler = { type, runs: 0, run: () => ((handler.runs += 1), new Promise<never>(() => undefined)) };
    return handler;
  }

  it('is marked failed with a clear error after 5 runs, counted in the store: each new process does not count afresh', async () => {
    const job = await fixture.store.create({ type: 'crashing', payload: {} });
    const handler = dying('crashing');
    for (let life = 0; life < 8; life += 1) {
      const replica = fixture.replica([handler]);
      await fixture.clock.advance(1);
      replica.kill();
      // Its lease lapses (JOBS_LEASE_MS 3000): the next process takes the job over.
      await fixture.clock.advance(3_500);
    }
    expect(handler.runs).toBe(5);
    expect(await stored(job.jobId)).toMatchObject({
      status: 'failed',
      result: { error: `job ${job.jobId} did not end in 5 runs (each failed, or its process stopped during it): not tried again` },
    });
  });

  it('counts a run that failed and a run whose process died in one bound', async () => {
    const job = await fixture.store.create({ type: 'mixed', payload: {} });
    let runs = 0;
    const handler: JobHandler = {
      type: 'mixed',
      run: () => {
        runs += 1;
        if (runs % 2 === 1) return Promise.reject(new UpstreamError('CRUD', 'GET /users/', 503));
        return new Promise<never>(() => undefined);
      },
    };
    for (let life = 0; life < 6; life += 1) {
      const replica = fixture.replica([handler]);
      // The failed run's back-off (2 s, 4 s…), then the retry, which dies.
      await fixture.clock.advance(10_000);
      replica.kill();
      await fixture.clock.advance(3_500);
    }
    expect(runs).toBe(5);
    expect(await stored(job.jobId)).toMatchObject({ status: 'failed' });
  });

  it('does not count a run handed back by a replica that stopped: it resumes elsewhere', async () => {
    const job = await fixture.store.create({ type: 'handed', payload: {} });
    let runs = 0;
    let save: () => void = () => undefined;
    const handler: JobHandler = {
      type: 'handed',
      run: async (_ctx, _job, run) => {
        runs += 1;
        if (runs > 6) return { status: 'completed', result: { runs } };
        await new Promise<void>((resolve) => (save = resolve));
        // Its replica is stopping: the save throws, and the job is handed back.
        await run.save({ step: runs });
        return { status: 'completed', result: { runs: 0 } };
      },
    };
    for (let life = 0; life < 6; life += 1) {
      const replica = fixture.replica([handler]);
      await fixture.clock.advance(1);
      const stopping = replica.worker.stop();
      save();
      await stopping;
    }
    fixture.replica([handler]);
    await fixture.clock.advance(1);
    expect(await stored(job.jobId)).toMatchObject({ status: 'completed', result: { runs: 7 } });
  });
});

describe('the job worker: a lease lost mid-run', () => {
  /**
   * Replica A's store stops answering its renewals (a long pause, a partition): its lease lapses,
   * replica B claims the job and runs it. A, back, must neither go on nor overwrite B's outcome.
   */
  async function takenOver(finishA: (save: (progress: unknown) => Promise<void>) => Promise<void>) {
    const job = await fixture.store.create({ type: 'long', payload: {} });
    let cut = false;
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    const stepsOfA: string[] = [];
    fixture.replica(
      [
        {
          type: 'long',
          run: async (_ctx, _job, run) => {
            stepsOfA.push('started');
            cut = true;
            await paused;
            await finishA((progress) => run.save(progress as never));
            stepsOfA.push('reached its end');
            return { status: 'completed', result: { by: 'A' } };
          },
        },
      ],
      (deps) => ({
        jobs: {
          ...deps.jobs,
          heartbeat: (...args) => (cut ? Promise.reject(new UpstreamError('CRUD', 'PATCH /jobs', 503)) : deps.jobs.heartbeat(...args)),
        },
      }),
    );
    await fixture.clock.advance(1);
    expect(stepsOfA).toEqual(['started']);
    await fixture.clock.advance(3_500);
    let runsOfB = 0;
    fixture.replica([{ type: 'long', run: async () => ({ status: 'completed', result: { by: 'B', runs: (runsOfB += 1) } }) }]);
    await fixture.clock.advance(200);
    cut = false;
    release();
    await fixture.clock.advance(5_000);
    return { job: await stored(job.jobId), stepsOfA, runsOfB };
  }

  it('stops at its next save once another replica holds the job', async () => {
    const { job, stepsOfA, runsOfB } = await takenOver((save) => save({ done: 1 }));
    expect(stepsOfA).toEqual(['started']);
    expect(runsOfB).toBe(1);
    expect(job).toMatchObject({ status: 'completed', result: { by: 'B', runs: 1 } });
  });

  it('cannot finish a job another replica holds, even without a save in between', async () => {
    const { job, stepsOfA } = await takenOver(async () => undefined);
    expect(stepsOfA).toEqual(['started', 'reached its end']);
    expect(job).toMatchObject({ status: 'completed', result: { by: 'B', runs: 1 } });
  });
});

describe('the job worker: assertHeld, before each external step of a run', () => {
  /** A run that calls assertHeld each time the test says (`check`), recording what it found; `cut` fails its renewals. */
  function checkedRun() {
    const state = { cut: false, ended: false, seen: [] as string[] };
    let next!: () => void;
    let asked = new Promise<void>((resolve) => (next = resolve));
    const handler: JobHandler = {
      type: 'checked',
      run: async (_ctx, _job, run) => {
        for (;;) {
          await asked;
          asked = new Promise<void>((resolve) => (next = resolve));
          if (state.ended) return { status: 'completed', result: {} };
          try {
            run.assertHeld();
            state.seen.push('held');
          } catch (error) {
            state.seen.push('lapsed');
            throw error;
          }
        }
      },
    };
    fixture.replica([handler], (deps) => ({
      jobs: {
        ...deps.jobs,
        heartbeat: (...args) => (state.cut ? Promise.reject(new UpstreamError('CRUD', 'PATCH /jobs', 503)) : deps.jobs.heartbeat(...args)),
      },
    }));
    const check = async (afterMs: number) => {
      await fixture.clock.advance(afterMs);
      next();
      await fixture.clock.advance(0);
    };
    /** The run ends (a worker stopping waits for it). */
    const end = async () => {
      state.ended = true;
      await check(0);
    };
    return { state, check, end };
  }

  it('finds the lease held for as long as its renewals land, past one lease (3 s)', async () => {
    await fixture.store.create({ type: 'checked', payload: {} });
    const { state, check, end } = checkedRun();
    await fixture.clock.advance(1);
    for (let second = 0; second < 6; second += 1) await check(1_000);
    await end();
    expect(state.seen).toEqual(Array(6).fill('held'));
  });

  it('finds it lapsed once two renewals in a row failed (under a third of the lease left), not after one', async () => {
    await fixture.store.create({ type: 'checked', payload: {} });
    const { state, check, end } = checkedRun();
    await fixture.clock.advance(1);
    state.cut = true;
    // The renewal at 1 s failed: 1.5 s of the claim's lease are left.
    await check(1_500);
    // The one at 2 s failed too: 0.5 s left.
    await check(1_000);
    await end();
    expect(state.seen).toEqual(['held', 'lapsed']);
  });
});

describe('the job worker: finished jobs past JOBS_RETENTION_DAYS', () => {
  /** 0.0001 days: 8,640 ms, swept every second (a tenth of it, at least 1 s). */
  const retention = (days: number) => (deps: Deps) => ({
    config: { ...deps.config, JOBS_RETENTION_DAYS: days },
  });
  const done: JobHandler = { type: 'kept', run: async () => ({ status: 'completed', result: { summary: {} } }) };
  const broken = failing('broken', () => new InvalidInputError('no such user group'));

  it('deletes a job that ended longer ago than the retention, on every replica at once; a younger or a running one stays', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow: JobHandler = { type: 'slow', run: async () => (await released, { status: 'completed', result: {} }) };
    const completed = await fixture.store.create({ type: 'kept', payload: { ids: ['1'] } });
    const failed = await fixture.store.create({ type: 'broken', payload: {} });
    const running = await fixture.store.create({ type: 'slow', payload: {} });
    fixture.replica([done, broken, slow], retention(0.0001));
    fixture.replica([done, broken, slow], retention(0.0001));
    // The slow job ends with the test, whatever it found (the fixture's close waits for it).
    try {
      await fixture.clock.advance(1);
      expect((await stored(completed.jobId))?.status).toBe('completed');
      expect((await stored(failed.jobId))?.status).toBe('failed');
      await fixture.clock.advance(4_000);
      const younger = await fixture.store.create({ type: 'kept', payload: {} });
      await fixture.clock.advance(4_000);
      expect(await stored(completed.jobId)).toBeDefined();
      await fixture.clock.advance(1_700);
      expect(await stored(completed.jobId)).toBeUndefined();
      expect(await stored(failed.jobId)).toBeUndefined();
      expect((await stored(younger.jobId))?.status).toBe('completed');
      expect((await stored(running.jobId))?.status).toBe('running');
    } finally {
      release();
    }
  });

  // Failed intents were never swept: each stayed in the store for good (a `user-sync` one, its user's lock, held for good too).
  it('deletes an operation intent that ended failed longer ago than the retention; a younger failed one and a held one stay', async () => {
    const intent: JobHandler = {
      type: 'intent',
      discardWhenDone: true,
      retryForever: true,
      run: async () => ({ status: 'completed', result: {} }),
    };
    const failedIntent = async () => {
      const job = await fixture.store.create({ type: 'intent', payload: {}, owner: 'elsewhere', leaseMs: 1000 });
      await fixture.store.finish(job.jobId, 'elsewhere', { status: 'failed', result: { error: 'unreadable' } });
      return job.jobId;
    };
    const oldFailed = await failedIntent();
    // Held by a live operation (an open saga, a user's lock), however old: never swept.
    const held = await fixture.store.create({ type: 'intent', payload: {}, owner: 'elsewhere', leaseMs: 86_400_000 });
    fixture.replica([intent], retention(0.0001));
    await fixture.clock.advance(5_000);
    const youngFailed = await failedIntent();
    await fixture.clock.advance(5_000);
    expect(await stored(oldFailed)).toBeUndefined();
    // An operator still finds the failed intents of the retention period.
    expect((await stored(youngFailed))?.status).toBe('failed');
    expect((await stored(held.jobId))?.status).toBe('running');
    await fixture.clock.advance(10_000);
    expect(await stored(youngFailed)).toBeUndefined();
    expect((await stored(held.jobId))?.status).toBe('running');
  });

  it('sweeps at its start: a job that ended past the retention while no replica ran goes at once, not 10 minutes later', async () => {
    const old = await fixture.store.create({ type: 'kept', payload: {} });
    await fixture.store.claim(old.jobId, 'gone', 60_000);
    await fixture.store.finish(old.jobId, 'gone', { status: 'completed', result: { summary: {} } });
    await fixture.clock.advance(31 * 86_400_000);
    fixture.replica([done], retention(30));
    await fixture.clock.advance(1);
    expect(await stored(old.jobId)).toBeUndefined();
  });

  it('keeps every job with JOBS_RETENTION_DAYS=0, asking the store nothing', async () => {
    let sweeps = 0;
    const job = await fixture.store.create({ type: 'kept', payload: {} });
    fixture.replica([done], (deps) => ({
      ...retention(0)(deps),
      jobs: {
        ...deps.jobs,
        deleteFinished: async (query) => {
          sweeps += 1;
          return deps.jobs.deleteFinished(query);
        },
      },
    }));
    await fixture.clock.advance(60_000);
    expect(sweeps).toBe(0);
    expect((await stored(job.jobId))?.status).toBe('completed');
  });
});
