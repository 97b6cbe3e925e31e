import { hash } from 'node:crypto';
import type { AccessClaims } from '../ports/authenticator.js';
import type { SessionStore } from '../ports/session-store.js';

/**
 * Bearer tokens a connected provider signs without a session of ours (Auth0's, the auth0-client's):
 * the token is its own session, `bearer:` and its SHA-256, and a logout denies that digest in the
 * SessionStore (docs/decisions.md, Auth0 "Sessions"). A provider's own session ids never start so.
 */
const BEARER_SESSION = 'bearer:';

/** What the deny-list keeps of a bearer token: its SHA-256, never the token. */
export function tokenDigest(token: string): string {
  return hash('sha256', token, 'base64url');
}

/** The session id of a bearer token's claims, from the token's digest. */
export function bearerSessionId(digest: string): string {
  return `${BEARER_SESSION}${digest}`;
}

/** The digest a bearer session id names; undefined for any other session (a cookie's). */
export function deniedDigestOf(sessionId: string): string | undefined {
  return sessionId.startsWith(BEARER_SESSION) ? sessionId.slice(BEARER_SESSION.length) : undefined;
}

/**
 * Denies the caller's bearer token until it expires, or for `keepSeconds` from `now` when its
 * refresh token stays alive at the provider: `/refreshtoken` needs that access token, expired or not.
 */
export function denyBearer(
  sessions: SessionStore,
  digest: string,
  claims: AccessClaims,
  { now, keepSeconds }: { now: number; keepSeconds: number },
): Promise<void> {
  return sessions.denyToken(digest, { authUserId: claims.sub, until: Math.max(claims.exp, now + keepSeconds) });
}
