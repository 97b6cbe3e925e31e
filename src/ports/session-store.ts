/**
 * Website clients' sessions (the `sid` cookie) where the identity provider keeps none the service
 * can use (Auth0 directly). Embedded adapter: the SQLite file (one process, or replicas on one
 * file); shared adapter: a CRUD collection (SESSIONS_CRUD_ENDPOINT) that every replica reads.
 */

/** A live website session: who it belongs to. */
export interface WebsiteSession {
  id: string;
  authUserId: string;
}

/** A session just opened: its cookie secret (only its hash is stored) and when it expires. */
export interface OpenedSession extends WebsiteSession {
  cookie: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export interface SessionStore {
  /** Opens a session for the user, expiring after the store's lifetime (REFRESH_TOKEN_TTL). */
  open(authUserId: string): Promise<OpenedSession>;
  /**
   * The session behind a cookie secret while it is neither revoked nor expired; undefined
   * otherwise. Read from the store on every call, never cached: a logout or a revocation made
   * through any replica holds at the next request.
   */
  byCookie(cookie: string): Promise<WebsiteSession | undefined>;
  /** Ends one session (logout); ending it twice is not an error. */
  revoke(sessionId: string): Promise<void>;
  /** Ends every session of a user (blocked, deleted, moved, a new password). */
  revokeUser(authUserId: string): Promise<void>;
}
