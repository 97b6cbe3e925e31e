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
  /**
   * Refuses a bearer token the provider signed without a session of ours (Auth0's), by its
   * digest, until `until` (seconds since the epoch): a deny-list entry, shared like the sessions.
   * Denying it twice is not an error.
   */
  denyToken(digest: string, entry: { authUserId: string; until: number }): Promise<void>;
  /** True while the token digest is denied. Read from the store on every call, never cached, as `byCookie`. */
  isTokenDenied(digest: string): Promise<boolean>;
  /**
   * Remembers which access token a refresh token was issued with (their digests) until `until`,
   * for a provider that keeps no session of ours: `/refreshtoken` then takes the refresh token
   * with that access token only, which a bearer logout denies. `replaces`: the pair the refresh
   * token was exchanged for, kept only until its `until` from now on (the provider's reuse grace).
   * A refresh token paired again (a provider that does not rotate them) goes with the new access token.
   * `chain`: the access tokens of its refresh chain, newest first, this pair's own first (at most
   * MAX_CHAIN, bearer-denial.ts); found again by any of them (`chainOf`) until `until`.
   */
  pairRefreshToken(refreshDigest: string, entry: PairEntry): Promise<void>;
  /** The access token a refresh token was issued with and its chain, while remembered; read on every call. */
  refreshPair(refreshDigest: string): Promise<RefreshPair | undefined>;
  /**
   * The refresh chain an access token belongs to (digests, newest first), as the newest live pair
   * holding it remembers it; undefined when no pair holds it. One read: what a bearer logout ends.
   */
  chainOf(accessDigest: string): Promise<string[] | undefined>;
}

/** A pair to remember (`pairRefreshToken`). */
export interface PairEntry {
  accessDigest: string;
  authUserId: string;
  until: number;
  replaces?: { refreshDigest: string; until: number };
  chain?: string[];
}

/** What a refresh token's pair remembers. */
export interface RefreshPair {
  accessDigest: string;
  /** Its refresh chain, newest first (`[accessDigest]` for a pair remembered before the chains). */
  chain: string[];
}
