import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import type { AccessClaims, Authenticator, LoginInput, Mailer, TokenSet } from '../clients/ports.js';
import type { State } from '../crud/states.js';
import { assertPasswordPolicy } from '../domain/password-policy.js';
import { InvalidInputError, NotFoundError, TooManyRequestsError, UnauthorizedError } from '../errors.js';
import type { Db } from './db.js';
import { hashPassword, NO_PASSWORD, verifyPassword } from './password-hash.js';
import { resetMail } from './reset-mail.js';
import { hashSecret, newSecret } from './secrets.js';
import { nowSeconds, type Session, Sessions } from './sessions.js';
import { ALGORITHM, type SigningKeys } from './signing-keys.js';

/** The same answer for an unknown user, a wrong password and a blocked user. */
const WRONG_CREDENTIALS = 'Wrong username or password';

type Profile = { userGroup?: string; __STATE__: State };

export interface EmbeddedAuthenticatorOptions {
  db: Db;
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
  failed_logins: number;
  locked_until: number | null;
}

/** Logins, tokens and password resets of the embedded identity provider. */
export function createEmbeddedAuthenticator(options: EmbeddedAuthenticatorOptions): Authenticator {
  const { db, keys, sessions } = options;
  const byLogin = db.prepare<[string, string], CredentialRow>(
    'SELECT id, username, email, email_verified, blocked, password_hash, failed_logins, locked_until FROM identity_users WHERE username = ? OR email = ? LIMIT 1',
  );
  const byId = db.prepare<[string], CredentialRow>(
    'SELECT id, username, email, email_verified, blocked, password_hash, failed_logins, locked_until FROM identity_users WHERE id = ?',
  );
  // Verified against when the user is unknown, so that case takes as long as a wrong password.
  const dummyHash = hashPassword(newSecret());

  async function tokensFor(
    row: CredentialRow,
    profile: Profile | undefined,
    session: Session & { refreshToken: string; cookie?: string },
  ): Promise<TokenSet> {
    const { kid, key } = await keys.current();
    const iat = nowSeconds();
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
    return { accessToken, refreshToken: session.refreshToken, expireAt, sessionCookie: session.cookie };
  }

  /** A user may log in or refresh when unblocked and, if it has a profile, PUBLIC. */
  function mayLogIn(row: CredentialRow, profile: Profile | undefined): boolean {
    return row.blocked !== 1 && (!profile || profile.__STATE__ === 'PUBLIC');
  }

  function recordFailure(row: CredentialRow): void {
    const failures = row.failed_logins + 1;
    if (failures >= options.maxAttempts) {
      db.prepare('UPDATE identity_users SET failed_logins = 0, locked_until = ? WHERE id = ?').run(
        nowSeconds() + options.lockSeconds,
        row.id,
      );
    } else {
      db.prepare('UPDATE identity_users SET failed_logins = ? WHERE id = ?').run(failures, row.id);
    }
  }

  async function verifyClaims(token: string, at?: Date): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, keys.getKey(), { issuer: options.issuer, algorithms: [ALGORITHM], currentDate: at });
      return payload as AccessClaims;
    } catch {
      throw new UnauthorizedError('Invalid or expired access token');
    }
  }

  return {
    async login(input: LoginInput) {
      const row = byLogin.get(input.username, input.username);
      if (row?.locked_until && row.locked_until > nowSeconds()) {
        throw new TooManyRequestsError('Too many failed logins: the account is locked', row.locked_until - nowSeconds());
      }
      // Unknown users and users without a password yet cost one hash too, so timing tells nothing.
      const usable = row && row.password_hash !== NO_PASSWORD ? row.password_hash : undefined;
      const valid = await verifyPassword(usable ?? (await dummyHash), input.password);
      if (!row || !usable || !valid) {
        if (row) recordFailure(row);
        throw new UnauthorizedError(WRONG_CREDENTIALS);
      }
      const profile = await options.profileOf(row.id);
      if (!mayLogIn(row, profile)) throw new UnauthorizedError(WRONG_CREDENTIALS);
      db.prepare(
        'UPDATE identity_users SET failed_logins = 0, locked_until = NULL, last_login = ?, logins_count = logins_count + 1 WHERE id = ?',
      ).run(new Date().toISOString(), row.id);
      return tokensFor(row, profile, sessions.open(row.id, input.website));
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
      const now = nowSeconds();
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

    async requestPasswordChange(authUserId) {
      const row = byId.get(authUserId);
      if (!row) throw new NotFoundError(`identity user ${authUserId} not found`);
      if (!row.email) throw new InvalidInputError(`identity user ${authUserId} has no e-mail address to send the reset link to`);
      const ticket = newSecret();
      db.prepare('INSERT INTO reset_tickets (ticket_hash, auth_user_id, expires_at) VALUES (?, ?, ?)').run(
        hashSecret(ticket),
        authUserId,
        nowSeconds() + options.resetTicketTtl,
      );
      await options.mailer.send(
        resetMail({
          to: row.email,
          username: row.username ?? row.email,
          ticket,
          baseUrl: options.baseUrl,
          ttlSeconds: options.resetTicketTtl,
        }),
      );
    },

    async resetPassword(ticket, password) {
      assertPasswordPolicy(password);
      const hash = await hashPassword(password);
      const done = db.transaction(() => {
        const row = db
          .prepare<[string, number], { auth_user_id: string }>(
            'SELECT auth_user_id FROM reset_tickets WHERE ticket_hash = ? AND used_at IS NULL AND expires_at > ?',
          )
          .get(hashSecret(ticket), nowSeconds());
        if (!row) return undefined;
        db.prepare('UPDATE reset_tickets SET used_at = ? WHERE ticket_hash = ?').run(nowSeconds(), hashSecret(ticket));
        db.prepare('UPDATE identity_users SET password_hash = ?, failed_logins = 0, locked_until = NULL, updated_at = ? WHERE id = ?').run(
          hash,
          new Date().toISOString(),
          row.auth_user_id,
        );
        return row.auth_user_id;
      })();
      if (!done)
        throw new InvalidInputError('The reset link is invalid, expired or already used', [
          { path: ['ticket'], message: 'invalid or expired' },
        ]);
      sessions.revokeUser(done);
    },

    async unlock(authUserId) {
      const result = db.prepare('UPDATE identity_users SET failed_logins = 0, locked_until = NULL WHERE id = ?').run(authUserId);
      if (result.changes === 0) throw new NotFoundError(`identity user ${authUserId} not found`);
    },

    async jwks() {
      await keys.current();
      return keys.jwks() as { keys: Record<string, unknown>[] };
    },
  };
}

function safeDecode(token: string): { iat?: number } {
  try {
    return decodeJwt(token);
  } catch {
    throw new UnauthorizedError('Invalid access token');
  }
}
