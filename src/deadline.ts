import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The deadline of the incoming request being served (epoch ms, REQUEST_TIMEOUT_MS after it
 * arrived). It is set once per request where the request enters the server (app.ts) and read by
 * the upstream clients (clients/http.ts): every call made while serving the request, however deep
 * (resolvers, dataloaders, sagas), sees it without it being passed through each signature.
 * Work that is not a request (jobs, the scheduler, the reconciler) has none, and its calls keep
 * their own timeouts.
 */
const requestDeadline = new AsyncLocalStorage<RequestScope>();

/**
 * What is known of the request being served, where every layer can reach it: its deadline, and
 * for the access log and metrics (observability/) its id (forwarded to every upstream call), the
 * kind of caller the access check found and the route template that answered it.
 */
export interface RequestScope {
  at: number;
  id?: string;
  caller?: CallerKind;
  route?: string;
  /**
   * Calls `listener` once when the client's connection closes, answered or not (at once when it
   * has already): what a request holds for as long as its client stays (a subscription's place)
   * is given back even when the client left before the answer began.
   */
  onClose?: (listener: () => void) => void;
}

/** Who called, as the access log names it: `service` is an API key, `gateway` a caller behind ACCESS_CONTROL=gateway. */
export type CallerKind = 'anonymous' | 'user' | 'admin' | 'service' | 'gateway';

/** Runs `fn` as the request `scope` (its deadline, id…), replacing any other. */
export function inRequest<T>(scope: RequestScope, fn: () => T): T {
  return requestDeadline.run(scope, fn);
}

/** The request being served, or undefined outside a request. */
export function currentRequest(): RequestScope | undefined {
  return requestDeadline.getStore();
}

/** Runs `fn` with a deadline `timeoutMs` from now, unless one is already set (an outer layer's). */
export function withDeadline<T>(timeoutMs: number, fn: () => T): T {
  if (requestDeadline.getStore()) return fn();
  return requestDeadline.run({ at: Date.now() + timeoutMs }, fn);
}

/** Runs `fn` under the deadline `at` (epoch ms), replacing any other. */
export function atDeadline<T>(at: number | undefined, fn: () => T): T {
  return at === undefined ? fn() : requestDeadline.run({ at }, fn);
}

/**
 * Runs `fn` outside any request's deadline: work that outlives the request that started it (a
 * job woken by its creation, an undo after a cut step), whose calls keep their own timeouts.
 */
export function withoutDeadline<T>(fn: () => T): T {
  return requestDeadline.exit(fn);
}

/** The current request's deadline (epoch ms), or undefined outside a request. */
export function currentDeadline(): number | undefined {
  return requestDeadline.getStore()?.at;
}
