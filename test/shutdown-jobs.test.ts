import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/domain/clock.js';
import { CrudCollection } from '../src/clients/crud/collection.js';
import { createCrudJobStore } from '../src/clients/crud/job-store.js';
import { createDispatcher } from '../src/clients/http.js';
import type { JobStore } from '../src/ports/job-store.js';
import { loadConfig } from '../src/config.js';
import type { Deps } from '../src/context.js';
import { createDeps } from '../src/deps.js';
import { type JobHandler, JobWorker } from '../src/infra/job-worker.js';
import { CrudEmulator } from './emulators/crud.js';
import { JOBS_COLLECTION } from './helpers/service.js';

const emulator = await new CrudEmulator([JOBS_COLLECTION]).start();
afterAll(() => emulator.stop());

const STORES: [string, (deps: Deps) => JobStore][] = [
  ['embedded', (deps) => deps.jobs],
  [
    'CRUD Service',
    () =>
      createCrudJobStore(
        new CrudCollection({ name: 'CRUD', baseUrl: emulator.url, dispatcher: createDispatcher(2000) }, '/jobs'),
        systemClock,
      ),
  ],
];

/** A job of steps that waits for the test between two steps, saving its progress after each. */
function steppedJob() {
  const waiting: (() => void)[] = [];
  let arrived!: () => void;
  let atStep = new Promise<void>((resolve) => (arrived = resolve));
  const handler: JobHandler<{ step: number }> = {
    type: 'stepped',
    async run(_ctx, _job, run) {
      for (let step = run.progress?.step ?? 0; step < 3; step += 1) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          arrived();
        });
        await run.save({ step: step + 1 });
      }
      return { status: 'completed', result: { step: 3 } };
    },
  };
  return {
    handler,
    /** Answers once the job waits between two steps. */
    waitsForStep: async () => {
      await atStep;
      atStep = new Promise<void>((resolve) => (arrived = resolve));
    },
    nextStep: () => waiting.shift()?.(),
  };
}

describe.each(STORES)('JobWorker.stop (%s store)', (_name, store) => {
  async function setUp() {
    const config = loadConfig({ EMBEDDED_DB_PATH: ':memory:', LOG_LEVEL: 'silent', JOBS_LEASE_MS: '60000', JOBS_POLL_MS: '60000' });
    const base = await createDeps(config, pino({ level: 'silent' }));
    const deps: Deps = { ...base, jobs: store(base) };
    const job = steppedJob();
    return { deps, job, worker: new JobWorker(deps, [job.handler as JobHandler<never>]) };
  }

  it('stops a job at its next save and hands its lease back, so another replica resumes it at once from there', async () => {
    const { deps, job, worker } = await setUp();
    worker.start();
    const { jobId } = await deps.jobs.create({ type: 'stepped', payload: null });
    deps.jobEvents.emit('created', 'stepped');
    await job.waitsForStep();
    job.nextStep();
    await job.waitsForStep();

    const stopped = worker.stop();
    job.nextStep();
    await stopped;
    const saved = await deps.jobs.get(jobId);
    expect(saved).toMatchObject({ status: 'running', result: { step: 2 } });
    expect(await deps.jobs.claim(jobId, 'another replica', 60_000)).toBe(true);
  });

  it('hands the lease back at the deadline when the job does not reach a save in time', async () => {
    const { deps, job, worker } = await setUp();
    worker.start();
    const { jobId } = await deps.jobs.create({ type: 'stepped', payload: null });
    deps.jobEvents.emit('created', 'stepped');
    await job.waitsForStep();

    const deadline = new AbortController();
    const stopped = worker.stop(deadline.signal);
    deadline.abort();
    await stopped;
    expect(await deps.jobs.claim(jobId, 'another replica', 60_000)).toBe(true);
  });

  it('claims no job once stopped', async () => {
    const { deps, worker } = await setUp();
    worker.start();
    await worker.stop();
    const { jobId } = await deps.jobs.create({ type: 'stepped', payload: null });
    deps.jobEvents.emit('created', 'stepped');
    expect(await deps.jobs.claim(jobId, 'another replica', 60_000)).toBe(true);
  });
});
