import type { SessionStore } from '../ports/session-store.js';
import type { Sessions } from './sessions.js';

/**
 * The SessionStore port over the embedded sessions: a website session is an embedded session with
 * a cookie (and an unused refresh token), in the same tables as the embedded provider's sessions.
 */
export function createEmbeddedSessionStore(sessions: Sessions): SessionStore {
  return {
    async open(authUserId) {
      const { id, cookie, expiresAt } = sessions.open(authUserId, true);
      return { id, authUserId, cookie: cookie!, expiresAt };
    },
    byCookie: async (cookie) => sessions.byCookie(cookie),
    revoke: async (sessionId) => sessions.revoke(sessionId),
    revokeUser: async (authUserId) => sessions.revokeUser(authUserId),
    denyToken: async (digest, entry) => sessions.denyToken(digest, entry),
    isTokenDenied: async (digest) => sessions.isTokenDenied(digest),
    pairRefreshToken: async (refreshDigest, entry) => sessions.pairRefreshToken(refreshDigest, entry),
    refreshPair: async (refreshDigest) => sessions.refreshPair(refreshDigest),
    chainOf: async (accessDigest) => sessions.chainOf(accessDigest),
  };
}
