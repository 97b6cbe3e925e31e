import type { EventEmitter } from 'node:events';
import { TooManyRequestsError } from '../errors.js';

/** The event the job worker emits (with the job's id) after each saved step and at a job's end. */
export const JOB_SAVED = 'job-saved';

/**
 * Who is watching which job on this replica: one listener on the job events for the whole process
 * (not one per subscription), and at most `maxPerCaller` open watches per caller, so a page left
 * open many times over costs a bounded number of timers and polls.
 */
export class JobWatches {
  private readonly perCaller = new Map<string, number>();
  private readonly waiting = new Map<string, Set<() => void>>();
  /** How to end each open watch, for `endAll`; undefined once the service is shutting down. */
  private enders: Set<() => void> | undefined = new Set();

  constructor(
    events: EventEmitter,
    private readonly maxPerCaller: number,
  ) {
    events.on(JOB_SAVED, (jobId: string) => this.waiting.get(jobId)?.forEach((wake) => wake()));
  }

  /**
   * Takes one of the caller's watches; answers the function that gives it back. `end` stops the
   * watch's stream: at `endAll`, or at once when the service is already shutting down.
   */
  enter(caller: string, end: () => void): () => void {
    const open = this.perCaller.get(caller) ?? 0;
    if (open >= this.maxPerCaller) {
      throw new TooManyRequestsError(`At most ${this.maxPerCaller} job progress subscriptions at a time`, 1);
    }
    this.perCaller.set(caller, open + 1);
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.enders?.delete(end);
      const now = (this.perCaller.get(caller) ?? 1) - 1;
      if (now === 0) this.perCaller.delete(caller);
      else this.perCaller.set(caller, now);
    };
    if (this.enders) this.enders.add(end);
    else queueMicrotask(end);
    return leave;
  }

  /**
   * Shutdown: ends every open stream (each completes after the state it last sent) and every one
   * opened from now on, so the drain does not wait for streams that would never end by themselves
   * and cut them. A client's EventSource reconnects, to another replica.
   */
  endAll(): void {
    const enders = this.enders;
    this.enders = undefined;
    enders?.forEach((end) => end());
  }

  /** Calls `wake` when this replica saves a step of the job; answers the function that stops it. */
  onSaved(jobId: string, wake: () => void): () => void {
    let set = this.waiting.get(jobId);
    if (!set) this.waiting.set(jobId, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.waiting.delete(jobId);
    };
  }

  /** Open watches per caller (for tests and metrics). */
  openFor(caller: string): number {
    return this.perCaller.get(caller) ?? 0;
  }
}
