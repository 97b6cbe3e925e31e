import type { Clock } from '../ports/clock.js';
import type { ReadinessCheck } from '../ports/readiness.js';

/**
 * `/-/ready` and `/-/check-up` probe every upstream and are unauthenticated, so each request to
 * them was a call to the CRUD Service, Auth0 or the auth0-client: a flood of probes became a flood
 * of the upstreams. Calls that arrive while a round of probes runs share it, and a round where
 * every backend was ready is answered again for `readyForMs` (READINESS_CACHE_MS). A round that
 * found one not ready is not kept: the next call probes again, so a recovery is seen at once.
 */
export function sharedReadiness(probe: () => Promise<ReadinessCheck[]>, clock: Clock, readyForMs: number): () => Promise<ReadinessCheck[]> {
  let running: Promise<ReadinessCheck[]> | undefined;
  let ready: { checks: ReadinessCheck[]; until: number } | undefined;
  const round = async () => {
    try {
      const checks = await probe();
      ready = checks.every((check) => check.ok) ? { checks, until: clock.now() + readyForMs } : undefined;
      return checks;
    } finally {
      running = undefined;
    }
  };
  return () => {
    if (ready && clock.now() < ready.until) return Promise.resolve(ready.checks);
    running ??= round();
    return running;
  };
}
