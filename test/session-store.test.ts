import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CrudCollection } from '../src/clients/crud/collection.js';
import { createCrudSessionStore } from '../src/clients/crud/session-store.js';
import { createDispatcher } from '../src/clients/http.js';
import { openDatabase } from '../src/embedded/db.js';
import { MIGRATIONS } from '../src/embedded/migrations.js';
import { createEmbeddedSessionStore } from '../src/embedded/session-store.js';
import { Sessions } from '../src/embedded/sessions.js';
import type { SessionStore } from '../src/ports/session-store.js';
import { checkPair, denyBearerChain, MAX_CHAIN, pairTokens, tokenDigest } from '../src/clients/bearer-denial.js';
import { CrudEmulator } from './emulators/crud.js';
import { FakeClock } from './helpers/fake-clock.js';
import { CRUD_COLLECTIONS } from './helpers/service.js';

const TTL = 3600;
/** One time for both replicas of each pair, moved by the expiry test. */
const clock = new FakeClock();
const crudOptions = { ttlSeconds: TTL, clock };
const emulator = await new CrudEmulator(CRUD_COLLECTIONS).start();
afterAll(() => emulator.stop());

/** Two replicas sharing one session store: two connections to one SQLite file, or two clients of one CRUD collection. */
const REPLICAS: [string, () => [SessionStore, SessionStore]][] = [
  [
    'embedded (two processes on one file)',
    () => {
      const file = join(mkdtempSync(join(tmpdir(), 'ums-sessions-')), 'sessions.sqlite');
      const replica = () => createEmbeddedSessionStore(new Sessions(openDatabase(file), TTL, clock.replica()));
      return [replica(), replica()];
    },
  ],
  [
    'CRUD Service (SESSIONS_CRUD_ENDPOINT, two replicas)',
    () => {
      const replica = () =>
        createCrudSessionStore(
          new CrudCollection({ name: 'CRUD', baseUrl: emulator.url, dispatcher: createDispatcher(2000) }, '/sessions'),
          { ttlSeconds: TTL, clock: clock.replica() },
        );
      return [replica(), replica()];
    },
  ],
];

