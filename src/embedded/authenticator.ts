import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import type { AccessClaims, Authenticator, LoginInput, TokenSet } from '../ports/authenticator.js';
import type { Mailer } from '../ports/mailer.js';
import type { State } from '../crud/states.js';
import type { Clock } from '../ports/clock.js';
import { assertPasswordPolicy } from '../domain/password-policy.js';
import { InvalidInputError, LockoutStartedError, NotFoundError, UnauthorizedError } from '../errors.js';
import type { Db } from './db.js';
import { DUMMY_HASH, hashPassword, NO_PASSWORD, verifyPassword } from './password-hash.js';
import { batchedPasswordChanges } from './password-changes.js';
import { resetMail } from './reset-mail.js';
import { LoginLockout } from './login-lockout.js';
import { changeOwnPassword } from './own-password.js';
import { createResetTickets } from './reset-tickets.js';
import type { Session, Sessions } from './sessions.js';
import { ALGORITHM, type SigningKeys } from './signing-keys.js';

/** The same answer for an unknown user, a wrong password and a blocked user. */
const WRONG_CREDENTIALS = 'Wrong username or password';

type Profile = { userGroup?: string; __STATE__: State };

export interface EmbeddedAuthenticatorOptions {
  db: Db;
  /** Token, ticket and lockout times; the sessions keep their own (the same clock, from deps.ts). */
  clock: Clock;
  keys: SigningKeys;
  sessions: Sessions;
  mailer: Mailer;
  /** The profile of an identity user: its group goes in the token, its state gates the login. */
  profileOf: (authUserId: string) => Promise<Profile | undefined>;
  issuer: string;
  baseUrl: string;
  accessTokenTtl: number;
  resetTicketTtl: number;
  maxAttempts: number;
  lockSeconds: number;
}

interface CredentialRow {
  id: string;
  username: string | null;
  email: string | null;
  email_verified: number;
  blocked: number;
  password_hash: string;
  password_version: number;
}

