import { UpstreamError } from '../../src/errors.js';

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
