import { TooManyRequestsError } from '../errors.js';

/** What is read of an upstream's 429: its headers (any upstream's reply has them). */
type Reply = { headers: Record<string, unknown> };

/**
 * How long an upstream's 429 says to wait: until its `x-ratelimit-reset` (a time on the upstream's
 * clock, `byClock`), else its `Retry-After`; undefined when it says neither.
 */
export function rateLimitReset(reply: Reply): { ms: number; byClock: boolean } | undefined {
  const reset = Number(reply.headers['x-ratelimit-reset']);
  if (Number.isFinite(reset) && reset > 0) return { ms: Math.max(reset * 1000 - Date.now(), 0), byClock: true };
  const retryAfter = Number(reply.headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return { ms: retryAfter * 1000, byClock: false };
  return undefined;
}

/**
 * The Retry-After (whole seconds, 1 to 3,600) for a caller whose call Auth0 answered 429: until
 * its reset, else `fallback`. Capped: the header is Auth0's.
 */
export function retryAfterSeconds(reply: Reply, fallback: number): number {
  const reset = rateLimitReset(reply);
  const seconds = reset === undefined ? fallback : Math.ceil(reset.ms / 1000);
  return Math.min(Math.max(seconds, 1), 3600);
}

/** An upstream's 429 about this caller's requests (Auth0 counts per IP, user or e-mail): the caller's 429 until its reset. */
export function rateLimited(reply: Reply, message: string): TooManyRequestsError {
  return new TooManyRequestsError(message, retryAfterSeconds(reply, 60));
}