describe.each(REPLICAS)('session store: %s', (_name, replicas) => {
  const [a, b] = replicas();

  it('opens a session on one replica that the other finds by its cookie', async () => {
    const opened = await a.open('auth0|u1');
    expect(opened.cookie).toMatch(/^[\w-]{43}$/);
    expect(opened.expiresAt).toBe(Math.floor(clock.now() / 1000) + TTL);
    expect(await b.byCookie(opened.cookie)).toEqual({ id: opened.id, authUserId: 'auth0|u1' });
    expect(await b.byCookie('not-a-cookie')).toBeUndefined();
  });

  it('ends a session revoked on one replica at the next request to the other', async () => {
    const opened = await a.open('auth0|u2');
    const other = await a.open('auth0|u2b');
    expect(await b.byCookie(opened.cookie)).toBeDefined();
    await a.revoke(opened.id);
    expect(await b.byCookie(opened.cookie)).toBeUndefined();
    await a.revoke(opened.id);
    expect(await b.byCookie(other.cookie)).toBeDefined();
  });

  it("ends every session of a user, and only that user's", async () => {
    const [first, second, stranger] = [await a.open('auth0|u3'), await b.open('auth0|u3'), await a.open('auth0|u4')];
    await b.revokeUser('auth0|u3');
    expect(await a.byCookie(first.cookie)).toBeUndefined();
    expect(await a.byCookie(second.cookie)).toBeUndefined();
    expect(await a.byCookie(stranger.cookie)).toEqual({ id: stranger.id, authUserId: 'auth0|u4' });
  });

  it('keeps 100 live sessions per user: a login beyond them ends the oldest', async () => {
    const opened = [];
    for (let login = 0; login < 101; login += 1) {
      opened.push(await (login % 2 ? a : b).open('auth0|loop'));
      await clock.advance(1000);
    }
    expect(await a.byCookie(opened[0]!.cookie)).toBeUndefined();
    expect(await a.byCookie(opened[1]!.cookie)).toEqual({ id: opened[1]!.id, authUserId: 'auth0|loop' });
    expect(await b.byCookie(opened[100]!.cookie)).toBeDefined();
  });

  it('denies a bearer token on every replica until its time, whether or not the store has removed it yet', async () => {
    const until = Math.floor(clock.now() / 1000) + 60;
    expect(await b.isTokenDenied('digest-1')).toBe(false);
    await a.denyToken('digest-1', { authUserId: 'auth0|u9', until });
    await b.denyToken('digest-1', { authUserId: 'auth0|u9', until });
    expect(await b.isTokenDenied('digest-1')).toBe(true);
    expect(await a.isTokenDenied('digest-2')).toBe(false);
    // A login, a logout or a revocation of the user's sessions leaves the denial in place.
    const opened = await b.open('auth0|u9');
    await a.revokeUser('auth0|u9');
    await b.open('auth0|u9');
    expect(await b.byCookie(opened.cookie)).toBeUndefined();
    expect(await a.isTokenDenied('digest-1')).toBe(true);
    await clock.advance(61_000);
    expect(await b.isTokenDenied('digest-1')).toBe(false);
  });

  it('keeps a token denied twice (a double logout, two replicas) until the later of the two times, in either order', async () => {
    const now = () => Math.floor(clock.now() / 1000);
    // A logout that revoked the refresh token denies until the token expires, one that did not for
    // REFRESH_TOKEN_TTL: whichever replica writes first, the longer denial holds.
    await a.denyToken('digest-short-first', { authUserId: 'auth0|u10', until: now() + 60 });
    await b.denyToken('digest-short-first', { authUserId: 'auth0|u10', until: now() + 600 });
    await b.denyToken('digest-long-first', { authUserId: 'auth0|u10', until: now() + 600 });
    await a.denyToken('digest-long-first', { authUserId: 'auth0|u10', until: now() + 60 });
    await clock.advance(61_000);
    expect(await a.isTokenDenied('digest-short-first')).toBe(true);
    expect(await b.isTokenDenied('digest-long-first')).toBe(true);
    await clock.advance(540_000);
    expect(await b.isTokenDenied('digest-short-first')).toBe(false);
    expect(await a.isTokenDenied('digest-long-first')).toBe(false);
    // A denial that ended but is still stored (the TTL index runs up to a minute late) is denied again.
    await a.denyToken('digest-long-first', { authUserId: 'auth0|u10', until: now() + 60 });
    expect(await b.isTokenDenied('digest-long-first')).toBe(true);
  });

  it('remembers on every replica which access token a refresh token came with, until its time; a replaced pair briefly', async () => {
    const now = () => Math.floor(clock.now() / 1000);
    expect((await b.refreshPair('refresh-1'))?.accessDigest).toBeUndefined();
    await a.pairRefreshToken('refresh-1', { accessDigest: 'access-1', authUserId: 'auth0|u11', until: now() + 3600 });
    expect((await b.refreshPair('refresh-1'))?.accessDigest).toBe('access-1');
    // A refresh: the new pair for the whole time, the one it replaces for the grace given.
    await b.pairRefreshToken('refresh-2', {
      accessDigest: 'access-2',
      authUserId: 'auth0|u11',
      until: now() + 3600,
      replaces: { refreshDigest: 'refresh-1', until: now() + 600 },
    });
    // Ending the user's sessions, or a login, leaves the pairs alone (they are no sessions of it).
    await a.revokeUser('auth0|u11');
    await a.open('auth0|u11');
    expect((await a.refreshPair('refresh-1'))?.accessDigest).toBe('access-1');
    expect((await a.refreshPair('refresh-2'))?.accessDigest).toBe('access-2');
    await clock.advance(601_000);
    expect((await b.refreshPair('refresh-1'))?.accessDigest).toBeUndefined();
    expect((await b.refreshPair('refresh-2'))?.accessDigest).toBe('access-2');
    await clock.advance(3000_000);
    expect((await a.refreshPair('refresh-2'))?.accessDigest).toBeUndefined();
  });

  it('pairs a refresh token the provider answers again (no rotation) with the newest access token, for the whole time', async () => {
    const now = () => Math.floor(clock.now() / 1000);
    await a.pairRefreshToken('refresh-same', { accessDigest: 'access-old', authUserId: 'auth0|u12', until: now() + 3600 });
    const replaces = { refreshDigest: 'refresh-same', until: now() + 600 };
    await b.pairRefreshToken('refresh-same', { accessDigest: 'access-new', authUserId: 'auth0|u12', until: now() + 3600, replaces });
    expect((await a.refreshPair('refresh-same'))?.accessDigest).toBe('access-new');
    await clock.advance(601_000);
    expect((await b.refreshPair('refresh-same'))?.accessDigest).toBe('access-new');
  });

  // The pair a provider answered again kept the chain of its first access token: a logout sent
  // with that older token then found a chain without the newer one, which kept working.
  it('gives a refresh token the provider answers again (no rotation) the chain that leads to its newest access token', async () => {
    const now = () => Math.floor(clock.now() / 1000);
    const first = { accessToken: 'same-chain-a1', refreshToken: 'same-chain-r', expireAt: now() + 60 };
    await pairTokens(a, first, { now: now(), keepSeconds: 3600 });
    const follows = await checkPair(b, first.refreshToken, first.accessToken);
    const second = { ...first, accessToken: 'same-chain-a2' };
    await pairTokens(b, second, { now: now(), keepSeconds: 3600, replaces: first.refreshToken, follows });
    const chain = [tokenDigest(second.accessToken), tokenDigest(first.accessToken)];
    expect(await a.refreshPair(tokenDigest(first.refreshToken))).toEqual({ accessDigest: chain[0], chain });
    for (const digest of chain) expect(await b.chainOf(digest)).toEqual(chain);
  });

  // The caller's own token is denied last: a logout that failed on another token of the chain
  // leaves the caller's working (it can ask again), and the retry ends them all.
  it("denies the caller's token after the other tokens of its chain: a failure on one leaves it working, a retry ends them all", async () => {
    const now = () => Math.floor(clock.now() / 1000);
    const sent = [{ accessToken: 'last-a1', refreshToken: 'last-r1', expireAt: now() + 60 }];
    await pairTokens(a, sent[0]!, { now: now(), keepSeconds: 3600 });
    for (const turn of [2, 3]) {
      const previous = sent.at(-1)!;
      const follows = await checkPair(a, previous.refreshToken, previous.accessToken);
      sent.push({ accessToken: `last-a${turn}`, refreshToken: `last-r${turn}`, expireAt: now() + 60 });
      await pairTokens(a, sent.at(-1)!, { now: now(), keepSeconds: 3600, replaces: previous.refreshToken, follows });
    }
    const [oldest, middle, caller] = sent.map(({ accessToken }) => tokenDigest(accessToken)) as [string, string, string];
    const claims = { sub: 'auth0|u14', iat: now(), exp: now() + 60 };
    const times = { now: now(), keepSeconds: 0, tokenSeconds: 60, refreshTokenSeconds: 3600 };
    const failing: SessionStore = {
      ...b,
      denyToken: (digest, entry) => (digest === oldest ? Promise.reject(new Error('store down')) : b.denyToken(digest, entry)),
    };
    await expect(denyBearerChain(failing, middle, claims, times)).rejects.toThrow('store down');
    expect(await a.isTokenDenied(middle)).toBe(false);
    await denyBearerChain(b, middle, claims, times);
    for (const digest of [oldest, middle, caller]) expect(await a.isTokenDenied(digest)).toBe(true);
  });

  it('finds the refresh chain of a pair on every replica by any of its access tokens, while the pair lives', async () => {
    const now = () => Math.floor(clock.now() / 1000);
    expect(await b.chainOf('chain-a1')).toBeUndefined();
    await a.pairRefreshToken('chain-r1', { accessDigest: 'chain-a1', authUserId: 'auth0|u13', until: now() + 3600, chain: ['chain-a1'] });
    expect(await b.chainOf('chain-a1')).toEqual(['chain-a1']);
    const replaces = { refreshDigest: 'chain-r1', until: now() + 600 };
    const chain = ['chain-a2', 'chain-a1'];
    await b.pairRefreshToken('chain-r2', { accessDigest: 'chain-a2', authUserId: 'auth0|u13', until: now() + 3600, replaces, chain });
    expect(await a.refreshPair('chain-r2')).toEqual({ accessDigest: 'chain-a2', chain });
    expect(await a.refreshPair('chain-r1')).toEqual({ accessDigest: 'chain-a1', chain: ['chain-a1'] });
    for (const digest of chain) expect(await a.chainOf(digest)).toEqual(chain);
    await clock.advance(601_000);
    for (const digest of chain) expect(await b.chainOf(digest)).toEqual(chain);
    await clock.advance(3000_000);
    for (const digest of chain) expect(await a.chainOf(digest)).toBeUndefined();
  });

  it(`keeps at most ${MAX_CHAIN} access tokens in a chain however often it is refreshed`, async () => {
    const now = () => Math.floor(clock.now() / 1000);
    const tokens = (turn: number) => ({ accessToken: `loop-access-${turn}`, refreshToken: `loop-refresh-${turn}`, expireAt: now() + 60 });
    const sent = [tokens(0)];
    await pairTokens(a, sent[0]!, { now: now(), keepSeconds: 3600 });
    for (let turn = 1; turn <= MAX_CHAIN + 8; turn += 1) {
      const store = turn % 2 ? a : b;
      const follows = await checkPair(store, sent.at(-1)!.refreshToken, sent.at(-1)!.accessToken);
      sent.push(tokens(turn));
      await pairTokens(store, sent.at(-1)!, { now: now(), keepSeconds: 3600, replaces: sent.at(-2)!.refreshToken, follows });
    }
    const digests = sent.map(({ accessToken }) => tokenDigest(accessToken)).reverse();
    expect(await b.chainOf(digests[0]!)).toEqual(digests.slice(0, MAX_CHAIN));
    expect(await a.chainOf(digests[MAX_CHAIN - 1]!)).toEqual(digests.slice(0, MAX_CHAIN));
    // Past the grace of the pairs the loop replaced, the tokens the chain left out are found by none.
    await clock.advance(601_000);
    expect(await a.chainOf(digests[MAX_CHAIN]!)).toBeUndefined();
    expect(await b.chainOf(digests.at(-1)!)).toBeUndefined();
  });

  it('ends only the oldest when the sessions were opened within one second (a login burst)', async () => {
    // Expiry times are whole seconds: ending every session that expires no later than the oldest
    // kept ended the 99 newest too when they shared its second, not one session but all of them.
    const opened = [];
    for (let login = 0; login < 101; login += 1) opened.push(await (login % 2 ? a : b).open('auth0|burst'));
    const live = [];
    for (const session of opened) if (await b.byCookie(session.cookie)) live.push(session);
    expect(live).toHaveLength(100);
    expect(live).toContain(opened[100]);
  });

  it('ends a session when it expires, whether or not the store has removed it yet', async () => {
    const opened = await a.open('auth0|u5');
    await clock.advance((TTL - 5) * 1000);
    expect(await b.byCookie(opened.cookie)).toBeDefined();
    await clock.advance(10_000);
    expect(await b.byCookie(opened.cookie)).toBeUndefined();
  });
});

