import { UpstreamError } from '../../src/errors.js';
import type { JobStore } from '../../src/ports/job-store.js';

/** The failures a test has armed: method name → how many calls from now fail (1 = the next one). */
export type Faults = Map<string, number>;

/**
 * Wraps an adapter so that the calls armed in `faults` throw an upstream-style error, the way a
 * CRUD or Auth0 outage would. Every other call goes to the real adapter.
 */
export function withFaults<T extends object>(adapter: T, upstream: string, faults: Faults): T {
  return new Proxy(adapter, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        const remaining = faults.get(property);
        if (remaining !== undefined) {
          if (remaining <= 1) {
            faults.delete(property);
            return Promise.reject(new UpstreamError(upstream, `${property}`, 500));
          }
          faults.set(property, remaining - 1);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/**
 * The job store as a process that died sees it: while `dead()` says so, the lease renewals of the
 * intents `owner` holds are dropped. A request hung at a step stands for a process killed there,
 * but a live one keeps renewing its intent while it works (`holdingIntent`); the reconciler, a job
 * of another owner, goes on.
 */
export function renewalsDroppedWhile(jobs: JobStore, owner: string, dead: () => boolean): JobStore {
  return {
    ...jobs,
    async heartbeat(jobId, by, leaseMs, progress, counters) {
      // A user-sync intent is held by its operation (`<replica>:<operation>`), the others by the replica.
      if (dead() && (by === owner || by.startsWith(`${owner}:`)) && leaseMs > 0) return false;
      return jobs.heartbeat(jobId, by, leaseMs, progress, counters);
    },
  };
}
