import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError, type CircuitBreakerPolicy, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { Agent, type Dispatcher } from 'undici';
import { currentDeadline } from '../deadline.js';
import { InvalidInputError, UpstreamError } from '../errors.js';
import type { ReadinessCheck } from '../ports/readiness.js';
import type { UpstreamOutcome } from '../ports/metrics.js';
import { AttemptCut, send, type UpstreamCall, type UpstreamOptions, type UpstreamReply } from './upstream-exchange.js';

export type { UpstreamCall, UpstreamOptions, UpstreamReply } from './upstream-exchange.js';

/** Connection errors that happen before a request is sent: safe to retry whatever the method. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN']);
const RETRYABLE_STATUS = new Set([502, 503, 504]);

/**
 * A keep-alive pool with explicit connect, headers and body timeouts, and a cap on each reply's
 * body (UPSTREAM_MAX_REPLY_BYTES): undici drops the connection at the first chunk past it, so a
 * broken or hostile upstream cannot make the service buffer more.
 */
export function createDispatcher(timeoutMs: number, maxReplyBytes = 32 * 1024 * 1024): Dispatcher {
  return new Agent({
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 10_000,
    connections: 64,
    maxResponseSize: maxReplyBytes,
  });
}

/** undici's code for a reply body past the dispatcher's `maxResponseSize`. */
const REPLY_TOO_LARGE = 'UND_ERR_RES_EXCEEDED_MAX_SIZE';

/** When a circuit opens and how long it stays open (UPSTREAM_BREAKER_*). */
export interface BreakerOptions {
  /** Consecutive failed calls that open the circuit; 0 disables the breaker. */
  threshold: number;
  /** How long an open circuit refuses calls before one is let through to try the upstream again. */
  halfOpenAfterMs: number;
}

/**
 * A circuit breaker for one upstream. A call fails when the upstream is unwell: it could not be
 * reached or did not answer in its own time (after the call's retries), or answered 5xx. A 4xx is
 * the caller's problem and counts as a success. A call ended by the request's deadline counts as a
 * failure when an attempt of it had failed before; one whose only trouble was the deadline (a slow
 * answer cut short by a tight deadline) does not count either way.
 */
export function createBreaker(options: BreakerOptions): CircuitBreakerPolicy | undefined {
  if (options.threshold <= 0) return undefined;
  const unwell = handleWhen(
    (error) => error instanceof UpstreamError && error.unreachable && !(error.cause instanceof DeadlineOnly) && !isReplyTooLarge(error),
  );
  return circuitBreaker(
    unwell.orWhenResult((reply) => (reply as UpstreamReply).status >= 500),
    { halfOpenAfter: options.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.threshold) },
  );
}

/**
 * Calls an upstream and answers its status and parsed body. Reads (GET) are retried on connection
 * errors and 502/503/504; writes only when the connection was never made, so a POST is never sent
 * twice. An upstream that cannot be reached is a 503 UpstreamError naming the call.
 *
 * Within a request (deadline.ts) no attempt outlives the request's deadline and no retry starts
 * past it. While the upstream's circuit is open the call is a 503 at once, without a request.
 */
export async function callUpstream(upstream: UpstreamOptions, call: UpstreamCall): Promise<UpstreamReply> {
  if (!upstream.metrics) return guarded(upstream, call);
  const started = performance.now();
  let outcome: UpstreamOutcome = 'unreachable';
  try {
    const reply = await guarded(upstream, call);
    outcome = reply.status >= 500 ? 'server_error' : reply.status >= 400 ? 'client_error' : 'success';
    return reply;
  } catch (error) {
    if (error instanceof UpstreamError && error.cause instanceof BrokenCircuitError) outcome = 'circuit_open';
    if (error instanceof InvalidInputError) outcome = 'client_error';
    throw error;
  } finally {
    upstream.metrics.upstreamCall(upstream.name, outcome, (performance.now() - started) / 1000);
  }
}

/** The call through the upstream's breaker, when it has one. */
async function guarded(upstream: UpstreamOptions, call: UpstreamCall): Promise<UpstreamReply> {
  const label = `${call.method} ${call.route ?? call.path}`;
  if (!upstream.breaker) return attempts(upstream, call, label);
  try {
    return await upstream.breaker.execute(() => attempts(upstream, call, label));
  } catch (error) {
    if (!(error instanceof BrokenCircuitError)) throw error;
    throw new UpstreamError(upstream.name, label, 0, {
      cause: error,
      unreachable: true,
      notSent: true,
      message: `${upstream.name} ${label} is unavailable (circuit open)`,
    });
  }
}

