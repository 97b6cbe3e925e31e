import { z } from 'zod';
import {
  type AccessClaims,
  type Authenticator,
  INVALID_REFRESH,
  type SessionCookie,
  type TokenSet,
  type VerifyOptions,
} from '../../ports/authenticator.js';
import type { IdentityProvider } from '../../ports/identity-provider.js';
import { InvalidInputError, NotFoundError, UnauthorizedError, UpstreamError } from '../../errors.js';
import { callUpstream, type UpstreamOptions, type UpstreamReply } from '../http.js';
import { rateLimited } from '../rate-limit.js';
import type { Clock } from '../../ports/clock.js';
import type { SessionStore } from '../../ports/session-store.js';
import { nowSeconds } from '../../domain/clock.js';
import {
  bearerSessionId,
  checkPair,
  deniedDigestOf,
  denyBearerChain,
  pairTokens,
  refusedIfLoggedOut,
  tokenDigest,
} from '../bearer-denial.js';

const Tokens = z.looseObject({ accessToken: z.string(), refreshToken: z.string(), expireAt: z.number() });
const Claims = z.looseObject({});
const USERINFO_CACHE_MS = 30_000;
/** The auth0-client's SESSION_DURATION_SECONDS default, for a `sid` cookie that names no Max-Age. */
const DEFAULT_SESSION_SECONDS = 86_400;

export interface Auth0ClientAuthOptions {
  upstream: UpstreamOptions;
  connection: string;
  userIdKey: string;
  identity: IdentityProvider;
  /** `POST /change-password {user_id}` (404 for an unknown user). */
  requestPasswordChange: (authUserId: string) => Promise<void>;
  /**
   * Where a bearer logout denies its token (the SessionStore); none under REPLICAS=shared without
   * SESSIONS_CRUD_ENDPOINT, where a denial would hold on one replica only: a bearer logout is then
   * refused (400), as before, rather than pretend.
   */
  denials?: BearerDenials;
}

export interface BearerDenials {
  sessions: SessionStore;
  clock: Clock;
  /**
   * How long a logged-out token stays denied (REFRESH_TOKEN_TTL): the auth0-client documents no
   * way to revoke its refresh token, and its `/refreshtoken` needs the access token, expired or not.
   */
  refreshTokenSeconds: number;
}

/**
 * Logins and sessions through Mia-Platform's auth0-client, as the original service uses it. Website
 * clients get the auth0-client's own session: the `client-type` header picks its client, one with
 * the `website` scope answers a `sid` cookie (kept by the auth0-client, not here), and `/userinfo`
 * and `/logout` are asked with that cookie. So every replica sees a logout at once, and the service
 * keeps no session state of its own (docs/replicas.md).
 */
