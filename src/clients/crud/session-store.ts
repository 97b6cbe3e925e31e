import { hash as digest, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, DomainError, UpstreamError } from '../../errors.js';
import { nowSeconds } from '../../domain/clock.js';
import { bearerSessionId } from '../bearer-denial.js';
import type { Clock } from '../../ports/clock.js';
import type { SessionStore } from '../../ports/session-store.js';
import type { CrudCollection } from './collection.js';

const SessionDoc = z.looseObject({
  sessionId: z.string(),
  authUserId: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullish(),
});
/** A pair's chain, where the collection declares the field (`chain`: an array of strings). */
const Chain = z.array(z.string()).min(1);

const STATES = ['PUBLIC'] as const;
const FIELDS = 'sessionId,authUserId,expiresAt,revokedAt';
/** Live sessions a user keeps, as in the embedded store: a new login beyond them ends the oldest. */
export const MAX_SESSIONS_PER_USER = 100;
/** Sessions over the cap one login ends at most (one, but after a burst of logins at once). */
const ENDED_PER_LOGIN = 200;

/**
 * Website sessions in a CRUD collection (SESSIONS_CRUD_ENDPOINT), shared by every replica: a
 * cookie is looked up on each request (no cache), so a logout or a revocation made through one
 * replica holds on the others at their next request. Only the cookie's SHA-256 is stored. Expired
 * documents are removed by the collection's TTL index on `expiresAt` (docs/replicas.md); until
 * MongoDB gets to them (up to a minute late) the expiry is checked here. An ended session expires
 * at once, so the index removes it too, and a user keeps at most MAX_SESSIONS_PER_USER live ones:
 * a login loop grew the collection by a document per login for the whole REFRESH_TOKEN_TTL.
 */
