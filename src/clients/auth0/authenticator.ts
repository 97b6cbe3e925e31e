import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { type AccessClaims, type Authenticator, INVALID_REFRESH, type TokenSet } from '../../ports/authenticator.js';
import type { IdentityProvider, IdentityUser } from '../../ports/identity-provider.js';
import { InvalidInputError, NotFoundError, UnauthorizedError, UpstreamError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { SessionStore } from '../../ports/session-store.js';
import { cookieClaims } from '../cookie-sessions.js';
import { nowSeconds } from '../../domain/clock.js';
import type { Auth0Api } from './api.js';
import { rateLimited } from '../rate-limit.js';
import { identitySegment } from '../path-segment.js';
import { loginError } from './token-errors.js';
import {
  bearerSessionId,
  checkPair,
  deniedDigestOf,
  denyBearerChain,
  pairTokens,
  refusedIfLoggedOut,
  tokenDigest,
} from '../bearer-denial.js';
import { shownId } from '../../domain/input-limits.js';

const TokenReply = z.object({ access_token: z.string(), refresh_token: z.string().optional(), expires_in: z.number() });

/** How long an identity read for `/userinfo` is reused (Auth0's /userinfo allows 5 calls a minute). */
const PROFILE_CACHE_MS = 60_000;

export interface Auth0AuthenticatorOptions {
  connection: string;
  audience?: string;
  /** Accepted `iss` values: the base URL's, and the tenant domain's when it differs (custom domains). */
  issuers: string[];
  /** Website clients' cookie sessions (Auth0 keeps none the service could use): embedded, or SESSIONS_CRUD_ENDPOINT. */
  sessions: SessionStore;
  /** The service's clock: the cookie claims' times and the cookie's lifetime. */
  clock: Clock;
  /** Auth0 locks an account for 15 minutes after too many failures unless an administrator unblocks it. */
  lockSeconds: number;
  /**
   * How long a logged-out access token stays denied when its refresh token was not revoked at
   * Auth0 (REFRESH_TOKEN_TTL): `/refreshtoken` needs that access token, expired or not.
   */
  refreshTokenSeconds: number;
}

/**
 * Logins and tokens with Auth0: the password-realm grant on the database connection, refresh with
 * Auth0's rotation, access tokens verified locally against the tenant's JWKS (cached by jose), and
 * the identity claims of `/userinfo` read through the Management API with a cache, never through
 * Auth0's rate-limited `/userinfo`.
 */
export function createAuth0Authenticator(api: Auth0Api, identity: IdentityProvider, options: Auth0AuthenticatorOptions): Authenticator {
  const base = api.options.baseUrl.replace(/\/$/, '');
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
  const profiles = new Map<string, { user: IdentityUser | undefined; at: number; version?: string }>();

  /**
   * `issuedAt` (ms): when the credential was issued, if known. A block (or absence) read before it
   * is outdated: Auth0 issues nothing to a blocked user, so the block was lifted since, maybe
   * through another replica. A cookie's issue time is not known here, so a block read for it is
   * read again (the service revokes a blocked user's sessions, so that is rare). `version`: the
   * caller's profile version now; an entry read under another one is read again.
   */
  async function profile(sub: string, { issuedAt, version }: { issuedAt?: number; version?: string } = {}) {
    const cached = profiles.get(sub);
    const active = cached?.user !== undefined && !cached.user.blocked;
    const current = cached && cached.version === version && (active || (issuedAt !== undefined && cached.at >= issuedAt));
    if (cached && current && Date.now() - cached.at < PROFILE_CACHE_MS) return cached.user;
    const [user] = await identity.getUsers([sub]);
    if (profiles.size > 10_000) profiles.clear();
    profiles.set(sub, { user, at: Date.now(), version });
    return user;
  }

  async function grant(body: Record<string, string>, ip?: string): Promise<TokenSet> {
    const reply = await api.auth({
      method: 'POST',
      path: '/oauth/token',
      body: { ...body, client_id: api.options.clientId, client_secret: api.options.clientSecret },
      headers: ip ? { 'auth0-forwarded-for': ip } : {},
    });
    if (reply.status !== 200) throw loginError(reply, options.lockSeconds);
    const tokens = TokenReply.safeParse(reply.body);
    // A refresh on a tenant that does not rotate refresh tokens answers none: the one sent stays valid.
    const refreshToken = tokens.data?.refresh_token ?? body.refresh_token;
    if (!tokens.success || !refreshToken)
      throw new UpstreamError('Auth0', 'POST /oauth/token', 200, {
        message: 'Auth0 answered no refresh token (is offline access allowed?)',
      });
    return {
      accessToken: tokens.data.access_token,
      refreshToken,
      expireAt: Math.floor(Date.now() / 1000) + tokens.data.expires_in,
    };
  }

  /**
   * Signature, issuer, audience and expiry (as of `at`), that the token is an access token of
   * ours, and that no logout denied it (one read of the session store, which the replicas share).
   */
  async function verify(token: string, at?: Date): Promise<AccessClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: options.issuers, audience: options.audience, currentDate: at }));
    } catch {
      throw new UnauthorizedError('Invalid or expired access token');
    }
    const digest = tokenDigest(token);
    if (!isAccessToken(payload, api.options.clientId, options.audience) || (await options.sessions.isTokenDenied(digest)))
      throw new UnauthorizedError('Invalid or expired access token');
    // The token is its own session: logout denies it (Auth0's own `sid` claim, if any, is not ours).
    return { ...(payload as AccessClaims), sid: bearerSessionId(digest) };
  }

  /** Revokes a refresh token at Auth0 (`POST /oauth/revoke`); 200 even for one unknown or revoked already. */
  async function revokeRefreshToken(refreshToken: string): Promise<void> {
    const reply = await api.auth({
      method: 'POST',
      path: '/oauth/revoke',
      body: { client_id: api.options.clientId, client_secret: api.options.clientSecret, token: refreshToken },
    });
    if (reply.status === 429) throw rateLimited(reply, 'Too many logouts at the identity provider: try again later');
    if (reply.status !== 200) throw new UpstreamError('Auth0', 'POST /oauth/revoke', reply.status);
  }

  return {
    async login({ username, password, ip, website }) {
      const scope = 'openid profile email offline_access';
      const tokens = await grant(
        {
          grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
          realm: options.connection,
          username,
          password,
          scope,
          ...(options.audience ? { audience: options.audience } : {}),
        },
        ip,
      );
      if (!website) {
        await pairTokens(options.sessions, tokens, { now: nowSeconds(options.clock), keepSeconds: options.refreshTokenSeconds });
        return tokens;
      }
      // A website client gets a cookie session of ours, tied to the Auth0 user.
      const session = await options.sessions.open(decodeJwt(tokens.accessToken).sub!);
      const maxAgeSeconds = session.expiresAt - nowSeconds(options.clock);
      return { sessionCookie: session.cookie, maxAgeSeconds, authUserId: session.authUserId };
    },

    async refresh({ refreshToken, accessToken }) {
      const previous = await verify(accessToken, issuedAt(accessToken));
      const follows = await checkPair(options.sessions, refreshToken, accessToken);
      const tokens = await grant({ grant_type: 'refresh_token', refresh_token: refreshToken }).catch((error: unknown) => {
        // Auth0's invalid_grant here is about the refresh token: no password was sent.
        throw error instanceof UnauthorizedError ? new UnauthorizedError(INVALID_REFRESH) : error;
      });
      // Only a refresh token answered before the token pairs gets here with another user's access
      // token: refused as an unknown one is, so the answer does not tell that it is live.
      if (decodeJwt(tokens.accessToken).sub !== previous.sub) throw new UnauthorizedError(INVALID_REFRESH);
      const now = nowSeconds(options.clock);
      await pairTokens(options.sessions, tokens, { now, keepSeconds: options.refreshTokenSeconds, replaces: refreshToken, follows });
      await refusedIfLoggedOut(options.sessions, accessToken, tokens, { now, keepSeconds: options.refreshTokenSeconds });
      return tokens;
    },

    async verifyAccessToken(token, { profileVersion } = {}) {
      const claims = await verify(token);
      // `iat` is in whole seconds: the token may have been issued up to a second after it.
      const issuedAt = claims.iat === undefined ? undefined : (claims.iat + 1) * 1000;
      const user = await profile(claims.sub, { issuedAt, version: await profileVersion?.(claims.sub) });
      if (!user || user.blocked) throw new UnauthorizedError('Invalid or expired access token');
      return { ...claims, username: user.username, email: user.email, email_verified: user.emailVerified };
    },

    verifySessionCookie: (cookie, { profileVersion } = {}) =>
      cookieClaims({
        sessions: options.sessions,
        clock: options.clock,
        cookie,
        lookup: async (sub) => profile(sub, { version: await profileVersion?.(sub) }),
      }),

    /**
     * Ends a cookie session, or a bearer token: its refresh token, when the caller sends it, is
     * revoked at Auth0 first (a failure leaves the token working, so the logout can be asked
     * again), then the access token is denied on every replica until it expires, or for
     * REFRESH_TOKEN_TTL when its refresh token stays alive at Auth0, since `/refreshtoken` needs it.
     * So is every other access token of its refresh chain: those it replaced through refreshes and
     * those that replaced it (bearer-denial.ts, denyBearerChain), each until it can have expired.
     */
    async logout(sessionId, { claims, refreshToken } = {}) {
      const digest = deniedDigestOf(sessionId);
      if (digest === undefined || !claims) return options.sessions.revoke(sessionId);
      if (refreshToken !== undefined) await revokeRefreshToken(refreshToken);
      const keepSeconds = refreshToken === undefined ? options.refreshTokenSeconds : 0;
      const { refreshTokenSeconds } = options;
      // Auth0 gives each access token the same lifetime: none of the chain's outlives the caller's.
      const lifetime = claims.exp - claims.iat;
      const tokenSeconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : refreshTokenSeconds;
      await denyBearerChain(options.sessions, digest, claims, {
        now: nowSeconds(options.clock),
        keepSeconds,
        tokenSeconds,
        refreshTokenSeconds,
      });
    },

    /** The cookie sessions; Auth0's access tokens carry no session and run out (the access check reads the current profile). */
    endSessions: (authUserId) => options.sessions.revokeUser(authUserId),

    async requestPasswordChange(authUserId) {
      const [user] = await identity.getUsers([authUserId]);
      if (!user) throw new NotFoundError(`identity user ${shownId(authUserId)} not found`);
      if (!user.email) throw new InvalidInputError(`identity user ${authUserId} has no e-mail address to send the reset link to`);
      const reply = await api.auth({
        method: 'POST',
        path: '/dbconnections/change_password',
        body: { client_id: api.options.clientId, email: user.email, connection: options.connection },
      });
      // Auth0 allows 1 mail a minute per IP and e-mail (burst 10): a 429 is about this user's mails.
      if (reply.status === 429)
        throw rateLimited(reply, 'Too many password e-mails for this user at the identity provider: try again later');
      if (reply.status !== 200) throw new UpstreamError('Auth0', 'POST /dbconnections/change_password', reply.status);
    },

    async resetPassword() {
      throw new InvalidInputError("With Auth0 the reset link of the e-mail leads to Auth0's own page");
    },

    async unlock(authUserId) {
      const segment = identitySegment(authUserId);
      if (segment === undefined) throw new NotFoundError(`identity user ${shownId(authUserId)} not found`);
      const reply = await api.management({ method: 'DELETE', path: `/api/v2/user-blocks/${segment}`, route: '/api/v2/user-blocks/:id' });
      if (reply.status === 404) throw new NotFoundError(`identity user ${shownId(authUserId)} not found`);
      if (reply.status >= 300) throw new UpstreamError('Auth0', 'DELETE /api/v2/user-blocks/:id', reply.status);
    },

    async jwks() {
      const reply = await api.auth({ method: 'GET', path: '/.well-known/jwks.json' });
      if (reply.status !== 200) throw new UpstreamError('Auth0', 'GET /.well-known/jwks.json', reply.status);
      return reply.body as { keys: Record<string, unknown>[] };
    },
  };
}

