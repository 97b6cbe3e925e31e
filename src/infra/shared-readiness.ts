import type { Clock } from '../ports/clock.js';
import type { ReadinessCheck } from '../ports/readiness.js';
import { sharedAnswer } from './shared-answer.js';

/**
 * `/-/ready` and `/-/check-up` probe every upstream and are unauthenticated, so each request to
 * them was a call to the CRUD Service, Auth0 or the auth0-client: a flood of probes became a flood
 * of the upstreams. Calls that arrive while a round of probes runs share it, and a round where
 * every backend was ready is answered again for `readyForMs` (READINESS_CACHE_MS). A round that
 * found one not ready is not kept: the next call probes again, so a recovery is seen at once.
 */
export function sharedReadiness(probe: () => Promise<ReadinessCheck[]>, clock: Clock, readyForMs: number): () => Promise<ReadinessCheck[]> {
  return sharedAnswer(probe, clock, readyForMs, (checks) => checks.every((check) => check.ok));
}
