import { hash, timingSafeEqual } from 'node:crypto';
import { parse as parseCookies } from 'cookie';
import type { AccessClaims, VerifyOptions } from '../ports/authenticator.js';
import type { Caller, Context, HeaderBag } from '../context.js';
import { DomainError, ForbiddenError, UnauthorizedError } from '../errors.js';
import { atDeadline, type CallerKind, currentRequest } from '../deadline.js';

export const SESSION_COOKIE = 'sid';

/** Resolves the caller once per request (API key, bearer token, `sid` cookie, or gateway headers). */
export function getCaller(ctx: Context): Promise<Caller> {
  ctx.caller ??= resolveCaller(ctx).then((caller) => noteCaller(ctx, caller));
  return ctx.caller;
}

/** The request's access-log line names the kind of caller it found (observability/requests.ts). */
function noteCaller(ctx: Context, caller: Caller): Caller {
  const scope = currentRequest();
  if (scope) scope.caller = callerKind(caller, ctx.deps.config.ACCESS_CONTROL === 'builtin');
  return caller;
}

function callerKind(caller: Caller, builtin: boolean): CallerKind {
  if (caller.kind === 'apiKey') return 'service';
  if (caller.kind === 'user') return builtin && caller.admin ? 'admin' : 'user';
  return caller.kind;
}

/** Management operations: administrators and API keys (every caller behind a gateway). */
export async function requireAdmin(ctx: Context): Promise<Caller> {
  const caller = await requireAuthenticated(ctx);
  if (!caller.admin) throw new ForbiddenError('This operation needs an administrator');
  return caller;
}

/**
 * For work that outlives its request's first check (a `jobProgress` stream): the credential is
 * read again, as a new request's would be, so a logout, a block or a demotion ends what the
 * caller had opened. False once the caller may no longer do it; an outage still throws. It gets a
 * new request's deadline too: the first request's (REQUEST_TIMEOUT_MS after it arrived) is long
 * gone, and would cut the profile, Auth0 or auth0-client read once their caches expire.
 */
export async function stillAdmin(ctx: Context): Promise<boolean> {
  ctx.caller = undefined;
  try {
    await atDeadline(Date.now() + ctx.deps.config.REQUEST_TIMEOUT_MS, () => requireAdmin(ctx));
    return true;
  } catch (error) {
    if (error instanceof DomainError && error.status < 500) return false;
    throw error;
  }
}

/** Own-session operations (`/userinfo`, `me`, logout, own password): any authenticated caller. */
export async function requireAuthenticated(ctx: Context): Promise<Caller> {
  const caller = await getCaller(ctx);
  if (caller.kind === 'anonymous') throw new UnauthorizedError('Authentication required: a bearer token, a sid cookie or an API key');
  if (ctx.deps.config.ACCESS_CONTROL === 'builtin') {
    ctx.scope.actorId = caller.actorId;
    ctx.scope.headers[ctx.deps.config.USERID_HEADER_KEY] = caller.actorId;
  }
  return caller;
}

