import { setImmediate } from 'node:timers/promises';

/**
 * Work done between two turns of the event loop, at most, by long work made of short steps (bulk
 * jobs, imports): well under the 50 ms a probe or another request should ever wait.
 */
export const PACE_MS = 10;

/**
 * A pause for long work made of short steps, called between steps: once PACE_MS have passed
 * since the last turn of the event loop, it lets the loop run (I/O, timers, other requests) before
 * answering, else it answers at once. Embedded adapters answer without I/O, so without it a job
 * awaiting them would run to its end in one turn. Concurrent callers share one pause, so none of
 * them keeps the loop busy while the others wait.
 */
function pacer(budgetMs: number): () => Promise<void> {
  let since = performance.now();
  let pause: Promise<void> | undefined;
  return () => {
    if (pause) return pause;
    if (performance.now() - since < budgetMs) return Promise.resolve();
    pause = setImmediate().then(() => {
      since = performance.now();
      pause = undefined;
    });
    return pause;
  };
}

/** One for the whole process: all its long work together gives the loop a turn every PACE_MS. */
export const pace = pacer(PACE_MS);

/** Ids looked at between two calls of `pace` by `distinct`. */
const DISTINCT_AT_ONCE = 1000;

/** The ids without repeats, in their order, in slices with turns of the event loop between them. */
export async function distinct(ids: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (let start = 0; start < ids.length; start += DISTINCT_AT_ONCE) {
    for (let index = start; index < Math.min(ids.length, start + DISTINCT_AT_ONCE); index += 1) {
      const id = ids[index]!;
      if (!seen.has(id)) kept.push(id);
      seen.add(id);
    }
    await pace();
  }
  return kept;
}

/**
 * A turn of the event loop in which pending I/O (other requests, probes) is served, between two
 * long steps. One `setImmediate` is not enough from an I/O callback (a parsed body, a socket's
 * data): it runs in the same loop iteration, before the next poll for I/O; the second one runs after it.
 */
export async function turn(): Promise<void> {
  await setImmediate();
  await setImmediate();
}