export function createAuth0ClientAuthenticator(options: Auth0ClientAuthOptions): Authenticator {
  const { upstream, connection, denials } = options;
  const claimsCache = new Map<string, { claims: AccessClaims; at: number; version?: string }>();

  async function userinfo(headers: Record<string, string>, refused: string, clientType?: string): Promise<AccessClaims> {
    const reply = await callUpstream(upstream, {
      method: 'GET',
      path: '/userinfo',
      headers: { ...headers, ...clientTypeHeader(clientType) },
    });
    if (reply.status === 401 || reply.status === 403) throw new UnauthorizedError(refused);
    if (reply.status !== 200) throw new UpstreamError('auth0-client', 'GET /userinfo', reply.status);
    // The provider's session id is not the service's: logout goes by the cookie (verifySessionCookie).
    const { sid: _sid, ...raw } = Claims.parse(reply.body) as Record<string, unknown>;
    const sub = raw[options.userIdKey] ?? raw.sub;
    if (typeof sub !== 'string')
      throw new UpstreamError('auth0-client', 'GET /userinfo', 200, { message: `auth0-client /userinfo answered no ${options.userIdKey}` });
    const now = Math.floor(Date.now() / 1000);
    // `sid` stays out of the properties too: a cookie the browser keeps HttpOnly is not for a JSON body.
    return { ...raw, sub, iat: now, exp: now, username: (raw.username ?? raw.nickname) as string | undefined, providerUserinfo: raw };
  }

  /**
   * A bearer token's claims, cached briefly per token (the auth0-client's tokens carry no session
   * of ours), and only while the caller's profile keeps the version it had when they were read.
   */
  async function claimsOf(token: string, options: VerifyOptions = {}): Promise<AccessClaims> {
    if (!denials) return cachedClaims(token, options);
    // A logged-out token is refused before its cached claims or the auth0-client are asked (one
    // read of the session store, shared by the replicas).
    const digest = tokenDigest(token);
    if (await denials.sessions.isTokenDenied(digest)) throw new UnauthorizedError('Invalid or expired access token');
    return { ...(await cachedClaims(token, options)), sid: bearerSessionId(digest) };
  }

  /** Remembers the access token the refresh token came with, where a bearer logout can deny it (see pairTokens). */
  async function paired(issued: TokenSet, replaced?: { refreshToken: string; follows: string[] }): Promise<TokenSet> {
    if (!denials) return issued;
    const { sessions, clock, refreshTokenSeconds } = denials;
    const { refreshToken: replaces, follows } = replaced ?? {};
    await pairTokens(sessions, issued, { now: nowSeconds(clock), keepSeconds: refreshTokenSeconds, replaces, follows });
    return issued;
  }

  /** True when a logout denied the token (one read of the session store, shared by the replicas). */
  async function denied(token: string): Promise<boolean> {
    return denials !== undefined && (await denials.sessions.isTokenDenied(tokenDigest(token)));
  }

  async function cachedClaims(token: string, { profileVersion, clientType }: VerifyOptions): Promise<AccessClaims> {
    // Keyed by client too: the auth0-client answers for the client the header names.
    const key = `${clientType ?? ''} ${token}`;
    const cached = claimsCache.get(key);
    if (cached && Date.now() - cached.at < USERINFO_CACHE_MS && cached.version === (await profileVersion?.(cached.claims.sub))) {
      return cached.claims;
    }
    const claims = await userinfo({ authorization: `Bearer ${token}` }, 'Invalid or expired access token', clientType);
    const version = await profileVersion?.(claims.sub);
    if (claimsCache.size > 10_000) claimsCache.clear();
    claimsCache.set(key, { claims, at: Date.now(), version });
    return claims;
  }

  return {
    async login({ username, password, ip, website, clientType }) {
      const reply = await callUpstream(upstream, {
        method: 'POST',
        path: '/oauth/token',
        rawBody: new URLSearchParams({ grant_type: 'password', username, password, connection }).toString(),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': ip,
          ...clientTypeHeader(clientType),
        },
      });
      if (refusedCredential(reply)) throw new UnauthorizedError('Wrong username or password');
      // Auth0's rate limit or lockout, passed on: a 429 until its reset, never a 500 (its words stay out).
      if (reply.status === 429) throw rateLimited(reply, 'Too many login requests at the identity provider: try again later');
      const session = reply.status === 200 ? sessionCookieOf(reply) : undefined;
      if (session) return session;
      // Tokens in a website client's body would reach the browser's scripts: refuse, and say why in the log.
      if (website && reply.status === 200)
        throw new UpstreamError('auth0-client', 'POST /oauth/token', 200, {
          message: `auth0-client set no sid cookie for the website client "${clientType}": give that client the website scope`,
        });
      return paired(tokens(reply));
    },
    async refresh({ refreshToken, accessToken, clientType }) {
      if (await denied(accessToken)) throw new UnauthorizedError('Invalid or expired access token');
      const follows = denials ? await checkPair(denials.sessions, refreshToken, accessToken) : [];
      const reply = await callUpstream(upstream, {
        method: 'POST',
        path: '/refreshtoken',
        body: { refresh_token: refreshToken },
        headers: { authorization: `Bearer ${accessToken}`, ...clientTypeHeader(clientType) },
      });
      if (refusedCredential(reply)) throw new UnauthorizedError(INVALID_REFRESH);
      const issued = await paired(tokens(reply), { refreshToken, follows });
      if (denials) {
        const { sessions, clock, refreshTokenSeconds } = denials;
        await refusedIfLoggedOut(sessions, accessToken, issued, { now: nowSeconds(clock), keepSeconds: refreshTokenSeconds });
      }
      return issued;
    },
    verifyAccessToken: claimsOf,
    /** Asked of the auth0-client on every request (no cache): a logout through any replica holds at once. */
    async verifySessionCookie(cookie, { clientType } = {}) {
      const claims = await userinfo({ cookie: `sid=${cookie}` }, 'Session ended', clientType);
      const [user] = await options.identity.getUsers([claims.sub]);
      if (!user || user.blocked) throw new UnauthorizedError('Session ended');
      return { ...claims, sid: cookie };
    },
    /**
     * The auth0-client's `GET /logout` with the session's cookie: it ends the session for every
     * replica. A bearer token is denied instead (the auth0-client documents no logout for it).
     */
    async logout(sessionId, { clientType, claims } = {}) {
      const digest = deniedDigestOf(sessionId);
      if (digest !== undefined && claims && denials) {
        const { sessions, clock, refreshTokenSeconds } = denials;
        // Its tokens' lifetime is not told (its claims are `/userinfo`'s): the chain's others are denied as long as the caller's.
        const times = { now: nowSeconds(clock), keepSeconds: refreshTokenSeconds, tokenSeconds: refreshTokenSeconds, refreshTokenSeconds };
        return denyBearerChain(sessions, digest, claims, times);
      }
      const headers = { cookie: `sid=${sessionId}`, ...clientTypeHeader(clientType) };
      const reply = await callUpstream(upstream, { method: 'GET', path: '/logout', headers });
      if (reply.status >= 400 && reply.status !== 401) throw new UpstreamError('auth0-client', 'GET /logout', reply.status);
    },
    /**
     * The auth0-client documents no way to end a user's sessions. Its cookies stop working when the
     * identity is blocked or deleted (checked on each request), and the access check reads the
     * current profile (a DRAFT, TRASH or DELETED profile: 401; a demotion: its rights go).
     */
    async endSessions() {},
    requestPasswordChange: options.requestPasswordChange,
    async resetPassword() {
      throw new InvalidInputError("With the auth0-client the reset link of the e-mail leads to Auth0's own page");
    },
    async unlock() {
      throw new InvalidInputError('Unlocking a brute-force lockout is not available through the auth0-client');
    },
    async jwks() {
      throw new NotFoundError('The auth0-client publishes no signing keys');
    },
  };
}

