import type { Clock } from '../ports/clock.js';

/**
 * An upstream answer that anonymous callers may ask for at any rate (Auth0's key set behind
 * `/.well-known/jwks.json`, the readiness probes): callers that arrive while it is fetched share
 * the fetch, and a fetched answer is answered again for `keepForMs` when `worthKeeping` says so. A
 * failure is not kept: the next call asks again.
 */
export function sharedAnswer<T>(
  fetch: () => Promise<T>,
  clock: Clock,
  keepForMs: number,
  worthKeeping: (value: T) => boolean = () => true,
): () => Promise<T> {
  let running: Promise<T> | undefined;
  let kept: { value: T; until: number } | undefined;
  const round = async () => {
    try {
      const value = await fetch();
      kept = worthKeeping(value) ? { value, until: clock.now() + keepForMs } : undefined;
      return value;
    } finally {
      running = undefined;
    }
  };
  return () => {
    if (kept && clock.now() < kept.until) return Promise.resolve(kept.value);
    running ??= round();
    return running;
  };
}
