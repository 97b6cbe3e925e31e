import { z } from 'zod';
import type { Context } from '../context.js';
import { DomainError, InvalidInputError, TooManyRequestsError } from '../errors.js';
import { checkResetTicket, jwks, login, logout, refresh, requestPasswordChange, resetPassword, userinfo } from '../resolvers/auth.js';
import { parseInput } from '../resolvers/inputs.js';
import { INVALID_RESET_LINK, RESET_PAGE_HEADERS, resetDone, resetError, resetForm } from './reset-page.js';
import type { RestRequest, Route } from './route.js';

const LoginBody = z.object({ username: z.string().min(1), password: z.string().min(1).max(1024) });
const RefreshBody = z.object({ refreshToken: z.string().min(1) });
const ChangePasswordBody = z.object({ authUserId: z.string().min(1) });
const ResetBody = z.object({ ticket: z.string().min(1), password: z.string() });
const ResetQuery = z.object({ ticket: z.string().min(1) });

const body = <T extends z.ZodType>(schema: T, request: RestRequest) => parseInput(schema, request.body ?? undefined, 'body');

const NO_STORE = { 'Cache-Control': 'no-store' };

/**
 * The reset page answers in HTML whatever happens: a problem with the password shows the form
 * again, anything else (a dead link, too many attempts, an outage) a page without it.
 */
async function htmlAnswer(ctx: Context, page: () => Promise<unknown>): Promise<unknown> {
  try {
    return await page();
  } catch (error) {
    if (error instanceof TooManyRequestsError) return resetError(429, error.message, { 'Retry-After': String(error.retryAfterSeconds) });
    if (error instanceof DomainError && error.status < 500) return resetError(error.status, error.message);
    ctx.deps.logger.error({ err: error, requestId: ctx.requestId }, 'password reset failed');
    return resetError(500, 'The password could not be changed. Try again later.');
  }
}

/** An invalid ticket is reported on the ticket: the link is dead, there is no form to show again. */
function isTicketError(error: unknown): boolean {
  return error instanceof InvalidInputError && error.issues.some((issue) => issue.path.includes('ticket'));
}

/** The "Authentication Management" paths, plus logout, the JWKS and the password-reset page. */
export const authRoutes: Route[] = [
  {
    method: 'post',
    path: '/oauth/token',
    status: 200,
    access: 'public',
    headers: NO_STORE,
    handle: async (ctx, request) => (await login(ctx, body(LoginBody, request))).tokens,
  },
  {
    method: 'post',
    path: '/refreshtoken',
    status: 200,
    access: 'public',
    headers: NO_STORE,
    handle: (ctx, request) => refresh(ctx, body(RefreshBody, request)),
  },
  {
    method: 'get',
    path: '/userinfo',
    status: 200,
    access: 'authenticated',
    headers: NO_STORE,
    handle: (ctx) => userinfo(ctx),
  },
  {
    method: 'post',
    path: '/users/change-password',
    status: 204,
    access: 'authenticated',
    handle: (ctx, request) => requestPasswordChange(ctx, body(ChangePasswordBody, request)),
  },
  { method: 'post', path: '/logout', status: 204, access: 'authenticated', handle: (ctx) => logout(ctx) },
  { method: 'get', path: '/.well-known/jwks.json', status: 200, access: 'public', handle: (ctx) => jwks(ctx) },
  {
    method: 'get',
    path: '/password-reset',
    status: 200,
    access: 'public',
    headers: RESET_PAGE_HEADERS,
    // The form only for a live ticket: a dead link says so instead of taking a password in vain.
    handle: (ctx, request) =>
      htmlAnswer(ctx, async () => {
        const { ticket } = parseInput(ResetQuery, request.query, 'querystring');
        return (await checkResetTicket(ctx, ticket)) ? resetForm(ticket) : resetError(400, INVALID_RESET_LINK);
      }),
  },
  {
    method: 'post',
    path: '/password-reset',
    status: 204,
    access: 'public',
    headers: RESET_PAGE_HEADERS,
    // The one form route: the reset page posts its form here.
    body: { form: true },
    handle: async (ctx, request) => {
      if (!request.form) return resetPassword(ctx, body(ResetBody, request));
      return htmlAnswer(ctx, async () => {
        const input = body(ResetBody, request);
        try {
          await resetPassword(ctx, input);
          return resetDone();
        } catch (error) {
          if (isTicketError(error)) return resetError(400, INVALID_RESET_LINK);
          if (error instanceof InvalidInputError) return resetForm(input.ticket, error.message);
          throw error;
        }
      });
    },
  },
];
