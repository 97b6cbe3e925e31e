import type { ServerResponse } from 'node:http';
import { serialize } from 'cookie';
import type { CookieJar, Deps } from './context.js';

/**
 * Cookies as the usage page describes the `sid` session: HttpOnly, SameSite=Lax, Secure by default.
 * Written on node:http's response, so the Express routes and the paths answered before Express
 * (graphql-http.ts) set them the same way: the attributes and serializer of Express's `res.cookie`
 * (an `Expires` next to `Max-Age`), appended to any Set-Cookie already there.
 */
export function cookieJar(res: ServerResponse, deps: Deps): CookieJar {
  return new ResponseCookies(res, deps.config.COOKIE_SECURE);
}

/** A class, so that a request that sets no cookie (nearly all) costs one small object, not closures. */
class ResponseCookies implements CookieJar {
  private readonly options: { httpOnly: true; sameSite: 'lax'; secure: boolean; path: '/' };

  constructor(
    private readonly res: ServerResponse,
    secure: boolean,
  ) {
    this.options = { httpOnly: true, sameSite: 'lax', secure, path: '/' };
  }

  set(name: string, value: string, { maxAgeSeconds }: { maxAgeSeconds: number }): void {
    const maxAgeMs = maxAgeSeconds * 1000;
    this.append(serialize(name, value, { ...this.options, expires: new Date(Date.now() + maxAgeMs), maxAge: Math.floor(maxAgeMs / 1000) }));
  }

  clear(name: string): void {
    this.append(serialize(name, '', { ...this.options, expires: new Date(1) }));
  }

  private append(line: string): void {
    const previous = this.res.getHeader('set-cookie');
    if (previous === undefined) this.res.setHeader('Set-Cookie', line);
    else this.res.setHeader('Set-Cookie', [...(Array.isArray(previous) ? previous : [String(previous)]), line]);
  }
}
