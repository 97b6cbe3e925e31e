import type { Deps } from '../context.js';
import { withoutDeadline } from '../deadline.js';
import type { Timer } from '../ports/clock.js';

/** The most finished jobs one retention sweep deletes of each kind (the CRUD store at most its page, 200). */
const SWEEP_LIMIT = 500;

/** How often each replica sweeps finished jobs: every 10 minutes, or a tenth of a shorter retention (1 s at least). */
const sweepEveryMs = (retentionMs: number) => Math.max(1000, Math.min(10 * 60_000, retentionMs / 10));

const DAY_MS = 86_400_000;

/** What a sweep deletes: the bulk jobs kept once done, and the operation intents (discarded when done). */
export interface RetainedTypes {
  jobs: string[];
  intents: string[];
}

/**
 * Deletes finished jobs (completed or failed) that ended over JOBS_RETENTION_DAYS ago: one bounded
 * batch of each kind a sweep, at start and then periodically, on every replica (two sweeping at
 * once delete each job once). Bulk jobs are kept once done; an intent is discarded when done, so
 * the finished ones are those that ended failed: kept for the retention period, for an operator to
 * find (the worker logged each failure), then deleted and logged as a warning. They stayed for good
 * before, and a failed `user-sync` intent is also its user's lock. An intent held or given back (an
 * open saga, a user's lock) is never deleted, however old. A failure is logged and tried at the
 * next sweep. Nothing runs with a retention of 0.
 */
export class JobRetention {
  private timer?: Timer;
  /** The sweep in flight, if any: one at a time per replica. */
  private sweeping?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly deps: Pick<Deps, 'jobs' | 'clock' | 'logger' | 'config'>,
    private readonly types: RetainedTypes,
  ) {}

  start(): void {
    const retentionMs = this.deps.config.JOBS_RETENTION_DAYS * DAY_MS;
    if (retentionMs <= 0 || this.types.jobs.length + this.types.intents.length === 0) return;
    this.timer = this.deps.clock.setInterval(() => this.sweep(retentionMs), sweepEveryMs(retentionMs));
    this.timer.unref();
    this.sweep(retentionMs);
  }

  /** Stops sweeping; answers once a sweep in flight has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.clock.clearTimer(this.timer);
    await this.sweeping;
  }

  private sweep(retentionMs: number): void {
    if (this.stopped || this.sweeping) return;
    const { jobs, clock, logger } = this.deps;
    const before = new Date(clock.now() - retentionMs).toISOString();
    const deleteOld = async (types: string[]) =>
      types.length === 0 ? 0 : withoutDeadline(() => jobs.deleteFinished({ types, before, limit: SWEEP_LIMIT }));
    this.sweeping = (async () => {
      const deleted = await deleteOld(this.types.jobs);
      if (deleted > 0) logger.info({ deleted, before }, 'finished jobs past JOBS_RETENTION_DAYS deleted');
      const intents = await deleteOld(this.types.intents);
      if (intents > 0) logger.warn({ deleted: intents, before }, 'failed operation intents past JOBS_RETENTION_DAYS deleted');
    })()
      .catch((error: unknown) => logger.warn({ err: error }, 'finished jobs past JOBS_RETENTION_DAYS could not be deleted'))
      .finally(() => {
        this.sweeping = undefined;
      });
  }
}
