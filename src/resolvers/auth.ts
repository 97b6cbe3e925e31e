import type { SessionCookie, TokenSet } from '../ports/authenticator.js';
import type { Context } from '../context.js';
import { DomainError, ForbiddenError, InvalidInputError, LockoutStartedError, TooManyRequestsError, UnauthorizedError } from '../errors.js';
import { requireAdmin, requireAuthenticated, SESSION_COOKIE } from './access.js';
import type { Release } from '../infra/login-throttle.js';
import { securityEvent } from './security-events.js';
import { MAX_LOGIN_NAME } from '../domain/input-limits.js';
import { storedUser } from './stored-user.js';

export { MAX_LOGIN_NAME };

export interface LoginResult {
  /** Undefined for website clients: they get the `sid` cookie and an empty body. */
  tokens?: TokenSet;
}

/** The `client-type` the admin console logs in with (console/src/pages/login.tsx). */
export const CONSOLE_CLIENT_TYPE = 'ums-console';

/** The longest password a login (or a password check) takes: any passphrase fits; no hash or upstream gets more. */
export const MAX_LOGIN_PASSWORD = 1024;

/**
 * A login's sizes, checked before anything is counted, hashed or sent: GraphQL took any length (up
 * to BODY_LIMIT_BYTES), each try counted against the name typed and hashed with argon2, or sent to
 * the identity provider.
 */
export function checkLoginSizes(input: { username?: string; password: string }, passwordField = 'password'): void {
  const issues = [
    ...(input.username !== undefined && input.username.length > MAX_LOGIN_NAME
      ? [{ path: ['username'], message: `at most ${MAX_LOGIN_NAME} characters` }]
      : []),
    ...(input.password.length > MAX_LOGIN_PASSWORD ? [{ path: [passwordField], message: 'at most 1,024 characters' }] : []),
  ];
  if (issues.length > 0)
    throw new InvalidInputError(`A username or e-mail takes at most ${MAX_LOGIN_NAME} characters, a password at most 1,024`, issues);
}

/**
 * `POST /oauth/token`: a username or e-mail and a password. Failed attempts count against the
 * account (lockout in the identity provider) and against the client address (throttle here).
 */
export async function login(ctx: Context, input: { username: string; password: string }): Promise<LoginResult> {
  checkLoginSizes(input);
  const { config, loginThrottle } = ctx.deps;
  const clientType = ctx.headers['client-type'];
  const type = typeof clientType === 'string' ? clientType.toLowerCase() : undefined;
  // The admin console is always a website client: its session lives in the HttpOnly sid cookie only.
  const website = type !== undefined && (type === CONSOLE_CLIENT_TYPE || config.WEBSITE_CLIENT_TYPES.includes(type));
  let release: Release;
  try {
    release = loginThrottle.reserve(ctx.ip);
  } catch (error) {
    loginFailed(ctx, input.username, 'throttled');
    throw error;
  }
  const clientTypeName = clientTypeOf(ctx);
  let answer: TokenSet | SessionCookie;
  try {
    answer = await reserved(release, () => ctx.deps.auth.login({ ...input, ip: ctx.ip, website, clientType: clientTypeName }));
  } catch (error) {
    loginRefused(ctx, input.username, error);
    throw error;
  }
  ctx.deps.metrics.login('success');
  const authUserId = 'sessionCookie' in answer ? answer.authUserId : subjectOf(answer.accessToken);
  securityEvent(ctx, 'login.succeeded', { username: input.username, authUserId, website });
  // A provider that answers a session (a website client) gives no tokens: the body stays empty.
  if ('sessionCookie' in answer) {
    ctx.cookies?.set(SESSION_COOKIE, answer.sessionCookie, { maxAgeSeconds: answer.maxAgeSeconds });
    return {};
  }
  return { tokens: answer };
}

/** Counts and logs a refused login: a wrong credential (maybe locking the name), a locked name, or an outage. */
export function loginRefused(ctx: Context, username: string, error: unknown): void {
  if (error instanceof LockoutStartedError) {
    ctx.deps.metrics.lockout();
    securityEvent(ctx, 'login.lockout', { username });
  }
  if (error instanceof UnauthorizedError) loginFailed(ctx, username, 'failure');
  else if (error instanceof TooManyRequestsError) loginFailed(ctx, username, 'locked');
  else ctx.deps.metrics.login('error');
}

function loginFailed(ctx: Context, username: string, outcome: 'failure' | 'locked' | 'throttled'): void {
  ctx.deps.metrics.login(outcome);
  securityEvent(ctx, 'login.failed', { username, reason: outcome === 'failure' ? 'invalid_credentials' : outcome });
}