/**
 * Auth0 signs more than access tokens for this API with the same keys: ID tokens (`aud` is the
 * client id) and, when AUTH0_AUDIENCE is unset, tokens for any API of the tenant. An ID token is
 * never a bearer credential; without an audience, only tokens Auth0 issued to this service's own
 * application are accepted (`azp` in Auth0's access-token profile, `client_id` in its RFC 9068
 * one): what the tenant's default audience gives the service's logins and refreshes.
 */
function isAccessToken(payload: JWTPayload, clientId: string, audience: string | undefined): boolean {
  const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
  if (audiences.includes(clientId)) return false;
  // A token that names no application is taken as before: Auth0's always name one, and refusing
  // them would refuse every login on a tenant double that leaves the claim out.
  const issuedTo = payload.azp ?? payload.client_id;
  return audience !== undefined || issuedTo === undefined || issuedTo === clientId;
}

/**
 * When the token says it was issued: a refresh verifies the (maybe expired) access token as of then.
 * A bearer that is no JWT is the caller's mistake (decodeJwt throws a plain error: it was a 500).
 */
function issuedAt(token: string): Date {
  try {
    return new Date((decodeJwt(token).iat ?? 0) * 1000);
  } catch {
    throw new UnauthorizedError('Invalid or expired access token');
  }
}
