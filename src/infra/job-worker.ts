import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { GIVEN_BACK_MS, type Job, type JobCounters } from '../ports/job-store.js';
import { type Context, type Deps, systemContext } from '../context.js';
import { withoutDeadline } from '../deadline.js';
import { type ProgressFormat, readProgress, saveProgress, UnreadableProgressError } from '../domain/job-progress.js';
import { describeCause, DomainError } from '../errors.js';
import type { Clock, Timer } from '../ports/clock.js';
import { JobRetention } from './job-retention.js';
import { JOB_SAVED } from './job-watches.js';

/** What a job's handler gets besides its payload: the progress it saved last, and how to save more. */
export interface JobRun<P> {
  /** Undefined on a job's first run; after a restart or a takeover, what the last run saved. */
  progress: P | undefined;
  /**
   * Saves progress (and the counters a pending job shows) and renews the lease; throws when another
   * replica has taken the job over.
   */
  save(progress: P, counters?: JobCounters): Promise<void>;
  /**
   * Throws (the run ends, the job left to whoever holds it now) when the lease may have lapsed:
   * taken over, or less than a third of it left since the last renewal that landed (two renewals in
   * a row failed). A repair calls it before each external step, so that one whose renewals failed
   * for a lease does not go on beside the write or replica that took the job meanwhile.
   */
  assertHeld(): void;
}

export interface JobOutcome {
  status: 'completed' | 'failed';
  result: unknown;
}

/** One type of job: runs it to its end from wherever its saved progress says. */
export interface JobHandler<P = unknown> {
  type: string;
  /** Tried again after any failure, never marked failed (a repair that waits for an upstream to come back). */
  retryForever?: boolean;
  /**
   * The longest a failed run keeps its claim before it is tried again (the back-off doubles from
   * 2 s up to JOBS_LEASE_MS otherwise): for an intent that is also its user's lock, how long the
   * user's writes may still be refused once the upstream is back.
   */
  maxBackoffMs?: number;
  /** Removed once done instead of kept as completed (an intent: its id must be free for the next operation on that user). */
  discardWhenDone?: boolean;
  /** How its progress is saved and read back (versioned, parsed); without it, progress is kept as given. */
  progress?: ProgressFormat<P>;
  run(ctx: Context, job: Job, run: JobRun<P>): Promise<JobOutcome>;
}

/** A handler of any progress type, for the worker's list (each handler reads and saves its own). */
export type AnyJobHandler = JobHandler<any>;

/**
 * Runs a job gets, then it is marked failed: runs that failed on an upstream (5xx, network) and
 * runs whose process died in them (taken over once their lease lapsed) alike. Counted by the store
 * at each claim (`Job.attempts`), so a job that kills its process in every run is not tried forever
 * by each new process counting afresh; a run handed back by a stopping replica is not counted.
 */
const MAX_ATTEMPTS = 5;

class LeaseLostError extends Error {}

/** `assertHeld` found the lease possibly lapsed: given back at once, in case it is still this run's. */
class LeaseLapsedError extends LeaseLostError {}

/** Thrown by `save` once the worker is stopping: the progress is saved, the job is handed back. */
class StoppingError extends Error {}

/**
 * Works on persisted jobs: each replica claims a job with a lease that heartbeats renew, so a job
 * runs on one replica at a time and is taken over when its replica dies. One job of each type at a
 * time per replica; new jobs are picked up at once here, and every JOBS_POLL_MS everywhere.
 */
export class JobWorker {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  /** Failed runs by job, for a store that does not count claims (a CRUD collection without `attempts`). */
  private readonly attempts = new Map<string, number>();
  private timer?: Timer;
  private retention?: JobRetention;
  private stopped = false;
  /** Jobs this worker holds right now, and the loops running them (for `stop`). */
  private readonly held = new Set<string>();
  private readonly loops = new Set<Promise<void>>();
  // A job created by a request is woken inside it: its run must not inherit the request's deadline.
  private readonly onCreated = (type: string) => withoutDeadline(() => this.drain(type));

  constructor(
    private readonly deps: Deps,
    /** Of any progress type: each handler reads and saves its own, which the worker only stores. */
    private readonly handlers: AnyJobHandler[],
  ) {}

