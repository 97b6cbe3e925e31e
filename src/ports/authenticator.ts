/** The identity provider's authentication side: logins, tokens, sessions, passwords. */

/** What a login or a refresh answers: the documented `{accessToken, refreshToken, expireAt}`. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, in seconds since the epoch. */
  expireAt: number;
}

/** What a website client's login answers instead of tokens: its session's `sid` cookie. */
export interface SessionCookie {
  sessionCookie: string;
  /** The cookie's lifetime: the session's. */
  maxAgeSeconds: number;
  /** Who logged in, where the provider tells it without another call (for the security log). */
  authUserId?: string;
}

/** The verified claims of an access token (or of the session behind a `sid` cookie). */
export interface AccessClaims {
  sub: string;
  exp: number;
  iat: number;
  iss?: string;
  /** The session the token belongs to; logout revokes it. */
  sid?: string;
  username?: string;
  email?: string;
  email_verified?: boolean;
  userGroup?: string;
  /**
   * The provider's own `/userinfo` answer, where it has one (the auth0-client): `GET /userinfo`
   * returns all of it, as the usage page says of the auth client's properties. Token claims of
   * the other providers (`iss`, `iat`, `sid`…) are not such properties.
   */
  providerUserinfo?: Record<string, unknown>;
  [claim: string]: unknown;
}

export interface VerifyOptions {
  /**
   * The caller's profile version now (it changes whenever the profile does, through any replica):
   * identity fields an authenticator cached under another version are read again, since the
   * service writes a new username, e-mail or state to the provider and the profile together.
   */
  profileVersion?: (authUserId: string) => Promise<string | undefined>;
  /** The caller's `client-type` header, passed on to a provider that picks its client by it (the auth0-client). */
  clientType?: string;
}

export interface LoginInput {
  /** A username or an e-mail address. */
  username: string;
  password: string;
  ip: string;
  /** Website clients get a session cookie instead of tokens in the body. */
  website: boolean;
  /** The caller's `client-type` header, for a provider that picks its client by it (the auth0-client). */
  clientType?: string;
}

/** Logins, tokens and passwords: the identity provider's authentication side. */
export interface Authenticator {
  /**
   * Tokens, or a session cookie for a website client. UnauthorizedError (same message for every
   * bad case) or TooManyRequestsError (locked).
   */
  login(input: LoginInput): Promise<TokenSet | SessionCookie>;
  /** A new pair for a refresh token and the (possibly expired) access token of the same user. */
  refresh(input: { refreshToken: string; accessToken: string; clientType?: string }): Promise<TokenSet>;
  /** Signature, expiry and session; UnauthorizedError otherwise. */
  verifyAccessToken(token: string, options?: VerifyOptions): Promise<AccessClaims>;
  /** The claims of the session behind a `sid` cookie; UnauthorizedError otherwise. */
  verifySessionCookie(secret: string, options?: VerifyOptions): Promise<AccessClaims>;
  /**
   * Revokes the session (its refresh tokens and cookie). `claims` are the caller's, as verified;
   * `refreshToken` the one the caller holds, for a provider that must revoke it itself (Auth0).
   */
  logout(sessionId: string, options?: { clientType?: string; claims?: AccessClaims; refreshToken?: string }): Promise<void>;
  /**
   * Ends every session of a user (its refresh tokens, cookies and, where the provider ties them
   * to a session, access tokens): after a change of group, a block, a state other than PUBLIC, a
   * deletion or a new password. Tokens the provider signed without a session stay valid until
   * they expire, but the access check reads the user's current profile (resolvers/access.ts).
   */
  endSessions(authUserId: string): Promise<void>;
  /** Starts a password change: the user receives an e-mail with a reset link. */
  requestPasswordChange(authUserId: string): Promise<void>;
  /** Sets a new password with a reset ticket from that e-mail; answers whose (its authUserId). */
  resetPassword(ticket: string, password: string): Promise<string>;
  /**
   * A signed-in user changes its own password: the current one is verified (a wrong one counts
   * as a failed login toward the lockout), the policy applies, and every other session of the
   * user ends (`keepSessionId` stays). Only the embedded provider has it: a connected provider
   * changes passwords through its own reset e-mail.
   */
  changeOwnPassword?(input: { authUserId: string; currentPassword: string; newPassword: string; keepSessionId?: string }): Promise<void>;
  /**
   * True while a reset ticket is unused and unexpired, so the reset page can refuse a dead link
   * before showing its form. Only the embedded provider serves its own reset page.
   */
  checkResetTicket?(ticket: string): Promise<boolean>;
  /** Clears a lockout after too many failed logins. */
  unlock(authUserId: string): Promise<void>;
  /** The public signing keys, for `/.well-known/jwks.json`. */
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
}

/**
 * Every identity provider's refusal of a refresh token it will not take, whatever the reason
 * (unknown, used, revoked, expired, carried by another access token): one message, so an answer
 * never tells which refresh tokens were issued.
 */
export const INVALID_REFRESH = 'Invalid refresh token: unknown, used already or revoked';