/**
 * The caller's `client-type`, passed on as the platform passes it on every service-to-service call:
 * the auth0-client picks its client (and so the session of a `sid` cookie, the application a
 * refresh token belongs to) by it, its default client when there is none.
 */
function clientTypeHeader(clientType: string | undefined): Record<string, string> {
  return clientType ? { 'client-type': clientType } : {};
}

/**
 * A login's or refresh's refusal that is the caller's: its 401 and 403 (a wrong password, an unknown
 * client), and Auth0's `invalid_grant` passed on with RFC 6749's 400. Any other 400 refuses what the
 * service sent (Auth0's `invalid_request`, `invalid_scope`…: a misconfiguration), an upstream error.
 */
function refusedCredential(reply: UpstreamReply): boolean {
  if (reply.status === 401 || reply.status === 403) return true;
  return reply.status === 400 && errorCodeOf(reply) === 'invalid_grant';
}

function errorCodeOf(reply: UpstreamReply): string | undefined {
  const body = reply.body as { error?: unknown } | undefined;
  return typeof body === 'object' && body !== null && typeof body.error === 'string' ? body.error : undefined;
}

/** The tokens of a login's or refresh's answer; its caller has refused the caller's credentials (refusedCredential) already. */
function tokens(reply: UpstreamReply): TokenSet {
  // Auth0's rate limit or lockout, passed on: a 429 until its reset, never a 500 (its words stay out).
  if (reply.status === 429) throw rateLimited(reply, 'Too many login requests at the identity provider: try again later');
  const parsed = Tokens.safeParse(reply.body);
  // Its code (never its text) is logged with the 500: which setting the service sent wrong.
  const cause = reply.status === 200 ? undefined : new Error(`auth0-client refused the request: ${errorCodeOf(reply) ?? 'no error code'}`);
  if (reply.status !== 200 || !parsed.success) throw new UpstreamError('auth0-client', 'POST /oauth/token', reply.status, { cause });
  return { accessToken: parsed.data.accessToken, refreshToken: parsed.data.refreshToken, expireAt: parsed.data.expireAt };
}

/** The `sid` cookie the auth0-client set for a website client, with its Max-Age. */
export function sessionCookieOf(reply: UpstreamReply): SessionCookie | undefined {
  const raw = reply.headers['set-cookie'];
  for (const line of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    const [pair = '', ...attributes] = line.split(';');
    const match = /^\s*sid=([^\s;,"\\]+)\s*$/.exec(pair);
    if (!match) continue;
    const maxAge = attributes.map((attribute) => /^\s*max-age=(\d+)\s*$/i.exec(attribute)?.[1]).find(Boolean);
    return { sessionCookie: match[1]!, maxAgeSeconds: maxAge ? Number(maxAge) : DEFAULT_SESSION_SECONDS };
  }
  return undefined;
}
