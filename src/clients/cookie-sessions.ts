import type { AccessClaims } from '../ports/authenticator.js';
import type { IdentityUser } from '../ports/identity-provider.js';
import type { Sessions } from '../embedded/sessions.js';
import { UnauthorizedError } from '../errors.js';

/**
 * The claims of a website client's `sid` cookie when the identity provider keeps no session of
 * ours (Auth0, auth0-client): the session is in the embedded store, the user is read (cached) from
 * the provider, and a blocked user's cookie stops working.
 */
export async function cookieClaims(
  sessions: Sessions,
  cookie: string,
  lookup: (authUserId: string) => Promise<IdentityUser | undefined>,
): Promise<AccessClaims> {
  const session = sessions.byCookie(cookie);
  const user = session && (await lookup(session.authUserId));
  if (!session || !user || user.blocked) throw new UnauthorizedError('Session ended');
  const now = sessions.now();
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
