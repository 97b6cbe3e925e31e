import { hash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { type AccessClaims, INVALID_REFRESH, type TokenSet } from '../ports/authenticator.js';
import { UnauthorizedError } from '../errors.js';
import type { RefreshPair, SessionStore } from '../ports/session-store.js';

/**
 * Bearer tokens a connected provider signs without a session of ours (Auth0's, the auth0-client's):
 * the token is its own session, `bearer:` and its SHA-256, and a logout denies that digest in the
 * SessionStore (docs/decisions.md, Auth0 "Sessions"). A provider's own session ids never start so.
 */
const BEARER_SESSION = 'bearer:';

/** What the deny-list keeps of a bearer token: its SHA-256, never the token. */
export function tokenDigest(token: string): string {
  return hash('sha256', token, 'base64url');
}

/** The session id of a bearer token's claims, from the token's digest. */
export function bearerSessionId(digest: string): string {
  return `${BEARER_SESSION}${digest}`;
}

/** The digest a bearer session id names; undefined for any other session (a cookie's). */
export function deniedDigestOf(sessionId: string): string | undefined {
  return sessionId.startsWith(BEARER_SESSION) ? sessionId.slice(BEARER_SESSION.length) : undefined;
}

/**
 * Denies the caller's bearer token until it expires, or for `keepSeconds` from `now` when its
 * refresh token stays alive at the provider: `/refreshtoken` needs that access token, expired or not.
 */
export function denyBearer(
  sessions: SessionStore,
  digest: string,
  claims: AccessClaims,
  { now, keepSeconds }: { now: number; keepSeconds: number },
): Promise<void> {
  return sessions.denyToken(digest, { authUserId: claims.sub, until: Math.max(claims.exp, now + keepSeconds) });
}

/**
 * How long the pair a refresh token was exchanged for is still honoured: the provider may take a
 * used refresh token again for a short while (Auth0's rotation leeway), and with the access token
 * it came with only.
 */
const REPLACED_PAIR_SECONDS = 600;

/**
 * The access tokens of one refresh chain a pair remembers, newest first: a bearer logout ends them
 * all, as the embedded provider ends every token of a session. Older ones are forgotten (a client
 * refreshing in a loop must not grow a pair): a token more than MAX_CHAIN refreshes old outlives
 * the logout of the newest until its `exp` (docs/security.md, "Left").
 */
export const MAX_CHAIN = 32;

/**
 * A bearer logout: every other access token of the caller's refresh chain (one read: the tokens it
 * replaced through refreshes and those that replaced it), then the caller's own, so that a failure
 * leaves the caller's token working and the logout can be asked again. The chain's newest token is
 * denied for `refreshTokenSeconds` (its refresh token stays alive at the provider unless it is the
 * caller's and `keepSeconds` is 0), the others for `tokenSeconds` (an access token's lifetime, at
 * least the grace a replaced pair keeps), past which none of them is still valid.
 */
export async function denyBearerChain(
  sessions: SessionStore,
  digest: string,
  claims: AccessClaims,
  times: { now: number; keepSeconds: number; tokenSeconds: number; refreshTokenSeconds: number },
): Promise<void> {
  const { now, tokenSeconds, refreshTokenSeconds } = times;
  const denyOthers = async (chain: string[], done: ReadonlySet<string>) => {
    const others = chain.slice(0, MAX_CHAIN).filter((other) => other !== digest && !done.has(other));
    await Promise.all(
      others.map((other) =>
        sessions.denyToken(other, {
          authUserId: claims.sub,
          until: now + (other === chain[0] ? refreshTokenSeconds : Math.max(tokenSeconds, REPLACED_PAIR_SECONDS)),
        }),
      ),
    );
  };
  const chain = (await sessions.chainOf(digest)) ?? [];
  await denyOthers(chain, new Set());
  await denyBearer(sessions, digest, claims, times);
  // Read again once the caller's token is denied: a refresh of the chain that passed its check
  // before that denial and wrote its pair after the first read is seen now (refusedIfLoggedOut
  // sees the rest: a refresh that wrote its pair after this read).
  const later = (await sessions.chainOf(digest)) ?? [];
  if (later.some((other) => !chain.includes(other))) await denyOthers(later, new Set(chain));
}

/**
 * After a refresh wrote its pair: when the access token it was asked with has been denied
 * meanwhile (a logout of the chain under way), the new access token is denied too (its refresh
 * token is alive: for `keepSeconds`) and the refresh refused. A logout that read the chain before
 * the pair was written did not see the new token.
 */
export async function refusedIfLoggedOut(
  sessions: SessionStore,
  asked: string,
  issued: TokenSet,
  { now, keepSeconds }: { now: number; keepSeconds: number },
): Promise<void> {
  if (!(await sessions.isTokenDenied(tokenDigest(asked)))) return;
  const authUserId = subjectOf(issued.accessToken) ?? '';
  await sessions.denyToken(tokenDigest(issued.accessToken), { authUserId, until: now + keepSeconds });
  throw new UnauthorizedError('Invalid or expired access token');
}

/**
 * Remembers the access token a refresh token was issued with, for `keepSeconds` (REFRESH_TOKEN_TTL):
 * a bearer logout denies the access token, and `/refreshtoken` takes the refresh token with that
 * token only, so a logout without `refreshToken` ends it too (docs/decisions.md, Auth0 "Sessions").
 * `replaces`: the refresh token just exchanged for this pair, and `follows` the chain of its pair
 * (what `checkPair` read): the new pair's chain is its access token and that one, in the same write.
 */
export function pairTokens(
  sessions: SessionStore,
  tokens: TokenSet,
  { now, keepSeconds, replaces, follows = [] }: { now: number; keepSeconds: number; replaces?: string; follows?: string[] },
): Promise<void> {
  const accessDigest = tokenDigest(tokens.accessToken);
  return sessions.pairRefreshToken(tokenDigest(tokens.refreshToken), {
    accessDigest,
    authUserId: subjectOf(tokens.accessToken) ?? '',
    until: now + keepSeconds,
    chain: [accessDigest, ...follows.filter((digest) => digest !== accessDigest)].slice(0, MAX_CHAIN),
    ...(replaces === undefined
      ? {}
      : { replaces: { refreshDigest: tokenDigest(replaces), until: now + Math.min(REPLACED_PAIR_SECONDS, keepSeconds) } }),
  });
}

/**
 * Refuses a refresh token sent with another access token than the one it was issued with (a live
 * token of the same user after the logout of its own). A refresh token the service did not issue
 * (an earlier version's, or minted elsewhere) has no pair: it is taken as before. The refusal is
 * the provider's to an unknown refresh token, word for word: another answer told a caller holding
 * any live token that a refresh token it tried was one the service issued. Answers the chain the
 * refresh continues (the access token's own when the refresh token has no pair).
 */
export async function checkPair(sessions: SessionStore, refreshToken: string, accessToken: string): Promise<string[]> {
  const pair: RefreshPair | undefined = await sessions.refreshPair(tokenDigest(refreshToken));
  const accessDigest = tokenDigest(accessToken);
  if (pair !== undefined && pair.accessDigest !== accessDigest) throw new UnauthorizedError(INVALID_REFRESH);
  return pair?.chain.length ? pair.chain : [accessDigest];
}

/** The subject of a JWT access token, for the record only (it is not verified here); undefined for an opaque token. */
function subjectOf(token: string): string | undefined {
  try {
    const sub = decodeJwt(token).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}
