import { TooManyRequestsError } from '../errors.js';

/** What is read of an upstream's 429: its headers (any upstream's reply has them). */
type Reply = { headers: Record<string, unknown> };

/**
 * The Retry-After (whole seconds, 1 to 3,600) for a caller whose call Auth0 answered 429: until
 * its `x-ratelimit-reset` or `Retry-After`, else `fallback`. Capped: the header is Auth0's.
 */
export function retryAfterSeconds(reply: Reply, fallback: number): number {
  const reset = Number(reply.headers['x-ratelimit-reset']);
  const retryAfter = Number(reply.headers['retry-after']);
  const seconds =
    Number.isFinite(reset) && reset > 0
      ? Math.ceil(reset - Date.now() / 1000)
      : Number.isFinite(retryAfter) && retryAfter >= 0
        ? Math.ceil(retryAfter)
        : fallback;
  return Math.min(Math.max(seconds, 1), 3600);
}

/** An upstream's 429 about this caller's requests (Auth0 counts per IP, user or e-mail): the caller's 429 until its reset. */
export function rateLimited(reply: Reply, message: string): TooManyRequestsError {
  return new TooManyRequestsError(message, retryAfterSeconds(reply, 60));
}
