import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import type { AccessClaims, TokenSet } from '../ports/authenticator.js';
import type { Clock } from '../ports/clock.js';
import { UnauthorizedError } from '../errors.js';
import type { CredentialRow, Profile } from './credentials.js';
import type { Session, Sessions } from './sessions.js';
import { ALGORITHM, type SigningKeys } from './signing-keys.js';

export interface TokenParts {
  keys: SigningKeys;
  /** The issued-at time (the sessions' clock, in seconds). */
  sessions: Sessions;
  /** The verification time. */
  clock: Clock;
  issuer: string;
  accessTokenTtl: number;
}

/** What a token is issued for: the user, its profile (for the group) and the session it names. */
export interface Grant {
  row: CredentialRow;
  profile: Profile | undefined;
  session: Session & { refreshToken: string };
}

/**
 * The embedded provider's access tokens: signed with the current key, verified against every
 * published one.
 */
export function createAccessTokens(parts: TokenParts) {
  return {
    issue: (grant: Grant) => tokensFor(parts, grant),
    verify: (token: string, at?: Date) => verifyClaims(parts, token, at),
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;

async function tokensFor(parts: TokenParts, { row, profile, session }: Grant): Promise<TokenSet> {
  const { kid, key } = await parts.keys.current();
  const iat = parts.sessions.now();
  const expireAt = iat + parts.accessTokenTtl;
  const accessToken = await new SignJWT({
    sid: session.id,
    username: row.username ?? undefined,
    email: row.email ?? undefined,
    email_verified: row.email_verified === 1,
    userGroup: profile?.userGroup,
  })
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'JWT' })
    .setSubject(row.id)
    .setIssuer(parts.issuer)
    .setIssuedAt(iat)
    .setExpirationTime(expireAt)
    .sign(key);
  return { accessToken, refreshToken: session.refreshToken, expireAt };
}

async function verifyClaims(parts: TokenParts, token: string, at?: Date): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(token, parts.keys.getKey(), {
      issuer: parts.issuer,
      algorithms: [ALGORITHM],
      currentDate: at ?? new Date(parts.clock.now()),
    });
    return payload as AccessClaims;
  } catch {
    throw new UnauthorizedError('Invalid or expired access token');
  }
}

export function safeDecode(token: string): { iat?: number } {
  try {
    return decodeJwt(token);
  } catch {
    throw new UnauthorizedError('Invalid access token');
  }
}