describe('CRUD session documents', () => {
  it('hold the hash of the cookie, never the cookie, and an expiry date for the TTL index', async () => {
    const store = createCrudSessionStore(
      new CrudCollection({ name: 'CRUD', baseUrl: emulator.url, dispatcher: createDispatcher(2000) }, '/sessions'),
      crudOptions,
    );
    const opened = await store.open('auth0|u6');
    const doc = emulator.docs('/sessions').find((candidate) => candidate.sessionId === opened.id)!;
    expect(JSON.stringify(doc)).not.toContain(opened.cookie);
    expect(doc).toMatchObject({ authUserId: 'auth0|u6', __STATE__: 'PUBLIC', expiresAt: new Date(opened.expiresAt * 1000).toISOString() });
    expect(doc.cookieHash).toMatch(/^[\w-]{43}$/);
  });

  it('expire when they end, so the TTL index removes them too: a login loop leaves 100 documents, not one a login', async () => {
    const store = createCrudSessionStore(
      new CrudCollection({ name: 'CRUD', baseUrl: emulator.url, dispatcher: createDispatcher(2000) }, '/sessions'),
      crudOptions,
    );
    const first = await store.open('auth0|u8');
    await clock.advance(1000);
    const second = await store.open('auth0|u8');
    await store.revoke(first.id);
    const docs = emulator.docs('/sessions');
    const ended = docs.find((doc) => doc.sessionId === first.id)!;
    expect(ended).toMatchObject({ revokedAt: new Date(clock.now()).toISOString(), expiresAt: new Date(clock.now()).toISOString() });
    expect(docs.find((doc) => doc.sessionId === second.id)).toMatchObject({ expiresAt: new Date(second.expiresAt * 1000).toISOString() });
  });

  it('answers an upstream error, not a session, for a document without an expiry', async () => {
    const cookie = 'a-cookie-whose-document-is-broken';
    const cookieHash = createHash('sha256').update(cookie).digest('base64url');
    emulator.docs('/sessions').push({ _id: 'broken', __STATE__: 'PUBLIC', cookieHash, sessionId: 's', authUserId: 'auth0|u7' });
    const store = createCrudSessionStore(
      new CrudCollection({ name: 'CRUD', baseUrl: emulator.url, dispatcher: createDispatcher(2000) }, '/sessions'),
      crudOptions,
    );
    await expect(store.byCookie(cookie)).rejects.toMatchObject({ code: 'UPSTREAM_ERROR' });
  });
});