export function createCrudSessionStore(collection: CrudCollection, options: { ttlSeconds: number; clock: Clock }): SessionStore {
  const sessions = refusalsAsUpstream(collection);
  const live = { revokedAt: { $exists: false } };
  /** The one document under a unique key (`cookieHash`), checked: a document of another kind there is an upstream error. */
  const findByHash = async (cookieHash: string, kind: string, fields = FIELDS) => {
    const [found] = await sessions.list({ _q: JSON.stringify({ cookieHash }), _l: '1', _p: fields }, {});
    if (!found) return undefined;
    const doc = SessionDoc.safeParse(found);
    if (!doc.success)
      throw new UpstreamError('CRUD', 'GET sessions', 200, { message: `CRUD sessions: document ${found._id} is not a ${kind}` });
    return { ...doc.data, _id: found._id };
  };
  /** Creates `doc`, or `fallback` when the collection refuses `doc`'s `chain`, a field it does not declare (400). */
  const createOrUndeclared = async (doc: Record<string, unknown>, fallback: Record<string, unknown>) => {
    try {
      await sessions.create(doc, {});
    } catch (error) {
      if (!refusedChain(error) || doc === fallback) throw error;
      await sessions.create(fallback, {});
    }
  };
  const revoked = () => {
    const now = new Date(options.clock.now()).toISOString();
    return { $set: { revokedAt: now, expiresAt: now } };
  };
  /**
   * Ends the user's oldest live sessions, so that with one more it keeps MAX_SESSIONS_PER_USER. They
   * are ended by id: expiry times are whole seconds, and ending every session that expires no later
   * than the oldest one kept ended the newest too when a burst of logins shared its second. Newest
   * first by expiry, then by the CRUD's `createdAt` (milliseconds).
   */
  const makeRoom = async (authUserId: string) => {
    const query = { _q: JSON.stringify({ authUserId, ...live }), _s: '-expiresAt,-createdAt', _sk: String(MAX_SESSIONS_PER_USER - 1) };
    const over = await sessions.list({ ...query, _l: String(ENDED_PER_LOGIN), _p: 'sessionId' }, {});
    const ids = over.map((doc) => doc.sessionId).filter((id): id is string => typeof id === 'string');
    if (ids.length > 0) await sessions.patchWhere({ authUserId, ...live, sessionId: { $in: ids } }, revoked(), STATES);
  };
  return {
    async open(authUserId) {
      await makeRoom(authUserId);
      const cookie = randomBytes(32).toString('base64url');
      const expiresAt = nowSeconds(options.clock) + options.ttlSeconds;
      const id = randomUUID();
      const doc = { sessionId: id, authUserId, cookieHash: hash(cookie), expiresAt: isoOf(expiresAt) };
      await sessions.create({ ...doc, __STATE__: 'PUBLIC' }, {});
      return { id, authUserId, cookie, expiresAt };
    },
    async byCookie(cookie) {
      const doc = await findByHash(hash(cookie), 'session');
      if (!doc || doc.revokedAt || !(Date.parse(doc.expiresAt) > options.clock.now())) return undefined;
      return { id: doc.sessionId, authUserId: doc.authUserId };
    },
    async revoke(sessionId) {
      await sessions.patchWhere({ sessionId, ...live }, revoked(), STATES);
    },
    async revokeUser(authUserId) {
      await sessions.patchWhere({ authUserId, ...live }, revoked(), STATES);
    },
    /**
     * A denied bearer token is a document of the same collection, born revoked, so no new field
     * and no other index is needed: its key (`bearer:` and the digest) is both its `sessionId` and
     * its `cookieHash`, and its `expiresAt` is the end of the denial, when the TTL index removes it.
     * A key no cookie digest can equal (a digest has no colon). A token denied again (two logouts
     * at once, on two replicas): the create meets the unique index (409), and the entry keeps the
     * later of the two ends, as the embedded store does; an entry whose end passed but that MongoDB
     * has not removed yet is extended too. Once this kept the first entry whatever it said: a
     * logout for REFRESH_TOKEN_TTL lost to one until the token's expiry, and a denial that had
     * ended (still stored) was not renewed at all.
     */
    async denyToken(digest, { authUserId, until }) {
      const key = bearerSessionId(digest);
      const expiresAt = isoOf(until);
      const doc = { sessionId: key, authUserId, cookieHash: key, expiresAt, revokedAt: new Date(options.clock.now()).toISOString() };
      try {
        await sessions.create({ ...doc, __STATE__: 'PUBLIC' }, {});
        return;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
      const [found] = await sessions.list({ _q: JSON.stringify({ sessionId: key }), _l: '1', _p: FIELDS }, {});
      const stored = SessionDoc.safeParse(found).data;
      if (stored && Date.parse(stored.expiresAt) >= until * 1000) return;
      await sessions.patchWhere({ sessionId: key }, { $set: { expiresAt } }, STATES);
    },
    /**
     * A pair is a document of the same collection too, born revoked (no session of a user, never
     * counted among its live ones): `cookieHash` is `refresh:` and the refresh token's digest (the
     * lookup key), `sessionId` the same followed by `:` and the access token's digest (what is
     * read back), `expiresAt` its end, when the TTL index removes it, and `chain` the access
     * tokens of its refresh chain (indexed: a bearer logout finds the chain by any of them). A
     * collection that does not declare `chain` yet refuses it (400): the pair is then stored
     * without it, as before, so that logins go on working until the field is added.
     */
    async pairRefreshToken(refreshDigest, { accessDigest, authUserId, until, replaces, chain }) {
      const now = new Date(options.clock.now()).toISOString();
      if (replaces && replaces.refreshDigest !== refreshDigest)
        await sessions.patchWhere({ cookieHash: pairKey(replaces.refreshDigest) }, { $set: { expiresAt: isoOf(replaces.until) } }, STATES);
      const key = pairKey(refreshDigest);
      const doc = { sessionId: `${key}:${accessDigest}`, authUserId, cookieHash: key, expiresAt: isoOf(until) };
      const withChain = chain?.length ? { ...doc, chain } : doc;
      try {
        await createOrUndeclared({ ...withChain, revokedAt: now, __STATE__: 'PUBLIC' }, { ...doc, revokedAt: now, __STATE__: 'PUBLIC' });
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        // The provider answered the same refresh token again (no rotation): it now goes with the new access token.
        const { cookieHash: _key, authUserId: _user, ...moved } = withChain;
        await sessions
          .patchWhere({ cookieHash: key }, { $set: moved }, STATES)
          .catch((failed: unknown) =>
            refusedChain(failed) && withChain !== doc
              ? sessions.patchWhere({ cookieHash: key }, { $set: { sessionId: doc.sessionId, expiresAt: doc.expiresAt } }, STATES)
              : Promise.reject(failed),
          );
      }
    },
    async refreshPair(refreshDigest) {
      const key = pairKey(refreshDigest);
      const doc = await findByHash(key, 'token pair', `${FIELDS},chain`);
      if (!doc) return undefined;
      if (!doc.sessionId.startsWith(`${key}:`))
        throw new UpstreamError('CRUD', 'GET sessions', 200, { message: `CRUD sessions: document ${doc._id} is not a token pair` });
      if (!(Date.parse(doc.expiresAt) > options.clock.now())) return undefined;
      const accessDigest = doc.sessionId.slice(key.length + 1);
      return { accessDigest, chain: Chain.safeParse((doc as { chain?: unknown }).chain).data ?? [accessDigest] };
    },
    /**
     * The live pair holding the access token in its chain that lasts longest (the chain's newest:
     * a pair a refresh replaced lasts minutes). A collection without the field finds none (a 400).
     */
    async chainOf(accessDigest) {
      const query = { _q: JSON.stringify({ chain: accessDigest }), _s: '-expiresAt', _l: '1', _p: 'sessionId,expiresAt,chain' };
      const [found] = await sessions.list(query, {}).catch((error: unknown) => {
        if (refusedChain(error)) return [];
        throw error;
      });
      const chain = Chain.safeParse(found?.chain).data;
      if (!found || !chain || !(Date.parse(String(found.expiresAt)) > options.clock.now())) return undefined;
      return chain;
    },
    async isTokenDenied(digest) {
      const doc = await findByHash(bearerSessionId(digest), 'denied token');
      // Until MongoDB's TTL monitor gets to it (up to a minute late), an entry past its time is ignored here.
      return doc !== undefined && Date.parse(doc.expiresAt) > options.clock.now();
    },
  };
}

/**
 * The sessions collection's refusal (a 400): the service's own failure, never the caller's mistake,
 * answered as an UpstreamError (a 500) without the CRUD's text. It was the caller's 400 with that
 * text, and the chain's fallback took any 400 for a missing `chain` field (a logout then answered
 * 204 and left the older tokens working). `chain`: the refusal names that field (`Property "chain"
 * is not defined`, `Unknown field: chain`), which a collection not declaring it yet refuses.
 */
class SessionsRefusal extends UpstreamError {
  constructor(
    call: string,
    readonly chain: boolean,
  ) {
    super('CRUD', call, 400, { message: `CRUD sessions refused ${call}` });
  }
}

function refusedChain(error: unknown): boolean {
  return error instanceof SessionsRefusal && error.chain;
}

/** The collection's calls the store makes, each 400 a SessionsRefusal. */
function refusalsAsUpstream(collection: CrudCollection): Pick<CrudCollection, 'list' | 'create' | 'patchWhere'> {
  const refused = (call: string) => (error: unknown) => {
    if (!(error instanceof DomainError) || error.status !== 400) throw error;
    throw new SessionsRefusal(call, /\bchain\b/.test(error.message));
  };
  return {
    list: (query, headers) => collection.list(query, headers).catch(refused('GET sessions')),
    create: (doc, headers) => collection.create(doc, headers).catch(refused('POST sessions')),
    patchWhere: (filter, update, states) => collection.patchWhere(filter, update, states).catch(refused('PATCH sessions')),
  };
}

/** A time in seconds since the epoch as the collection stores it (a Date field). */
function isoOf(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** The key of a refresh token's pair: no cookie digest (no colon) and no denial (`bearer:`) can equal it. */
function pairKey(refreshDigest: string): string {
  return `refresh:${refreshDigest}`;
}

/** What is stored instead of the cookie. SHA-256 suffices: the cookie is 256 random bits, not a password. */
function hash(cookie: string): string {
  return digest('sha256', cookie, 'base64url');
}
