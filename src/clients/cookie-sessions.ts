import type { AccessClaims } from '../ports/authenticator.js';
import type { Clock } from '../ports/clock.js';
import type { IdentityUser } from '../ports/identity-provider.js';
import type { SessionStore } from '../ports/session-store.js';
import { nowSeconds } from '../domain/clock.js';
import { UnauthorizedError } from '../errors.js';

/**
 * The claims of a website client's `sid` cookie when the identity provider keeps no session of
 * ours (Auth0): the session is read from the SessionStore on every request, the user from the
 * provider (through `lookup`), and a blocked or deleted user's cookie stops working: its session
 * ends, as when the block goes through the service. Otherwise a user blocked at the provider
 * itself (whose block is read again on each request) made every request with the cookie a
 * Management API read, spending the tenant's rate limit for everyone.
 */
export async function cookieClaims(input: {
  sessions: SessionStore;
  clock: Clock;
  cookie: string;
  lookup: (authUserId: string) => Promise<IdentityUser | undefined>;
}): Promise<AccessClaims> {
  const session = await input.sessions.byCookie(input.cookie);
  if (!session) throw new UnauthorizedError('Session ended');
  const user = await input.lookup(session.authUserId);
  if (!user || user.blocked) {
    // Refused either way: a store that fails to end the session only costs the next request a read.
    await input.sessions.revoke(session.id).catch(() => undefined);
    throw new UnauthorizedError('Session ended');
  }
  const now = nowSeconds(input.clock);
  return {
    sub: user.id,
    sid: session.id,
    iat: now,
    exp: now,
    username: user.username,
    email: user.email,
    email_verified: user.emailVerified,
  };
}