async function attempts(upstream: UpstreamOptions, call: UpstreamCall, label: string): Promise<UpstreamReply> {
  const retries = upstream.retries ?? 2;
  const deadline = currentDeadline();
  // Whether an attempt may have reached the upstream: then a failure's outcome is unknown.
  let sentBefore = false;
  for (let attempt = 0; ; attempt += 1) {
    const left = deadline === undefined ? Infinity : deadline - Date.now();
    // Only a retry can find the deadline gone: an attempt before it failed.
    if (left <= 0) throw pastDeadline(upstream, label, attempt > 0, !sentBefore);
    // Our own timer, precise (undici's timeouts tick about once a second), and the deadline's when sooner.
    const own = upstream.timeoutMs ?? Infinity;
    const limit = left < own ? { ms: Math.ceil(left), byDeadline: true } : { ms: own, byDeadline: false };
    try {
      const reply = await send(upstream, call, Number.isFinite(limit.ms) ? limit : undefined);
      sentBefore = true;
      if (call.method === 'GET' && RETRYABLE_STATUS.has(reply.status) && attempt < retries && (await backoff(attempt, deadline))) continue;
      return reply;
    } catch (error) {
      // A request refused before it was sent (too long for the upstream) is the caller's: no retry, no breaker count.
      if (error instanceof InvalidInputError) throw error;
      if (error instanceof AttemptCut && error.byDeadline) throw pastDeadline(upstream, label, attempt > 0);
      const code = (error as { code?: string }).code ?? '';
      // A refused connection (or one never made) carried nothing; any other failure may have.
      if (!NOT_SENT.has(code)) sentBefore = true;
      // The same call would get the same oversized reply: not retried.
      if (code === REPLY_TOO_LARGE) throw replyTooLarge(upstream, label, error);
      const retryable = call.method === 'GET' || NOT_SENT.has(code);
      if (retryable && attempt < retries && (await backoff(attempt, deadline))) continue;
      throw new UpstreamError(upstream.name, label, 0, {
        cause: error,
        unreachable: true,
        notSent: !sentBefore,
        // The error code (ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT…) says enough; the message may name internal addresses.
        message: `${upstream.name} ${label} is unreachable${code ? ` (${code})` : ''}`,
      });
    }
  }
}

/**
 * The error of a retry made after an earlier attempt had reached the upstream (a client's own retry
 * loop around `callUpstream`): whatever this last attempt saw, the call may have acted.
 */
export function sentEarlier(error: unknown): unknown {
  if (!(error instanceof UpstreamError) || !error.notSent) return error;
  const { upstream, call, upstreamStatus, unreachable, message, cause } = error;
  return new UpstreamError(upstream, call, upstreamStatus, { cause, message, unreachable });
}

/**
 * An upstream that answered more than the service reads: a 503, as one that cannot be reached, but
 * not counted by its breaker. The size comes from the data asked for (users an administrator made
 * large fill a page past the cap), so the same call fails again while every other call is served.
 */
function replyTooLarge(upstream: UpstreamOptions, label: string, cause: unknown): UpstreamError {
  return new UpstreamError(upstream.name, label, 0, {
    cause,
    unreachable: true,
    message: `${upstream.name} ${label} answered a body over the size the service reads (UPSTREAM_MAX_REPLY_BYTES)`,
  });
}

/** The cause of a call ended by the request's deadline with no failure of the upstream's own seen before. */
class DeadlineOnly extends Error {}

/** `notSent`: no attempt may have reached the upstream (none made, or every one refused its connection). */
function pastDeadline(upstream: UpstreamOptions, label: string, failedBefore: boolean, notSent = false): UpstreamError {
  return new UpstreamError(upstream.name, label, 0, {
    cause: failedBefore ? new AttemptCut(0, true) : new DeadlineOnly('request deadline'),
    unreachable: true,
    notSent,
    message: `${upstream.name} ${label} did not answer within the request deadline (REQUEST_TIMEOUT_MS)`,
  });
}

/** The standard answer for a status the caller does not handle. */
export function unexpectedStatus(upstream: UpstreamOptions, call: UpstreamCall, reply: UpstreamReply): UpstreamError {
  return new UpstreamError(upstream.name, `${call.method} ${call.route ?? call.path}`, reply.status);
}

/**
 * Waits before retry number `attempt + 1` and answers true; false (at once) when the wait would
 * end past the request's deadline, so the retry is not made.
 */
async function backoff(attempt: number, deadline: number | undefined): Promise<boolean> {
  const base = 50 * 2 ** attempt;
  const wait = base + Math.random() * base;
  if (deadline !== undefined && Date.now() + wait >= deadline) return false;
  await sleep(wait);
  return true;
}

/**
 * One attempt outside the breaker and the retries (a check made before a call), within the
 * upstream's own timeout and the request's deadline: the reply, or undefined when none came.
 */
export async function askOnce(upstream: UpstreamOptions, call: UpstreamCall): Promise<UpstreamReply | undefined> {
  const deadline = currentDeadline();
  const ms = Math.min(upstream.timeoutMs ?? 5000, deadline === undefined ? Infinity : deadline - Date.now());
  if (ms <= 0) return undefined;
  try {
    return await send(upstream, call, { ms: Math.ceil(ms), byDeadline: false });
  } catch {
    return undefined;
  }
}

/**
 * Readiness of an upstream: its health route answers 2xx within `timeoutMs` (READINESS_TIMEOUT_MS),
 * in one attempt, whatever its breaker says (the probe is how recovery is seen). Never throws.
 */
export async function probe(upstream: UpstreamOptions, path: string, timeoutMs: number): Promise<ReadinessCheck> {
  const label = `${upstream.name} GET ${path}`;
  try {
    const reply = await send(upstream, { method: 'GET', path }, { ms: timeoutMs, byDeadline: false });
    return { name: upstream.name, ok: reply.status < 300, detail: reply.status < 300 ? undefined : `${label} answered ${reply.status}` };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const detail =
      error instanceof AttemptCut
        ? `${label} did not answer within READINESS_TIMEOUT_MS (${timeoutMs} ms)`
        : `${label} is unreachable${code ? ` (${code})` : ''}`;
    return { name: upstream.name, ok: false, detail };
  }
}

function isReplyTooLarge(error: UpstreamError): boolean {
  return (error.cause as { code?: unknown } | undefined)?.code === REPLY_TOO_LARGE;
}
