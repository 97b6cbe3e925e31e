import { z } from 'zod';
import type { Context } from '../context.js';
import { DomainError, InvalidInputError, TooManyRequestsError } from '../errors.js';
import {
  checkResetTicket,
  jwks,
  login,
  logout,
  MAX_LOGIN_NAME,
  MAX_LOGIN_PASSWORD,
  refresh,
  requestPasswordChange,
  resetPassword,
} from '../resolvers/auth.js';
import { userinfo } from '../resolvers/userinfo.js';
import { parseInput } from '../resolvers/inputs.js';
import { INVALID_RESET_LINK, RESET_PAGE_HEADERS, resetDone, resetError, resetForm } from './reset-page.js';
import type { RestRequest, Route } from './route.js';
import { ErrorBody, Jwks, Tokens, Userinfo } from './openapi-schemas.js';

const LoginBody = z.object({
  username: z.string().min(1).max(MAX_LOGIN_NAME).meta({ description: 'The username or the e-mail address.' }),
  password: z.string().min(1).max(MAX_LOGIN_PASSWORD),
});
const RefreshBody = z.object({ refreshToken: z.string().min(1) });
const LogoutBody = z.object({
  refreshToken: z.string().min(1).optional().meta({
    description: 'With Auth0: the refresh token of the pair, revoked at Auth0 (otherwise it stays valid there until it expires).',
  }),
});
const ChangePasswordBody = z.object({ authUserId: z.string().min(1) });
const ResetBody = z.object({ ticket: z.string().min(1), password: z.string() });
const ResetQuery = z.object({ ticket: z.string().min(1) });

const body = <T extends z.ZodType>(schema: T, request: RestRequest) => parseInput(schema, request.body ?? undefined, 'body');

const NO_STORE = { 'Cache-Control': 'no-store' };

