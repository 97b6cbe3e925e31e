/**
 * The load generator, in a process of its own (forked by `measure` in lib.ts): autocannon's own
 * work (about as much CPU per request as a small server's) then never shares an event loop with
 * the process that orchestrates the run, only the machine's cores with the server measured.
 * Protocol: it receives the options, runs the warm-up, says `warm`, waits for `go`, runs the
 * measure and sends its result.
 */
import autocannon from 'autocannon';

interface Job {
  options: { url: string; method: string; body?: string; headers?: Record<string, string>; connections: number };
  warmUp: number;
  duration: number;
}

function next<T>(): Promise<T> {
  return new Promise((resolve) => process.once('message', (message) => resolve(message as T)));
}

const job = await next<Job>();
if (job.warmUp > 0) await autocannon({ ...job.options, duration: job.warmUp });
process.send!({ type: 'warm' });
await next<{ type: 'go' }>();
const run = await autocannon({ ...job.options, duration: job.duration });
process.send!(
  {
    type: 'result',
    requestsPerSecond: Math.round(run.requests.average),
    p50Ms: run.latency.p50,
    p99Ms: run.latency.p99,
    total: run.requests.total,
    non2xx: run.non2xx,
    errors: run.errors,
  },
  () => process.exit(0),
);
