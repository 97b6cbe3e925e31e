import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import type { JobStore } from '../../src/ports/job-store.js';
import { loadConfig } from '../../src/config.js';
import type { Deps } from '../../src/context.js';
import { createDeps } from '../../src/deps.js';
import { type AnyJobHandler, JobWorker } from '../../src/infra/job-worker.js';
import { FakeClock } from './fake-clock.js';
import { memoryJobStore } from './memory-job-store.js';

/**
 * Job workers over a memory job store, on a fake clock, for the unit tests of the worker. Each
 * `replica` is a process of its own (its clock can be killed) sharing the store and the time.
 */
export async function workerFixture() {
  const clock = new FakeClock();
  const store = memoryJobStore(clock);
  const env = {
    EMBEDDED_DB_PATH: ':memory:',
    LOG_LEVEL: 'silent',
    JOBS_LEASE_MS: '3000',
    JOBS_POLL_MS: '100',
    AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: '2',
  };
  const base = await createDeps(loadConfig(env), pino({ level: 'silent' }), { clock });
  const running: JobWorker[] = [];

  /** A replica running `handlers`; `wrap` replaces some of its ports (a failing store, a recording provider). */
  function replica(handlers: AnyJobHandler[], wrap: (deps: Deps) => Partial<Deps> = () => ({})) {
    const replicaClock = clock.replica();
    const deps: Deps = { ...base, clock: replicaClock, jobs: store, jobEvents: new EventEmitter() };
    const wrapped = { ...deps, ...wrap(deps) };
    const worker = new JobWorker(wrapped, handlers);
    worker.start();
    running.push(worker);
    return {
      worker,
      deps: wrapped,
      /** The process dies: no timer of it fires again, and it hands nothing back. */
      kill: () => {
        replicaClock.kill();
        running.splice(running.indexOf(worker), 1);
      },
    };
  }

  return {
    clock,
    store: store as JobStore & typeof store,
    replica,
    async close() {
      await Promise.all(running.map((worker) => worker.stop()));
      base.db.close();
    },
  };
}
