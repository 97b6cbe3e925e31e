import { z } from 'zod';
import { TooManyRequestsError, UnauthorizedError, UpstreamError } from '../../errors.js';
import type { UpstreamReply } from '../http.js';
import { rateLimited } from '../rate-limit.js';

const ErrorReply = z.looseObject({ error: z.string().optional(), error_description: z.string().optional() });

const WRONG_CREDENTIALS = 'Wrong username or password';

/**
 * The `/oauth/token` errors that name what the service itself sent (its client's credentials, the
 * grant it may use, the connection, the scope): a misconfiguration, never the caller's mistake.
 * Auth0 answers them 400 (`invalid_request`, `invalid_scope`, `unsupported_grant_type`), 401
 * (`invalid_client`) or 403 (`unauthorized_client`), spec/auth0.md.
 */
const MISCONFIGURED = new Set(['invalid_request', 'invalid_scope', 'unsupported_grant_type', 'invalid_client', 'unauthorized_client']);

/**
 * Auth0's login and refresh errors as the service documents them: 401 (same message), 429 when
 * locked, or 429 until its rate limit (per IP or user) resets. A refusal of what the service sent
 * (MISCONFIGURED, or a 400 other than `invalid_grant`) is an upstream error, logged with Auth0's
 * code and text: it is no wrong password (not counted against the caller), and a 401 would hide it.
 * `invalid_grant` is the caller's whatever its status (Auth0 answers 403, RFC 6749 400). Auth0's
 * own description stays out of every answer: the caller gets the service's words.
 */
export function loginError(reply: UpstreamReply, lockSeconds: number): Error {
  const body = ErrorReply.safeParse(reply.body).data ?? {};
  if (body.error === 'too_many_attempts') return new TooManyRequestsError('Too many failed logins: the account is locked', lockSeconds);
  if (reply.status === 429) return rateLimited(reply, 'Too many login requests at the identity provider: try again later');
  const misconfigured =
    (body.error !== undefined && MISCONFIGURED.has(body.error)) ||
    (reply.status === 400 && body.error !== 'invalid_grant') ||
    // Auth0's answer to a wrong client secret (a user's refusals are 403 `invalid_grant` or 401 `unauthorized`).
    (reply.status === 401 && body.error === 'access_denied');
  if (!misconfigured && [400, 401, 403].includes(reply.status)) return new UnauthorizedError(WRONG_CREDENTIALS);
  const said = `Auth0 refused the service's request: ${body.error ?? 'no error code'} (${(body.error_description ?? '').slice(0, 500)})`;
  return new UpstreamError('Auth0', 'POST /oauth/token', reply.status, { cause: new Error(said) });
}
