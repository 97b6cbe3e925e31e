import type { Context } from '../context.js';
import { atDeadline, currentRequest } from '../deadline.js';
import { limitedCaller, requireAdmin, stillAdmin } from './access.js';
import { followableJob, jobView, type JobView } from './job-progress.js';

/**
 * `jobProgress(id)`: the job's state at once, then again after every step it saves, and the end.
 * A step saved on this replica wakes the watch at once (the worker's event); one saved on another
 * replica is seen by re-reading the job's head (no payload) every JOB_PROGRESS_POLL_MS. Each watch
 * holds one of its caller's JOB_PROGRESS_MAX_PER_CALLER places until the client leaves, the job
 * ends or the caller may no longer follow it (checked again at every wake-up). A job that has already ended gives one event, then the stream completes.
 *
 * Access, the job and the caller's limit are checked before the stream is answered, so a refusal
 * is an ordinary GraphQL error rather than a stream that breaks.
 */
export async function watchJob(ctx: Context, jobId: string): Promise<AsyncIterableIterator<JobView>> {
  const caller = await requireAdmin(ctx);
  const first = await followableJob(ctx, jobId);
  // Stops the loop when the client leaves or the service shuts down: its wait between two polls
  // ends at once, so a stream nobody reads costs no further read of the store.
  const left = new AbortController();
  const leave = ctx.deps.jobWatches.enter(limitedCaller(caller), () => left.abort());
  const stream = follow(ctx, first, left.signal);
  const stop = () => {
    leave();
    left.abort();
  };
  // The place is the connection's: a client that left before the stream began (while the job was
  // read) has no stream for the server to end, and would otherwise hold its place for good.
  currentRequest()?.onClose?.(stop);
  const iterator: AsyncIterableIterator<JobView> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      const step = await stream.next();
      if (step.done) stop();
      return step;
    },
    // Answered at once, even while a read waits for the next step (a generator's own `return`
    // would wait for it), and even before the stream was first read.
    async return() {
      stop();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      stop();
      throw error;
    },
  };
  return iterator;
}

async function* follow(ctx: Context, first: JobView, left: AbortSignal): AsyncGenerator<JobView> {
  let view = first;
  yield view;
  while (view.status === 'pending' && !left.aborted) {
    await savedOrPolled(ctx, view.jobId, left);
    // A stream may run for hours: it ends with its caller's session or rights (docs/security.md).
    if (left.aborted || !(await stillAdmin(ctx))) return;
    // Each wake-up is a read of its own: the subscribing request's deadline has long passed.
    const head = await atDeadline(Date.now() + ctx.deps.config.REQUEST_TIMEOUT_MS, () => ctx.deps.jobs.head(view.jobId));
    const next = head && jobView(head);
    // A job removed while watched (none is, today) ends the stream as an ended job would.
    if (!next) return;
    if (changed(view, next)) yield next;
    view = next;
  }
}

/** Waits for this replica to save a step of the job, or JOB_PROGRESS_POLL_MS, or the client to leave. */
function savedOrPolled(ctx: Context, jobId: string, left: AbortSignal): Promise<void> {
  const { clock, jobWatches, config } = ctx.deps;
  return new Promise((resolve) => {
    const timer = clock.setTimeout(done, config.JOB_PROGRESS_POLL_MS);
    const stop = jobWatches.onSaved(jobId, done);
    left.addEventListener('abort', done);
    function done() {
      clock.clearTimer(timer);
      stop();
      left.removeEventListener('abort', done);
      resolve();
    }
  });
}

function changed(before: JobView, after: JobView): boolean {
  return (
    before.status !== after.status ||
    before.updatedAt !== after.updatedAt ||
    before.processed !== after.processed ||
    before.failed !== after.failed ||
    before.total !== after.total
  );
}