describe('refresh chains kept by the embedded file', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'ums-chains-')), 'sessions.sqlite');

  it('a file from before them opens with its pairs as they were, and a refresh loop keeps one link per token of the live chain', async () => {
    const path = file();
    const old = openDatabase(path);
    // Back to version 13: the token pairs without their chains.
    old.exec('DROP TABLE refresh_chain_links; ALTER TABLE refresh_pairs DROP COLUMN chain; PRAGMA user_version = 13;');
    const until = Math.floor(clock.now() / 1000) + 3600;
    old
      .prepare('INSERT INTO refresh_pairs (refresh_digest, access_digest, auth_user_id, expires_at) VALUES (?, ?, ?, ?)')
      .run('r0', 'a0', 'u', until);
    old.close();
    const db = openDatabase(path);
    const store = createEmbeddedSessionStore(new Sessions(db, TTL, clock));
    expect(await store.refreshPair('r0')).toEqual({ accessDigest: 'a0', chain: ['a0'] });
    expect(await store.chainOf('a0')).toBeUndefined();
    let previous = { accessToken: 'a0-token', refreshToken: 'r0-token' };
    await pairTokens(store, { ...previous, expireAt: until }, { now: until - 3600, keepSeconds: 3600 });
    for (let turn = 1; turn <= 200; turn += 1) {
      const follows = await checkPair(store, previous.refreshToken, previous.accessToken);
      const next = { accessToken: `a${turn}-token`, refreshToken: `r${turn}-token` };
      const now = Math.floor(clock.now() / 1000);
      await pairTokens(store, { ...next, expireAt: until }, { now, keepSeconds: 3600, replaces: previous.refreshToken, follows });
      previous = next;
    }
    expect(db.prepare('SELECT count(*) AS n FROM refresh_chain_links').get()).toEqual({ n: MAX_CHAIN });
    await clock.advance(601_000);
    await pairTokens(
      store,
      { accessToken: 'other', refreshToken: 'other-r', expireAt: until },
      { now: Math.floor(clock.now() / 1000), keepSeconds: 3600 },
    );
    // The loop's newest pair, the other login's, and the pair from before the chains.
    expect(db.prepare('SELECT count(*) AS n FROM refresh_pairs').get()).toEqual({ n: 3 });
    // Past their time, a later pair's write removes the pairs and their links (a login never refreshed too).
    await clock.advance(3600_000);
    await pairTokens(
      store,
      { accessToken: 'later', refreshToken: 'later-r', expireAt: until },
      { now: Math.floor(clock.now() / 1000), keepSeconds: 3600 },
    );
    expect(db.prepare('SELECT count(*) AS n FROM refresh_pairs').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT access_digest FROM refresh_chain_links').all()).toEqual([{ access_digest: tokenDigest('later') }]);
  });
});