/** The user an access token was issued to, for the log (not a check: the token was just issued to us). */
function subjectOf(token: string): string | undefined {
  try {
    const sub = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs an attempt reserved against the client address: a success gives it back, and so does a
 * refusal that cost nothing (an account already locked); a 401 keeps it counted.
 */
async function reserved<T>(release: Release, attempt: () => Promise<T>): Promise<T> {
  try {
    const result = await attempt();
    release();
    return result;
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) release();
    throw error;
  }
}

/** The caller's `client-type` header (the gateway sets it from the API key): the auth0-client picks its client by it. */
function clientTypeOf(ctx: Context): string | undefined {
  const clientType = ctx.headers['client-type'];
  return typeof clientType === 'string' ? clientType : undefined;
}

/**
 * The longest refresh token taken (Auth0's are opaque strings of a few dozen characters): a longer
 * one is a 400 before it is hashed or sent to the identity provider, whose answer to a token of up
 * to BODY_LIMIT_BYTES is not documented (spec/auth0.md), and whose 400 or 413 the service answers
 * as an upstream failure (a 500 for the caller's mistake).
 */
export const MAX_REFRESH_TOKEN = 4096;

function checkRefreshTokenSize(refreshToken: string | undefined): void {
  if (refreshToken !== undefined && refreshToken.length > MAX_REFRESH_TOKEN)
    throw new InvalidInputError('A refresh token takes at most 4,096 characters', [
      { path: ['refreshToken'], message: 'at most 4,096 characters' },
    ]);
}

/** `POST /refreshtoken`: the refresh token, with the (possibly expired) access token as bearer. */
export async function refresh(ctx: Context, input: { refreshToken: string }): Promise<TokenSet> {
  checkRefreshTokenSize(input.refreshToken);
  const authorization = ctx.headers.authorization;
  const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
  if (!match) throw new UnauthorizedError('The expired access token is required in the Authorization header');
  return ctx.deps.auth.refresh({ refreshToken: input.refreshToken, accessToken: match[1]!, clientType: clientTypeOf(ctx) });
}

/**
 * `POST /logout`: ends the caller's session (refresh tokens and cookie, or with Auth0 the bearer
 * token itself); `refreshToken`, when sent, is revoked at the provider where it keeps them (Auth0).
 */
export async function logout(ctx: Context, input: { refreshToken?: string | null } = {}): Promise<void> {
  const caller = await requireAuthenticated(ctx);
  if (!caller.claims?.sid) throw new InvalidInputError('Only a user session can be logged out');
  const refreshToken = input.refreshToken ?? undefined;
  checkRefreshTokenSize(refreshToken);
  await ctx.deps.auth.logout(caller.claims.sid, { clientType: clientTypeOf(ctx), claims: caller.claims, refreshToken });
  ctx.cookies?.clear(SESSION_COOKIE);
  securityEvent(ctx, 'session.revoked', { authUserId: caller.authUserId, reason: 'logout' });
}

/**
 * `POST /users/change-password`: administrators for anyone, users for themselves. 204. Each mail
 * carries a live reset ticket, so a user gets at most PASSWORD_EMAIL_MAX_PER_USER of them per
 * window whoever asks (429 beyond), counted before the mail goes out so parallel requests and
 * GraphQL aliases all count; a request refused before any mail (403, 404, 400) counts nothing.
 * Bulk jobs count in the same window (passwords.ts, `send`).
 */
export async function requestPasswordChange(ctx: Context, input: { authUserId: string }): Promise<void> {
  const caller = await requireAuthenticated(ctx);
  if (!caller.admin && caller.authUserId !== input.authUserId) throw new ForbiddenError('You can only change your own password');
  const release = ctx.deps.passwordMailThrottle.reserve(input.authUserId);
  try {
    await ctx.deps.auth.requestPasswordChange(input.authUserId);
  } catch (error) {
    release();
    throw error;
  }
  securityEvent(ctx, 'password_reset.requested', { authUserId: input.authUserId });
}

/**
 * The reset page's form: a ticket from the e-mail and the new password. Public, so throttled per
 * client address (every attempt but the successful ones counts).
 */
export async function resetPassword(ctx: Context, input: { ticket: string; password: string }): Promise<void> {
  const release = ctx.deps.resetThrottle.reserve(ctx.ip);
  const authUserId = await ctx.deps.auth.resetPassword(input.ticket, input.password);
  release();
  securityEvent(ctx, 'password_reset.completed', { authUserId });
}

/**
 * Whether the reset page may show its form for this ticket: it is live. Throttled with the posts,
 * so the page is no oracle for guessing tickets.
 */
export async function checkResetTicket(ctx: Context, ticket: string): Promise<boolean> {
  const release = ctx.deps.resetThrottle.reserve(ctx.ip);
  const live = (await ctx.deps.auth.checkResetTicket?.(ticket)) ?? false;
  if (live) release();
  return live;
}

export async function jwks(ctx: Context): Promise<{ keys: Record<string, unknown>[] }> {
  return ctx.deps.auth.jwks();
}

/** Administrators clear a lockout after too many failed logins. */
export async function unlockUser(ctx: Context, profileId: string): Promise<void> {
  await requireAdmin(ctx);
  const profile = await storedUser(ctx, profileId);
  if (!profile?.authUserId) throw new InvalidInputError(`user ${profileId} has no identity to unlock`);
  await ctx.deps.auth.unlock(profile.authUserId);
  securityEvent(ctx, 'account.unlocked', { userId: profileId, authUserId: profile.authUserId });
}

/** Mail kept in the embedded outbox (when no SMTP_URL is set), newest first. Administrators only. */
export async function listOutbox(ctx: Context, page: { limit: number; offset: number }) {
  await requireAdmin(ctx);
  if (!ctx.deps.outbox) throw new InvalidInputError('SMTP_URL is set: mail is sent, not kept in the outbox');
  return ctx.deps.outbox.list(page);
}

/** Sends the password e-mail of a newly created identity unless the caller said not to. */
export async function sendWelcomeReset(ctx: Context, authUserId: string, send: boolean | undefined): Promise<void> {
  if (send === false) return;
  try {
    await ctx.deps.auth.requestPasswordChange(authUserId);
    securityEvent(ctx, 'password_reset.requested', { authUserId, reason: 'new_user' });
  } catch (error) {
    // The user exists either way; a mail problem must not undo it.
    const level = error instanceof DomainError && error.status < 500 ? 'warn' : 'error';
    ctx.deps.logger[level]({ err: error, authUserId, requestId: ctx.requestId }, 'could not send the password e-mail');
  }
}
