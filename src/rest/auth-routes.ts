import { z } from 'zod';
import { DomainError } from '../errors.js';
import { jwks, login, logout, refresh, requestPasswordChange, resetPassword, userinfo } from '../resolvers/auth.js';
import { parseInput } from '../resolvers/inputs.js';
import { resetDone, resetForm } from './reset-page.js';
import type { RestRequest, Route } from './routes.js';

const LoginBody = z.object({ username: z.string().min(1), password: z.string().min(1).max(1024) });
const RefreshBody = z.object({ refreshToken: z.string().min(1) });
const ChangePasswordBody = z.object({ authUserId: z.string().min(1) });
const ResetBody = z.object({ ticket: z.string().min(1), password: z.string() });
const ResetQuery = z.object({ ticket: z.string().min(1) });

const body = <T extends z.ZodType>(schema: T, request: RestRequest) => parseInput(schema, request.body ?? undefined, 'body');

/** The "Authentication Management" paths, plus logout, the JWKS and the password-reset page. */
export const authRoutes: Route[] = [
  {
    method: 'post',
    path: '/oauth/token',
    status: 200,
    access: 'public',
    handle: async (ctx, request) => (await login(ctx, body(LoginBody, request))).tokens,
  },
  {
    method: 'post',
    path: '/refreshtoken',
    status: 200,
    access: 'public',
    handle: (ctx, request) => refresh(ctx, body(RefreshBody, request)),
  },
  { method: 'get', path: '/userinfo', status: 200, access: 'authenticated', handle: (ctx) => userinfo(ctx) },
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
    handle: async (_ctx, request) => resetForm(parseInput(ResetQuery, request.query, 'querystring').ticket),
  },
  {
    method: 'post',
    path: '/password-reset',
    status: 204,
    access: 'public',
    // The one form route: the reset page posts its form here.
    body: { form: true },
    handle: async (ctx, request) => {
      const input = body(ResetBody, request);
      if (!request.form) return resetPassword(ctx, input);
      // The HTML form: answer with a page, and show the problem on the form again.
      try {
        await resetPassword(ctx, input);
        return resetDone();
      } catch (error) {
        if (error instanceof DomainError && error.status < 500) return resetForm(input.ticket, error.message);
        throw error;
      }
    },
  },
];
