import type { AccessClaims } from '../ports/authenticator.js';
import type { Clock } from '../ports/clock.js';
import type { IdentityUser } from '../ports/identity-provider.js';
import type { SessionStore } from '../ports/session-store.js';
import { nowSeconds } from '../domain/clock.js';
import { UnauthorizedError } from '../errors.js';

/**
 * The claims of a website client's `sid` cookie when the identity provider keeps no session of
 * ours (Auth0): the session is read from the SessionStore on every request, the user from the
 * provider (through `lookup`), and a blocked or deleted user's cookie stops working.
 */
export async function cookieClaims(input: {
  sessions: SessionStore;
  clock: Clock;
  cookie: string;
  lookup: (authUserId: string) => Promise<IdentityUser | undefined>;
}): Promise<AccessClaims> {
  const session = await input.sessions.byCookie(input.cookie);
  const user = session && (await input.lookup(session.authUserId));
  if (!session || !user || user.blocked) throw new UnauthorizedError('Session ended');
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
