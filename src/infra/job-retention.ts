import type { Deps } from '../context.js';
import { withoutDeadline } from '../deadline.js';
import type { Timer } from '../ports/clock.js';

/** The most finished jobs one retention sweep deletes (the CRUD store at most its page, 200). */
const SWEEP_LIMIT = 500;

/** How often each replica sweeps finished jobs: every 10 minutes, or a tenth of a shorter retention (1 s at least). */
const sweepEveryMs = (retentionMs: number) => Math.max(1000, Math.min(10 * 60_000, retentionMs / 10));

const DAY_MS = 86_400_000;

/**
 * Deletes finished jobs (completed or failed) of `types` that ended over JOBS_RETENTION_DAYS ago:
 * one bounded batch a sweep, at start and then periodically, on every replica (two sweeping at
 * once delete each job once). The job worker passes the types it keeps once done: an intent is
 * discarded when done, and one that ended failed (its progress unreadable) is left to an operator.
 * A failure is logged and tried at the next sweep. Nothing runs with a retention of 0.
 */
export class JobRetention {
  private timer?: Timer;
  /** The sweep in flight, if any: one at a time per replica. */
  private sweeping?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly deps: Pick<Deps, 'jobs' | 'clock' | 'logger' | 'config'>,
    private readonly types: string[],
  ) {}

  start(): void {
    const retentionMs = this.deps.config.JOBS_RETENTION_DAYS * DAY_MS;
    if (retentionMs <= 0 || this.types.length === 0) return;
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
    this.sweeping = withoutDeadline(() => jobs.deleteFinished({ types: this.types, before, limit: SWEEP_LIMIT }))
      .then((deleted) => {
        if (deleted > 0) logger.info({ deleted, before }, 'finished jobs past JOBS_RETENTION_DAYS deleted');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'finished jobs past JOBS_RETENTION_DAYS could not be deleted'))
      .finally(() => {
        this.sweeping = undefined;
      });
  }
}
