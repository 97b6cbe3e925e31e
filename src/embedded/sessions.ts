import { randomUUID } from 'node:crypto';
import { nowSeconds } from '../domain/clock.js';
import { UnauthorizedError } from '../errors.js';
import { INVALID_REFRESH } from '../ports/authenticator.js';
import type { Clock } from '../ports/clock.js';
import type { PairEntry } from '../ports/session-store.js';
import type { Db } from './db.js';
import { hashSecret, newSecret } from './secrets.js';

export interface Session {
  id: string;
  authUserId: string;
}

/**
 * Used refresh tokens a session keeps, newest first, to recognise a replay. Older ones are
 * removed: a user refreshing in a loop (about 300 a second) once grew the file without bound.
 */
const USED_TOKENS_KEPT = 32;
/** Live sessions a user keeps: a new login beyond them ends the oldest. */
const MAX_SESSIONS_PER_USER = 100;

/**
 * Login sessions and their refresh tokens. Refresh tokens are opaque, stored hashed, single-use
 * and rotated; presenting one of the session's last USED_TOKENS_KEPT used ones revokes the whole
 * session (reuse detection). An ended session's rows are removed at its user's next login, and so
 * are those of its oldest live one when the user holds MAX_SESSIONS_PER_USER.
 */
export class Sessions {
  constructor(
    private readonly db: Db,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {}

  /** Seconds since the epoch on the service's clock: what the expiry columns hold. */
  now(): number {
    return nowSeconds(this.clock);
  }

  /** Opens a session; a website session also gets a cookie secret. */
  open(authUserId: string, withCookie: boolean): Session & { refreshToken: string; cookie?: string; expiresAt: number } {
    const id = randomUUID();
    const cookie = withCookie ? newSecret() : undefined;
    const now = this.now();
    const refreshToken = newSecret();
    this.db.transaction(() => {
      // The user's ended sessions (expired, logged out, revoked) go, and its oldest live ones past
      // MAX_SESSIONS_PER_USER, their refresh tokens with them: a login loop made 20 sessions a second.
      this.db
        .prepare(
          `DELETE FROM sessions WHERE auth_user_id = @user AND (expires_at <= @now OR revoked_at IS NOT NULL OR rowid NOT IN
             (SELECT rowid FROM sessions WHERE auth_user_id = @user AND expires_at > @now AND revoked_at IS NULL
              ORDER BY rowid DESC LIMIT @keep))`,
        )
        .run({ user: authUserId, now, keep: MAX_SESSIONS_PER_USER - 1 });
      this.db
        .prepare('INSERT INTO sessions (id, auth_user_id, cookie_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, authUserId, cookie ? hashSecret(cookie) : null, now, now + this.ttlSeconds);
      this.insertRefreshToken(id, refreshToken, now);
    })();
    return { id, authUserId, refreshToken, cookie, expiresAt: now + this.ttlSeconds };
  }

  /** Uses a refresh token once and answers its session and the next token. */
  rotate(refreshToken: string): Session & { refreshToken: string } {
    const now = this.now();
    return (
      this.db.transaction(() => {
        const row = this.db
          .prepare<[string], { session_id: string; expires_at: number; used_at: number | null }>(
            'SELECT session_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = ?',
          )
          .get(hashSecret(refreshToken));
        if (!row) throw new UnauthorizedError(INVALID_REFRESH);
        if (row.used_at !== null) {
          this.revoke(row.session_id);
          return undefined;
        }
        const session = this.active(row.session_id);
        if (!session || row.expires_at <= now) throw new UnauthorizedError(INVALID_REFRESH);
        this.db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?').run(now, hashSecret(refreshToken));
        const next = newSecret();
        this.insertRefreshToken(session.id, next, now);
        this.forgetOldTokens(session.id);
        this.db.prepare('UPDATE sessions SET expires_at = ? WHERE id = ?').run(now + this.ttlSeconds, session.id);
        return { ...session, refreshToken: next };
      })() ?? reused()
    );
  }

  /** The session when it is neither revoked nor expired. */
  active(id: string): Session | undefined {
    const row = this.db
      .prepare<[string, number], { id: string; auth_user_id: string }>(
        'SELECT id, auth_user_id FROM sessions WHERE id = ? AND revoked_at IS NULL AND expires_at > ?',
      )
      .get(id, this.now());
    return row && { id: row.id, authUserId: row.auth_user_id };
  }

  byCookie(cookie: string): Session | undefined {
    const row = this.db
      .prepare<[string, number], { id: string; auth_user_id: string }>(
        'SELECT id, auth_user_id FROM sessions WHERE cookie_hash = ? AND revoked_at IS NULL AND expires_at > ?',
      )
      .get(hashSecret(cookie), this.now());
    return row && { id: row.id, authUserId: row.auth_user_id };
  }

  revoke(id: string): void {
    this.db.prepare('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(this.now(), id);
  }

  /**
   * Ends every session of a user (blocked, deleted, or a new password), but `exceptId`: the
   * session of a user who changed its own password stays, its other ones end.
   */
  revokeUser(authUserId: string, exceptId = ''): void {
    this.db
      .prepare('UPDATE sessions SET revoked_at = ? WHERE auth_user_id = ? AND id <> ? AND revoked_at IS NULL')
      .run(this.now(), authUserId, exceptId);
  }

  /**
   * Denies a bearer token of a provider that keeps no session of ours (Auth0), by its digest,
   * until `until`. Entries past their time are removed here: a deny-list entry outlives no token.
   */
  denyToken(digest: string, { authUserId, until }: { authUserId: string; until: number }): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM denied_tokens WHERE expires_at <= ?').run(this.now());
      this.db
        .prepare(
          `INSERT INTO denied_tokens (digest, auth_user_id, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (digest) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
        )
        .run(digest, authUserId, until);
    })();
  }

  isTokenDenied(digest: string): boolean {
    return (
      this.db
        .prepare<[string, number], { one: number }>('SELECT 1 AS one FROM denied_tokens WHERE digest = ? AND expires_at > ?')
        .get(digest, this.now()) !== undefined
    );
  }

  /**
   * See SessionStore.pairRefreshToken: one row per pair, and one link per access token of its
   * chain (to the pair holding it last), each removed once past its time.
   */
  pairRefreshToken(refreshDigest: string, entry: PairEntry): void {
    const chain = entry.chain?.length ? entry.chain : [entry.accessDigest];
    this.db.transaction(() => {
      const now = this.now();
      this.db.prepare('DELETE FROM refresh_pairs WHERE expires_at <= ?').run(now);
      this.db.prepare('DELETE FROM refresh_chain_links WHERE expires_at <= ?').run(now);
      if (entry.replaces && entry.replaces.refreshDigest !== refreshDigest) {
        this.db
          .prepare('UPDATE refresh_pairs SET expires_at = min(expires_at, ?) WHERE refresh_digest = ?')
          .run(entry.replaces.until, entry.replaces.refreshDigest);
        // Its chain's tokens go to the new pair below, but the oldest one MAX_CHAIN leaves out: no link outlives its chain.
        this.db.prepare('DELETE FROM refresh_chain_links WHERE refresh_digest = ?').run(entry.replaces.refreshDigest);
      }
      this.db
        .prepare(
          `INSERT INTO refresh_pairs (refresh_digest, access_digest, auth_user_id, expires_at, chain) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (refresh_digest) DO UPDATE SET access_digest = excluded.access_digest, expires_at = excluded.expires_at,
             chain = excluded.chain`,
        )
        .run(refreshDigest, entry.accessDigest, entry.authUserId, entry.until, JSON.stringify(chain));
      const link = this.db.prepare(
        `INSERT INTO refresh_chain_links (access_digest, refresh_digest, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (access_digest) DO UPDATE SET refresh_digest = excluded.refresh_digest, expires_at = excluded.expires_at`,
      );
      for (const accessDigest of chain) link.run(accessDigest, refreshDigest, entry.until);
    })();
  }

  refreshPair(refreshDigest: string): { accessDigest: string; chain: string[] } | undefined {
    const row = this.db
      .prepare<[string, number], { access_digest: string; chain: string | null }>(
        'SELECT access_digest, chain FROM refresh_pairs WHERE refresh_digest = ? AND expires_at > ?',
      )
      .get(refreshDigest, this.now());
    return row && { accessDigest: row.access_digest, chain: chainOf(row.chain, row.access_digest) };
  }

  /** The chain of the live pair that holds the access token last (its link); none for a pair from before the chains. */
  chainOf(accessDigest: string): string[] | undefined {
    const now = this.now();
    const row = this.db
      .prepare<[number, string, number], { access_digest: string; chain: string | null }>(
        `SELECT access_digest, chain FROM refresh_pairs WHERE expires_at > ? AND refresh_digest =
           (SELECT refresh_digest FROM refresh_chain_links WHERE access_digest = ? AND expires_at > ?)`,
      )
      .get(now, accessDigest, now);
    return row && chainOf(row.chain, row.access_digest);
  }

  /** Keeps the session's USED_TOKENS_KEPT most recently used refresh tokens (rowid: the order they were issued). */
  private forgetOldTokens(sessionId: string): void {
    this.db
      .prepare(
        `DELETE FROM refresh_tokens WHERE session_id = ? AND used_at IS NOT NULL AND rowid NOT IN
           (SELECT rowid FROM refresh_tokens WHERE session_id = ? AND used_at IS NOT NULL ORDER BY rowid DESC LIMIT ?)`,
      )
      .run(sessionId, sessionId, USED_TOKENS_KEPT);
  }

  private insertRefreshToken(sessionId: string, token: string, now: number): void {
    this.db
      .prepare('INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (?, ?, ?)')
      .run(hashSecret(token), sessionId, now + this.ttlSeconds);
  }
}

/** Reuse detected: the session was revoked inside the transaction, then the caller is refused. */
function reused(): never {
  // The answer of an unknown token: which refresh tokens were issued must not show.
  throw new UnauthorizedError(INVALID_REFRESH);
}

/** A pair's chain as stored (JSON), or its own access token alone for a pair from before the chains. */
function chainOf(stored: string | null, accessDigest: string): string[] {
  const chain: unknown = stored === null ? undefined : JSON.parse(stored);
  return Array.isArray(chain) && chain.length > 0 ? chain.filter((digest) => typeof digest === 'string') : [accessDigest];
}