  start(): void {
    this.deps.jobEvents.on('created', this.onCreated);
    const poll = () => this.handlers.forEach((handler) => this.drain(handler.type));
    this.timer = this.deps.clock.setInterval(poll, this.deps.config.JOBS_POLL_MS);
    this.timer.unref();
    this.handlers.forEach((handler) => this.drain(handler.type));
    // Finished jobs go after JOBS_RETENTION_DAYS: bulk jobs, and intents that ended failed (the others are discarded when done).
    const typesOf = (intents: boolean) =>
      this.handlers.filter((handler) => (handler.discardWhenDone ?? false) === intents).map((handler) => handler.type);
    this.retention = new JobRetention(this.deps, { jobs: typesOf(false), intents: typesOf(true) });
    this.retention.start();
  }

  /**
   * Stops taking jobs. A job in progress stops at its next save and its lease is handed back, so
   * another replica (or the next start) resumes it at once from that save instead of waiting for
   * the lease to lapse. Answers when the jobs have stopped; when `signal` aborts first, the leases
   * of the jobs still running are handed back there and then (they resume from their last save).
   */
  async stop(signal?: AbortSignal): Promise<void> {
    this.stopped = true;
    this.deps.clock.clearTimer(this.timer);
    this.deps.jobEvents.off('created', this.onCreated);
    const stopped = Promise.allSettled([...this.loops, this.retention?.stop()]);
    if (!signal) await stopped;
    else if (!signal.aborted) await Promise.race([stopped, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
    await Promise.allSettled([...this.held].map((jobId) => this.handBack(jobId)));
  }

  /** A lease that ended a millisecond ago: the job is claimable again at once, from its last saved progress. */
  private handBack(jobId: string): Promise<boolean> {
    this.held.delete(jobId);
    return this.deps.jobs.handBack(jobId, this.owner);
  }

  private drain(type: string): void {
    const handler = this.handlers.find((candidate) => candidate.type === type);
    if (!handler || this.stopped) return;
    if (this.busy.has(type)) {
      this.again.add(type);
      return;
    }
    this.busy.add(type);
    const loop = this.claimAndRun(handler)
      .catch((error: unknown) => this.deps.logger.error({ err: error, type }, 'could not claim a job'))
      .finally(() => {
        this.loops.delete(loop);
        this.busy.delete(type);
        if (this.again.delete(type)) this.drain(type);
      });
    this.loops.add(loop);
  }

  private async claimAndRun(handler: AnyJobHandler): Promise<void> {
    const leaseMs = this.deps.config.JOBS_LEASE_MS;
    // No claim once stopping: a job claimed then would sit leased by a worker that never runs it.
    // The lease runs from the claim's sending, at the latest: it is counted from there.
    let asked = this.deps.clock.now();
    for (let job = await this.deps.jobs.claimNext(handler.type, this.owner, leaseMs); job;) {
      if (this.stopped) return void (await this.handBack(job.jobId));
      await this.run(handler, job, asked);
      if (this.stopped) return;
      asked = this.deps.clock.now();
      job = await this.deps.jobs.claimNext(handler.type, this.owner, leaseMs);
    }
  }

  private async run(handler: AnyJobHandler, job: Job, claimedAt: number): Promise<void> {
    const { jobs, config, logger, clock } = this.deps;
    const leaseMs = config.JOBS_LEASE_MS;
    let lost = false;
    let heldUntil = claimedAt + leaseMs;
    const renew = async (progress?: unknown, counters?: JobCounters) => {
      const sent = clock.now();
      lost ||= !(await jobs.heartbeat(job.jobId, this.owner, leaseMs, progress, counters));
      if (lost) throw new LeaseLostError(`job ${job.jobId} was taken over by another replica`);
      heldUntil = Math.max(heldUntil, sent + leaseMs);
      // A saved step: jobProgress subscriptions on this replica send it at once.
      if (progress !== undefined) this.deps.jobEvents.emit(JOB_SAVED, job.jobId);
      if (this.stopped && progress !== undefined) throw new StoppingError();
    };
    const log = logger.child({ jobId: job.jobId, type: job.type });
    const format = handler.progress;
    // This run's claim, counted by the store; by this process's failed runs where the store counts none.
    const attempts = job.attempts ?? (this.attempts.get(job.jobId) ?? 0) + 1;
    if (!handler.retryForever && attempts > MAX_ATTEMPTS) return this.giveUpDying(handler, job, attempts - 1);
    this.held.add(job.jobId);
    try {
      const progress = format ? readProgress(format, job.result) : job.result;
      const outcome = await withHeartbeat(
        this.deps.clock,
        () => renew().catch(() => undefined),
        leaseMs / 3,
        () =>
          handler.run(systemContext(this.deps, `job:${job.type}`), job, {
            progress: progress as never,
            save: (saved, counters) => renew(format ? saveProgress(format, saved) : saved, counters),
            assertHeld: () => {
              if (lost || clock.now() > heldUntil - leaseMs / 3) {
                throw new LeaseLapsedError(
                  `job ${job.jobId}: its lease may have lapsed (its renewals failed); left to whoever holds it now`,
                );
              }
            },
          }),
      );
      const ended = handler.discardWhenDone ? await jobs.discard(job.jobId, this.owner) : await jobs.finish(job.jobId, this.owner, outcome);
      if (!ended) log.warn('the job was taken over before it could be finished');
      else {
        this.deps.jobEvents.emit(JOB_SAVED, job.jobId);
        // Intents (discarded when done) are no jobs anyone started: only startJob's kinds are counted.
        if (!handler.discardWhenDone) this.deps.metrics.job(job.type, outcome.status);
      }
      this.attempts.delete(job.jobId);
    } catch (error) {
      if (error instanceof LeaseLapsedError) {
        // Still this run's (its renewals only slow), it would hold the job a lease with nobody on it.
        await jobs.heartbeat(job.jobId, this.owner, GIVEN_BACK_MS).catch(() => undefined);
      }
      if (error instanceof LeaseLostError) return log.warn(error.message);
      if (error instanceof UnreadableProgressError) {
        log.error({ err: error }, 'job failed: its saved progress cannot be read');
        return void (await jobs.finish(job.jobId, this.owner, {
          status: 'failed',
          result: { error: `job ${job.jobId}: ${error.message}` },
        }));
      }
      if (error instanceof StoppingError) {
        if (this.held.has(job.jobId)) await this.handBack(job.jobId);
        return log.info('job stopped at a save point and handed back');
      }
      const permanent = error instanceof DomainError && error.status < 500 && error.status !== 429;
      if (!handler.retryForever && (permanent || attempts >= MAX_ATTEMPTS)) {
        log.error({ err: error, attempts }, 'job failed');
        this.attempts.delete(job.jobId);
        // Shown as the job's error (jobProgress): the service's words; the cause is in the log line above.
        const ended = await jobs.finish(job.jobId, this.owner, { status: 'failed', result: { error: describeCause(error) } });
        if (ended && !handler.discardWhenDone) this.deps.metrics.job(job.type, 'failed');
        this.deps.jobEvents.emit(JOB_SAVED, job.jobId);
      } else {
        // Keep the claim only for a back-off: the job is claimable again once it lapses.
        log.warn({ err: error, attempts }, 'job interrupted; it will be tried again');
        if (job.attempts === undefined) this.attempts.set(job.jobId, attempts);
        await jobs.heartbeat(job.jobId, this.owner, Math.min(leaseMs, handler.maxBackoffMs ?? leaseMs, 1000 * 2 ** attempts));
      }
    } finally {
      this.held.delete(job.jobId);
    }
  }

  /**
   * A job claimed past MAX_ATTEMPTS runs: the runs before did not end (their process died in them,
   * or they failed and the last one's process died). Marked failed rather than run again: a job
   * that kills its process each time was retried forever, holding a BULK_JOBS_MAX_PENDING place.
   */
  private async giveUpDying(handler: AnyJobHandler, job: Job, runs: number): Promise<void> {
    const error = `job ${job.jobId} did not end in ${runs} runs (each failed, or its process stopped during it): not tried again`;
    this.deps.logger.error({ jobId: job.jobId, type: job.type, runs }, 'job failed: its runs never ended');
    const ended = await this.deps.jobs.finish(job.jobId, this.owner, { status: 'failed', result: { error } });
    if (ended && !handler.discardWhenDone) this.deps.metrics.job(job.type, 'failed');
    this.deps.jobEvents.emit(JOB_SAVED, job.jobId);
  }
}

/**
 * Runs `work` while calling `beat` every `everyMs`. A beat still in flight when the work ends is
 * awaited: landing after the back-off or the hand-back written next, it held the job (for an
 * intent, its user's lock) a whole JOBS_LEASE_MS, as `holdingIntent` found for requests.
 */
async function withHeartbeat<T>(clock: Clock, beat: () => Promise<unknown>, everyMs: number, work: () => Promise<T>): Promise<T> {
  let inFlight: Promise<unknown> = Promise.resolve();
  const timer = clock.setInterval(
    () => {
      inFlight = inFlight.then(beat);
    },
    Math.max(50, everyMs),
  );
  try {
    return await work();
  } finally {
    clock.clearTimer(timer);
    await inFlight;
  }
}