const RETRY_AFTER = { 'Retry-After': 'Seconds to wait before trying again.' };
const SHARED_500 = 'The password could not be changed: an upstream failed, or an unexpected error.';
const RESET_FAILURE = (description: string, json = false) => ({ description, html: true as const, ...(json && { json: ErrorBody }) });

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
    doc: {
      tag: 'Authentication',
      summary: 'Log in',
      description:
        'A username (or e-mail) and a password for an access token and a refresh token. A website client (its `client-type` ' +
        'header in WEBSITE_CLIENT_TYPES) gets the session as the `sid` cookie and an empty body. Failed attempts count ' +
        'against the account (lockout) and against the client address.',
      headers: { 'client-type': 'One of WEBSITE_CLIENT_TYPES for a cookie session instead of tokens.' },
      body: { json: LoginBody },
      responses: {
        200: {
          description: 'Logged in: the tokens, or for a website client the `sid` cookie and no body.',
          json: Tokens,
          headers: { 'Set-Cookie': 'The `sid` cookie, for a website client.' },
        },
      },
      errors: {
        401: 'Wrong username or password, or a blocked user.',
        429: {
          description: 'Too many failed attempts from this address, or the account is locked.',
          json: ErrorBody,
          headers: RETRY_AFTER,
        },
      },
    },
    handle: async (ctx, request) => (await login(ctx, body(LoginBody, request))).tokens,
  },
  {
    method: 'post',
    path: '/refreshtoken',
    status: 200,
    access: 'public',
    headers: NO_STORE,
    doc: {
      tag: 'Authentication',
      summary: 'Refresh the tokens',
      description:
        'A refresh token, with the access token it came with (expired or not) as `Authorization: Bearer <accessToken>`, ' +
        'for a new pair. A refresh token is used once: the old one stops working.',
      body: { json: RefreshBody },
      responses: { 200: { description: 'A new pair.', json: Tokens } },
      errors: {
        401: 'No access token, or a refresh token that is unknown, used already, revoked, or sent with another access token than its own.',
        429: {
          description: "The identity provider's rate limit for this caller (Auth0, the auth0-client).",
          json: ErrorBody,
          headers: RETRY_AFTER,
        },
      },
    },
    handle: (ctx, request) => refresh(ctx, body(RefreshBody, request)),
  },
  {
    method: 'get',
    path: '/userinfo',
    status: 200,
    access: 'authenticated',
    headers: NO_STORE,
    doc: {
      tag: 'Authentication',
      summary: 'Who is logged in',
      description: 'The claims of the caller merged with the properties of its profile that USERINFO_ADDITIONAL_PROPERTIES chooses.',
      responses: { 200: { description: 'The caller.', json: Userinfo } },
      errors: {
        400: 'An acl_rows header that is no JSON filter (or array of filters): the profile is read through it.',
        401: 'Not logged in (an API key or a profile without identity: "Missing authUserId, user not logged").',
        403: null,
      },
    },
    handle: (ctx) => userinfo(ctx),
  },
  {
    method: 'post',
    path: '/users/change-password',
    status: 204,
    access: 'authenticated',
    doc: {
      tag: 'Authentication',
      summary: 'Send a change-password e-mail',
      description:
        'Asks the identity provider to e-mail the user a link to set a new password: an administrator for anyone, a user for itself. ' +
        'At most PASSWORD_EMAIL_MAX_PER_USER e-mails per user per window.',
      body: { json: ChangePasswordBody },
      responses: { 204: { description: 'The e-mail is on its way.' } },
      errors: {
        404: 'No identity user with this id.',
        429: { description: 'Too many e-mails to this user lately.', json: ErrorBody, headers: RETRY_AFTER },
      },
    },
    handle: (ctx, request) => requestPasswordChange(ctx, body(ChangePasswordBody, request)),
  },
  {
    method: 'post',
    path: '/logout',
    status: 204,
    access: 'authenticated',
    doc: {
      tag: 'Authentication',
      summary: 'Log out',
      description:
        'Ends the session of the access token or the `sid` cookie: its refresh tokens stop working and the cookie is cleared. ' +
        'With Auth0 the access token itself is refused from then on, by every replica.',
      body: { json: LogoutBody, optional: true },
      responses: { 204: { description: 'Logged out.' } },
      errors: {
        400: 'The caller is not a user session (an API key).',
        403: null,
        429: {
          description: "Auth0's rate limit for revoking the refresh token: nothing was ended, ask again.",
          json: ErrorBody,
          headers: RETRY_AFTER,
        },
      },
    },
    handle: (ctx, request) => logout(ctx, request.body == null ? {} : body(LogoutBody, request)),
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    status: 200,
    access: 'public',
    doc: {
      tag: 'Authentication',
      summary: 'The token signing keys',
      description: 'The public keys (JWKS) that verify the access tokens the service signs, for a gateway or another service.',
      responses: { 200: { description: 'The keys.', json: Jwks } },
    },
    handle: (ctx) => jwks(ctx),
  },
  {
    method: 'get',
    path: '/password-reset',
    status: 200,
    access: 'public',
    headers: RESET_PAGE_HEADERS,
    doc: {
      tag: 'Authentication',
      summary: 'The password-reset page',
      description: 'The page the password e-mail links to: a form for the new password, or why the link is dead.',
      query: ResetQuery,
      responses: { 200: { description: 'The form.', html: true } },
      errors: {
        400: RESET_FAILURE('A dead link: invalid, expired or used already.'),
        429: { ...RESET_FAILURE('Too many attempts.'), headers: RETRY_AFTER },
        500: RESET_FAILURE('The ticket could not be checked.'),
        503: null,
      },
    },
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
    doc: {
      tag: 'Authentication',
      summary: 'Set a new password',
      description:
        'The ticket of a reset link and the new password. The reset page posts its form here and gets a page back; ' +
        'a JSON body gets 204 and JSON errors.',
      body: { json: ResetBody, form: ResetBody },
      responses: {
        200: { description: 'The form was posted: the password is changed, the page says so.', html: true },
        204: { description: 'The password is changed.' },
      },
      errors: {
        400: RESET_FAILURE('A dead ticket, or a password the policy refuses (the form again, with the reason).', true),
        429: { ...RESET_FAILURE('Too many attempts.', true), headers: RETRY_AFTER },
        500: RESET_FAILURE(SHARED_500, true),
      },
    },
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