async function resolveCaller(ctx: Context): Promise<Caller> {
  const { config } = ctx.deps;
  const apiKey = header(ctx, 'x-api-key');
  if (apiKey !== undefined) {
    const position = apiKeyPosition(apiKey, config.API_KEYS);
    if (position === undefined) throw new UnauthorizedError('Unknown API key');
    return { kind: 'apiKey', admin: true, actorId: 'api-key', apiKey: position };
  }
  if (config.ACCESS_CONTROL === 'gateway') {
    // Behind a gateway that authorizes: everyone may manage; a token only says who is calling.
    const claims = await tokenClaims(ctx).catch(() => undefined);
    const actorId = header(ctx, config.USERID_HEADER_KEY) || claims?.sub || 'public';
    return { kind: claims ? 'user' : 'gateway', admin: true, authUserId: claims?.sub, claims, actorId };
  }
  // Read once per request: the authenticator checks its identity cache against it, then the access check.
  const reads = new Map<string, ReturnType<typeof ctx.deps.callerProfiles.get>>();
  const profileOf = (sub: string) => reads.get(sub) ?? reads.set(sub, ctx.deps.callerProfiles.get(sub)).get(sub)!;
  const claims = await tokenClaims(ctx, { profileVersion: async (sub) => (await profileOf(sub))?.version });
  if (claims) {
    // The profile as it is now, not the token's claims: a demoted, blocked or deleted user's
    // token must not keep the rights it was issued with.
    const profile = await profileOf(claims.sub);
    if (profile && (profile.state !== 'PUBLIC' || profile.blocked)) throw new UnauthorizedError('Session ended');
    const admin = profile?.userGroup !== undefined && config.ADMIN_GROUPS.includes(profile.userGroup);
    return { kind: 'user', admin, authUserId: claims.sub, claims, actorId: claims.sub };
  }
  return { kind: 'anonymous', admin: false, actorId: 'public' };
}

/**
 * Claims of the bearer token or of the `sid` cookie's session; undefined when neither is sent. The
 * caller's `client-type` goes along, whatever the access mode: the auth0-client answers for that client.
 */
async function tokenClaims(ctx: Context, verify: VerifyOptions = {}): Promise<AccessClaims | undefined> {
  const options = { ...verify, clientType: header(ctx, 'client-type') };
  const authorization = header(ctx, 'authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw new UnauthorizedError('Authorization must be "Bearer <token>"');
    return ctx.deps.auth.verifyAccessToken(match[1]!, options);
  }
  const cookie = sessionCookie(ctx);
  if (cookie === undefined || cookie === '') return undefined;
  // The cookie parser percent-decodes: a value with a CR, LF or NUL was passed on in the auth0-client's
  // `cookie` header, which undici refused, a 503 counted by that upstream's breaker (DoS by anyone).
  if (!COOKIE_VALUE.test(cookie)) throw new UnauthorizedError('Session ended');
  return ctx.deps.auth.verifySessionCookie(cookie, options);
}

/** A cookie value as RFC 6265 `cookie-octet`s: what every provider issues and what a header may carry. */
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{1,4096}$/;

export function sessionCookie(ctx: Context): string | undefined {
  return cookieOf(header(ctx, 'cookie'));
}

/** Whether a request carries the `sid` cookie (it may be what authenticates it). */
export function hasSessionCookie(headers: HeaderBag): boolean {
  const raw = headers.cookie;
  return cookieOf(Array.isArray(raw) ? raw[0] : raw) !== undefined;
}

function cookieOf(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const cookies = parseCookies(raw);
  return Object.hasOwn(cookies, SESSION_COOKIE) ? cookies[SESSION_COOKIE] : undefined;
}

/** Compares digests so neither the length nor the content leaks through timing. */
/** The key's position in API_KEYS (from 1), or undefined; every key is compared, in constant time. */
function apiKeyPosition(candidate: string, keys: readonly string[]): number | undefined {
  const digest = sha256(candidate);
  let found: number | undefined;
  keyDigests(keys).forEach((key, index) => {
    if (timingSafeEqual(digest, key)) found ??= index + 1;
  });
  return found;
}

/**
 * Whom a per-caller limit counts: the actor, or for an API key the key itself (all keys share the
 * actor `api-key`, and one integration must not use up the places of another).
 */
export function limitedCaller(caller: Caller): string {
  return caller.apiKey === undefined ? caller.actorId : `api-key#${caller.apiKey}`;
}

/** Digests of the configured keys, computed once per key list. */
const digestsByKeys = new WeakMap<readonly string[], Buffer[]>();
function keyDigests(keys: readonly string[]): Buffer[] {
  let digests = digestsByKeys.get(keys);
  if (!digests) digestsByKeys.set(keys, (digests = keys.map(sha256)));
  return digests;
}

function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

function header(ctx: Context, name: string): string | undefined {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