// Several processes share one file (docs/replicas.md). Each read the file's version before it took
// the write lock: a process that waited for the lock while another ran migration 14 ran it again
// ("duplicate column name: chain") and did not start.
describe('migrations with two processes starting on one file at once', () => {
  it("runs migration 14 once: the process that waited for the other one's migrations opens the file without running them again", () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ums-migrate-')), 'ums.sqlite');
    const old = openDatabase(path);
    old.exec('DROP TABLE refresh_chain_links; ALTER TABLE refresh_pairs DROP COLUMN chain; PRAGMA user_version = 13;');
    old.close();
    // The other process takes the lock first, between this one's start and its own migration.
    const transaction = Database.prototype.transaction;
    const spy = vi.spyOn(Database.prototype, 'transaction').mockImplementationOnce(function (this: Database.Database, fn) {
      const wrapped = transaction.call(this, fn);
      const immediate = (...args: unknown[]) => {
        openDatabase(path).close();
        return wrapped.immediate(...args);
      };
      return Object.assign((...args: unknown[]) => wrapped(...args), { ...wrapped, immediate }) as typeof wrapped;
    });
    let db: Database.Database | undefined;
    try {
      db = openDatabase(path);
    } finally {
      spy.mockRestore();
    }
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.prepare("SELECT count(*) AS n FROM pragma_table_info('refresh_pairs') WHERE name = 'chain'").get()).toEqual({ n: 1 });
    db.close();
  });
});

