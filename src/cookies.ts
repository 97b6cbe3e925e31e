import type { Response } from 'express';
import type { CookieJar, Deps } from './context.js';

/** Cookies as the usage page describes the `sid` session: HttpOnly, SameSite=Lax, Secure by default. */
export function cookieJar(res: Response, deps: Deps): CookieJar {
  const options = { httpOnly: true, sameSite: 'lax' as const, secure: deps.config.COOKIE_SECURE, path: '/' };
  return {
    set: (name, value, { maxAgeSeconds }) => res.cookie(name, value, { ...options, maxAge: maxAgeSeconds * 1000 }),
    clear: (name) => res.clearCookie(name, options),
  };
}