/** Logins, tokens and password resets of the embedded identity provider. */
export function createEmbeddedAuthenticator(options: EmbeddedAuthenticatorOptions): Authenticator {
  const { db, keys, sessions, clock } = options;
  const columns = 'id, username, email, email_verified, blocked, password_hash, password_version';
  const byLogin = db.prepare<[string, string], CredentialRow>(
    `SELECT ${columns} FROM identity_users WHERE username = ? OR email = ? LIMIT 1`,
  );
  const byId = db.prepare<[string], CredentialRow>(`SELECT ${columns} FROM identity_users WHERE id = ?`);
  const lockout = new LoginLockout(db, { maxAttempts: options.maxAttempts, lockSeconds: options.lockSeconds });
  const tickets = createResetTickets({ db, ttlSeconds: options.resetTicketTtl, clock });
  const passwordChanges = batchedPasswordChanges({
    db,
    mailer: options.mailer,
    issue: (authUserId) => {
      const row = byId.get(authUserId);
      if (!row) throw new NotFoundError(`identity user ${authUserId} not found`);
      if (!row.email) throw new InvalidInputError(`identity user ${authUserId} has no e-mail address to send the reset link to`);
      const ticket = tickets.issue(authUserId);
      return resetMail({
        to: row.email,
        username: row.username ?? row.email,
        ticket,
        baseUrl: options.baseUrl,
        ttlSeconds: options.resetTicketTtl,
      });
    },
  });
  async function tokensFor(
    row: CredentialRow,
    profile: Profile | undefined,
    session: Session & { refreshToken: string },
  ): Promise<TokenSet> {
    const { kid, key } = await keys.current();
    const iat = sessions.now();
    const expireAt = iat + options.accessTokenTtl;
    const accessToken = await new SignJWT({
      sid: session.id,
      username: row.username ?? undefined,
      email: row.email ?? undefined,
      email_verified: row.email_verified === 1,
      userGroup: profile?.userGroup,
    })
      .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'JWT' })
      .setSubject(row.id)
      .setIssuer(options.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(expireAt)
      .sign(key);
    return { accessToken, refreshToken: session.refreshToken, expireAt };
  }

  /** A user may log in or refresh when unblocked and, if it has a profile, PUBLIC. */
  function mayLogIn(row: CredentialRow, profile: Profile | undefined): boolean {
    return row.blocked !== 1 && (!profile || profile.__STATE__ === 'PUBLIC');
  }

  /**
   * Opens the session only if the password verified is still the user's (no reset or change
   * committed meanwhile) and the user is still unblocked: one transaction with the check, so a
   * password change either sees this session (and ends it) or makes this login fail.
   */
  function openSession(row: CredentialRow, input: LoginInput) {
    return db
      .transaction(() => {
        const now = byId.get(row.id);
        if (!now || now.password_version !== row.password_version || now.blocked === 1) return undefined;
        lockout.clear([input.username]);
        db.prepare('UPDATE identity_users SET last_login = ?, logins_count = logins_count + 1 WHERE id = ?').run(
          new Date(clock.now()).toISOString(),
          row.id,
        );
        return sessions.open(row.id, input.website);
      })
      .immediate();
  }

  /**
   * A new password (in the caller's transaction): its version grows, so logins that verified the
   * old one fail; every session (but `keepSessionId`) and every other reset ticket of the user
   * ends; the lockout clears.
   */
  function setPassword(authUserId: string, hash: string, keepSessionId?: string): void {
    db.prepare('UPDATE identity_users SET password_hash = ?, password_version = password_version + 1, updated_at = ? WHERE id = ?').run(
      hash,
      new Date(clock.now()).toISOString(),
      authUserId,
    );
    const row = byId.get(authUserId);
    if (row) lockout.clear([row.username, row.email]);
    tickets.revokeUser(authUserId);
    sessions.revokeUser(authUserId, keepSessionId);
  }

  async function verifyClaims(token: string, at?: Date): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, keys.getKey(), {
        issuer: options.issuer,
        algorithms: [ALGORITHM],
        currentDate: at ?? new Date(clock.now()),
      });
      return payload as AccessClaims;
    } catch {
      throw new UnauthorizedError('Invalid or expired access token');
    }
  }

  return {
    async login(input: LoginInput) {
      // The attempt is counted against the name typed (or refused with 429) before the hash,
      // known name or not, and the row (with its password version) is read in that same
      // transaction; only a success forgets the attempt.
      const { read: row, locks } = lockout.reserve({
        name: input.username,
        now: sessions.now(),
        read: () => byLogin.get(input.username, input.username),
      });
      // The same 401 either way; the service logs and counts the lockout it started.
      const refused = () => (locks ? new LockoutStartedError(WRONG_CREDENTIALS) : new UnauthorizedError(WRONG_CREDENTIALS));
      // Unknown users and users without a password yet cost one hash too, so timing tells nothing.
      const usable = row && row.password_hash !== NO_PASSWORD ? row.password_hash : undefined;
      const valid = await verifyPassword(usable ?? DUMMY_HASH, input.password);
      if (!row || !usable || !valid) throw refused();
      const profile = await options.profileOf(row.id);
      if (!mayLogIn(row, profile)) throw refused();
      const session = openSession(row, input);
      if (!session) throw refused();
      // A website client: the session's cookie instead of tokens.
      if (session.cookie) return { sessionCookie: session.cookie, maxAgeSeconds: session.expiresAt - sessions.now(), authUserId: row.id };
      return tokensFor(row, profile, session);
    },

    async refresh({ refreshToken, accessToken }) {
      const unverified = safeDecode(accessToken);
      const claims = await verifyClaims(accessToken, new Date((unverified.iat ?? 0) * 1000));
      const session = sessions.rotate(refreshToken);
      if (session.authUserId !== claims.sub) {
        sessions.revoke(session.id);
        throw new UnauthorizedError('Refresh token and access token belong to different users');
      }
      const row = byId.get(session.authUserId);
      const profile = row && (await options.profileOf(row.id));
      if (!row || !mayLogIn(row, profile)) {
        sessions.revoke(session.id);
        throw new UnauthorizedError(WRONG_CREDENTIALS);
      }
      return tokensFor(row, profile, session);
    },

    async verifyAccessToken(token) {
      const claims = await verifyClaims(token);
      // Every token this provider signs names its session: one without, or with someone else's,
      // was not signed by a login and is refused whatever its signature.
      const session = typeof claims.sid === 'string' ? sessions.active(claims.sid) : undefined;
      if (!session || session.authUserId !== claims.sub) throw new UnauthorizedError('Session ended');
      return claims;
    },

    async verifySessionCookie(cookie) {
      const session = sessions.byCookie(cookie);
      const row = session && byId.get(session.authUserId);
      if (!session || !row) throw new UnauthorizedError('Session ended');
      const profile = await options.profileOf(row.id);
      const now = sessions.now();
      return {
        sub: row.id,
        sid: session.id,
        iat: now,
        exp: now,
        username: row.username ?? undefined,
        email: row.email ?? undefined,
        email_verified: row.email_verified === 1,
        userGroup: profile?.userGroup,
      };
    },

    async logout(sessionId) {
      sessions.revoke(sessionId);
    },

    async endSessions(authUserId) {
      sessions.revokeUser(authUserId);
    },

    requestPasswordChange(authUserId) {
      return passwordChanges.request(authUserId);
    },

    async checkResetTicket(ticket: string) {
      return tickets.ownerOf(ticket) !== undefined;
    },

    async resetPassword(ticket, password) {
      // The ticket first: a stranger without one never makes the server hash.
      if (tickets.ownerOf(ticket) === undefined) throw invalidTicket();
      assertPasswordPolicy(password);
      const hash = await hashPassword(password);
      // Consumed only now, atomically with the new password: two posts of one ticket set one.
      const owner = db
        .transaction(() => {
          const authUserId = tickets.consume(ticket);
          if (authUserId !== undefined) setPassword(authUserId, hash);
          return authUserId;
        })
        .immediate();
      if (owner === undefined) throw invalidTicket();
      return owner;
    },

    changeOwnPassword: changeOwnPassword({ db, lockout, now: () => sessions.now(), read: (id) => byId.get(id), setPassword }),

    async unlock(authUserId) {
      const row = byId.get(authUserId);
      if (!row) throw new NotFoundError(`identity user ${authUserId} not found`);
      lockout.clear([row.username, row.email]);
    },

    async jwks() {
      await keys.current();
      return keys.jwks() as { keys: Record<string, unknown>[] };
    },
  };
}

function invalidTicket(): InvalidInputError {
  return new InvalidInputError('The reset link is invalid, expired or already used', [{ path: ['ticket'], message: 'invalid or expired' }]);
}

function safeDecode(token: string): { iat?: number } {
  try {
    return decodeJwt(token);
  } catch {
    throw new UnauthorizedError('Invalid access token');
  }
}