describe('CRUD sessions collection without the chain field', () => {
  it('pairs tokens as before (a logout then ends the token it is sent with only), not refusing every login', async () => {
    const declared = CRUD_COLLECTIONS.map((collection) =>
      collection.path === '/sessions'
        ? { ...collection, fields: Object.fromEntries(Object.entries(collection.fields).filter(([name]) => !name.startsWith('chain'))) }
        : collection,
    );
    const older = await new CrudEmulator(declared).start();
    try {
      const store = createCrudSessionStore(
        new CrudCollection({ name: 'CRUD', baseUrl: older.url, dispatcher: createDispatcher(2000) }, '/sessions'),
        crudOptions,
      );
      const until = Math.floor(clock.now() / 1000) + 3600;
      await store.pairRefreshToken('old-r1', { accessDigest: 'old-a1', authUserId: 'u', until, chain: ['old-a1'] });
      const replaces = { refreshDigest: 'old-r1', until: until - 3000 };
      await store.pairRefreshToken('old-r2', { accessDigest: 'old-a2', authUserId: 'u', until, replaces, chain: ['old-a2', 'old-a1'] });
      expect(await store.refreshPair('old-r2')).toEqual({ accessDigest: 'old-a2', chain: ['old-a2'] });
      expect(await store.chainOf('old-a2')).toBeUndefined();
      await store.pairRefreshToken('old-r2', { accessDigest: 'old-a3', authUserId: 'u', until, chain: ['old-a3', 'old-a2'] });
      expect((await store.refreshPair('old-r2'))?.accessDigest).toBe('old-a3');
    } finally {
      await older.stop();
    }
  });
});
