import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CrudCollection } from '../src/clients/crud/collection.js';
import { createCrudSessionStore } from '../src/clients/crud/session-store.js';
import { createDispatcher } from '../src/clients/http.js';
import { openDatabase } from '../src/embedded/db.js';
import { createEmbeddedSessionStore } from '../src/embedded/session-store.js';
import { Sessions } from '../src/embedded/sessions.js';
import type { SessionStore } from '../src/ports/session-store.js';
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
    expect(await b.pairedAccessToken('refresh-1')).toBeUndefined();
    await a.pairRefreshToken('refresh-1', { accessDigest: 'access-1', authUserId: 'auth0|u11', until: now() + 3600 });
    expect(await b.pairedAccessToken('refresh-1')).toBe('access-1');
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
    expect(await a.pairedAccessToken('refresh-1')).toBe('access-1');
    expect(await a.pairedAccessToken('refresh-2')).toBe('access-2');
    await clock.advance(601_000);
    expect(await b.pairedAccessToken('refresh-1')).toBeUndefined();
    expect(await b.pairedAccessToken('refresh-2')).toBe('access-2');
    await clock.advance(3000_000);
    expect(await a.pairedAccessToken('refresh-2')).toBeUndefined();
  });

  it('pairs a refresh token the provider answers again (no rotation) with the newest access token, for the whole time', async () => {
    const now = () => Math.floor(clock.now() / 1000);
    await a.pairRefreshToken('refresh-same', { accessDigest: 'access-old', authUserId: 'auth0|u12', until: now() + 3600 });
    const replaces = { refreshDigest: 'refresh-same', until: now() + 600 };
    await b.pairRefreshToken('refresh-same', { accessDigest: 'access-new', authUserId: 'auth0|u12', until: now() + 3600, replaces });
    expect(await a.pairedAccessToken('refresh-same')).toBe('access-new');
    await clock.advance(601_000);
    expect(await b.pairedAccessToken('refresh-same')).toBe('access-new');
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
