import { type Authenticator, INVALID_REFRESH, type LoginInput } from '../ports/authenticator.js';
import type { Clock } from '../ports/clock.js';
import { LockoutStartedError, UnauthorizedError } from '../errors.js';
import { type AccessTokens, safeDecode } from './access-tokens.js';
import type { CredentialRow, Credentials, Profile } from './credentials.js';
import type { Db } from './db.js';
import type { LoginLockout } from './login-lockout.js';
import { DUMMY_HASH, NO_PASSWORD, verifyPassword } from './password-hash.js';
import type { Sessions } from './sessions.js';

/** The same answer for an unknown user, a wrong password and a blocked user. */
const WRONG_CREDENTIALS = 'Wrong username or password';

export interface LoginParts {
  db: Db;
  clock: Clock;
  sessions: Sessions;
  lockout: LoginLockout;
  credentials: Credentials;
  tokens: AccessTokens;
  profileOf: (authUserId: string) => Promise<Profile | undefined>;
}

type Logins = Pick<Authenticator, 'login' | 'refresh' | 'verifyAccessToken' | 'verifySessionCookie'>;

/** Sessions in: logins and refreshes, and the checks of the tokens and cookies they hand out. */
export function createLogins(parts: LoginParts): Logins {
  return {
    login: (input) => login(parts, input),
    refresh: (pair) => refresh(parts, pair),
    verifyAccessToken: (token) => verifyAccessToken(parts, token),
    verifySessionCookie: (cookie) => verifySessionCookie(parts, cookie),
  };
}

async function login(parts: LoginParts, input: LoginInput) {
  const { sessions } = parts;
  // The attempt is counted against the name typed (or refused with 429) before the hash,
  // known name or not, and the row (with its password version) is read in that same
  // transaction; only a success forgets the attempt.
  const { read: row, locks } = parts.lockout.reserve({
    name: input.username,
    now: sessions.now(),
    read: () => parts.credentials.byLogin.get(input.username, input.username),
  });
  // The same 401 either way; the service logs and counts the lockout it started.
  const refused = () => (locks ? new LockoutStartedError(WRONG_CREDENTIALS) : new UnauthorizedError(WRONG_CREDENTIALS));
  // Unknown users and users without a password yet cost one hash too, so timing tells nothing.
  const usable = row && row.password_hash !== NO_PASSWORD ? row.password_hash : undefined;
  const valid = await verifyPassword(usable ?? DUMMY_HASH, input.password);
  if (!row || !usable || !valid) throw refused();
  const profile = await parts.profileOf(row.id);
  if (!mayLogIn(row, profile)) throw refused();
  const session = openSession(parts, row, input);
  if (!session) throw refused();
  // A website client: the session's cookie instead of tokens.
  if (session.cookie) return { sessionCookie: session.cookie, maxAgeSeconds: session.expiresAt - sessions.now(), authUserId: row.id };
  return parts.tokens.issue({ row, profile, session });
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
function openSession({ db, clock, credentials, lockout, sessions }: LoginParts, row: CredentialRow, input: LoginInput) {
  return db
    .transaction(() => {
      const now = credentials.byId.get(row.id);
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

async function refresh(parts: LoginParts, { refreshToken, accessToken }: { refreshToken: string; accessToken: string }) {
  const { sessions } = parts;
  const unverified = safeDecode(accessToken);
  const claims = await parts.tokens.verify(accessToken, new Date((unverified.iat ?? 0) * 1000));
  // Unknown, used, revoked, expired, or carried by another user's token: one answer (INVALID_REFRESH),
  // so a caller holding any live token learns nothing of which refresh tokens exist. Another user's
  // ends the session it names (the token leaked), as a reused one does.
  const session = sessions.rotate(refreshToken);
  if (session.authUserId !== claims.sub) {
    sessions.revoke(session.id);
    throw new UnauthorizedError(INVALID_REFRESH);
  }
  const row = parts.credentials.byId.get(session.authUserId);
  const profile = row && (await parts.profileOf(row.id));
  if (!row || !mayLogIn(row, profile)) {
    sessions.revoke(session.id);
    throw new UnauthorizedError(WRONG_CREDENTIALS);
  }
  return parts.tokens.issue({ row, profile, session });
}

async function verifyAccessToken({ tokens, sessions }: LoginParts, token: string) {
  const claims = await tokens.verify(token);
  // Every token this provider signs names its session: one without, or with someone else's,
  // was not signed by a login and is refused whatever its signature.
  const session = typeof claims.sid === 'string' ? sessions.active(claims.sid) : undefined;
  if (!session || session.authUserId !== claims.sub) throw new UnauthorizedError('Session ended');
  return claims;
}

async function verifySessionCookie({ sessions, credentials, profileOf }: LoginParts, cookie: string) {
  const session = sessions.byCookie(cookie);
  const row = session && credentials.byId.get(session.authUserId);
  if (!session || !row) throw new UnauthorizedError('Session ended');
  const profile = await profileOf(row.id);
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
}
