import { get, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse/sync';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, GUEST_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

/** Identity-provider reads (ids per call) and export pages read from the store, as the service made them. */
const identityCalls: number[] = [];
let scans = 0;
/** When set, the store fails the export's page of this number. */
let failingPage: number | undefined;
/** What the service logged. */
const logs: string[] = [];

let service: TestService;
const scope = { actorId: 'test', headers: {} };

beforeAll(async () => {
  service = await startService({
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
    wrap: (deps) => ({
      identity: {
        ...deps.identity,
        getUsers: (ids, fields) => {
          identityCalls.push(ids.length);
          return deps.identity.getUsers(ids, fields);
        },
      },
      users: {
        ...deps.users,
        scan: (query, page, callScope) => {
          scans += 1;
          if (scans === failingPage) return Promise.reject(new Error('the store broke down'));
          return deps.users.scan(query, page, callScope);
        },
      },
    }),
  });
  await seedGroups(service, [CUSTOMER_GROUP, GUEST_GROUP]);
});
afterAll(() => service.close());

async function insert(docs: Record<string, unknown>[]): Promise<void> {
  for (let start = 0; start < docs.length; start += 200) await service.deps.users.insertMany(docs.slice(start, start + 200), scope);
}

async function download(query: string, accept = 'text/csv') {
  const response = await fetch(`${service.url}/users/export?${query}`, { headers: { 'x-api-key': TEST_API_KEY, accept } });
  return { status: response.status, text: await response.text() };
}

describe('GET /users/export?identity=true', () => {
  it('adds the identity columns, read 100 users per identity-provider call', async () => {
    const created = await service.call('POST', '/users/', { userGroup: 'customer', username: 'idn', email: 'idn@example.com', name: 'I' });
    expect(created.status).toBe(200);
    // Profiles linked to identities the provider does not know: each page still asks for them, in one call.
    const linked = Array.from({ length: 249 }, (_, index) => ({ userGroup: 'guest', name: `L${index}`, authUserId: `auth0|gone${index}` }));
    await insert(linked);
    identityCalls.length = 0;

    const { status, text } = await download(`_q=${encodeURIComponent('{"authUserId":{"$exists":true}}')}&identity=true`);
    expect(status).toBe(200);
    expect(identityCalls).toEqual([100, 100, 50]);
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(250);
    const mine = rows.find((row) => row.username === 'idn')!;
    expect(mine).toMatchObject({ 'identity.username': 'idn', 'identity.email': 'idn@example.com', 'identity.blocked': 'false' });
    expect(mine['identity.createdAt']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(rows.find((row) => row.name === 'L0')).toMatchObject({ 'identity.username': '', 'identity.loginsCount': '' });

    // The identity columns are read-only: the same file re-imports without touching them or the identities.
    const form = new FormData();
    form.append('file', new Blob([text], { type: 'text/csv' }), 'users.csv');
    const reimport = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(await reimport.json()).toMatchObject({ inserted: [], invalid: [] });
    expect((await service.call('GET', `/users/${created.body._id}`)).body).not.toHaveProperty('identity');
  });

  it('gives NDJSON lines the identity, or null', async () => {
    identityCalls.length = 0;
    const { text } = await download('username=idn&identity=true', 'application/x-ndjson');
    const [line, ...rest] = text.split('\n');
    expect(rest).toEqual(['']);
    const user = JSON.parse(line!);
    expect(user).toMatchObject({ username: 'idn', identity: { id: user.authUserId, username: 'idn', email: 'idn@example.com' } });
    expect(identityCalls).toEqual([1]);
    const { text: gone } = await download('name=L7&_st=PUBLIC&identity=true', 'application/x-ndjson');
    expect(JSON.parse(gone).identity).toBeNull();
    const { text: without } = await download('username=idn', 'application/x-ndjson');
    expect(JSON.parse(without)).not.toHaveProperty('identity');
  });
});

describe('GET /users/export as the client reads it', () => {
  const USERS = 3000;
  /** 4 KB a user: 12 MB in all, more than the sockets on both sides buffer. */
  const PAGES = USERS / 100;

  beforeAll(async () => {
    const big = 'x'.repeat(4000);
    await insert(Array.from({ length: USERS }, (_, index) => ({ userGroup: 'guest', name: `B${index} ${big}` })));
  });

  /** Starts an export, takes its first chunk, and answers the response paused there. */
  function startExport(): Promise<{ response: IncomingMessage; destroy: () => void }> {
    return new Promise((resolve, reject) => {
      const request = get(`${service.url}/users/export?userGroup=guest`, { headers: { 'x-api-key': TEST_API_KEY } }, (response) => {
        response.once('data', () => {
          response.pause();
          resolve({ response, destroy: () => request.destroy() });
        });
      });
      request.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
    });
  }

  /** The number of pages read once it has not changed for 150 ms. */
  async function settledScans(): Promise<number> {
    let last = -1;
    let stable = 0;
    while (stable < 3) {
      await sleep(50);
      stable = scans === last ? stable + 1 : 0;
      last = scans;
    }
    return last;
  }

  it('reads no further than the client takes (backpressure), and stops when the client goes away', async () => {
    scans = 0;
    const { destroy } = await startExport();
    const whilePaused = await settledScans();
    expect(whilePaused).toBeGreaterThan(0);
    expect(whilePaused).toBeLessThan(PAGES * 0.75);
    logs.length = 0;
    destroy();
    expect(await settledScans()).toBe(whilePaused);
    // Not left waiting for a drain that will never come: the export's pages are let go.
    expect(logs.join('')).toContain('download abandoned by the client: stopped');
  });

  it('stops reading when the client disconnects in the middle of the stream', async () => {
    scans = 0;
    const { destroy, response } = await startExport();
    let received = 0;
    await new Promise<void>((resolve) => {
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > 1_000_000) resolve();
      });
      response.resume();
    });
    destroy();
    expect(await settledScans()).toBeLessThan(PAGES * 0.75);
    // The service goes on serving, and a whole export still comes through.
    const whole = await download('userGroup=guest');
    expect(whole.text.split('\r\n').filter(Boolean)).toHaveLength(USERS + 249 + 1);
  });

  it('cuts the response short when the store fails after the first page, so no client takes it for the whole file', async () => {
    scans = 0;
    failingPage = 3;
    logs.length = 0;
    try {
      const response = await fetch(`${service.url}/users/export?userGroup=guest`, { headers: { 'x-api-key': TEST_API_KEY } });
      expect(response.status).toBe(200);
      await expect(response.text()).rejects.toThrow();
    } finally {
      failingPage = undefined;
    }
    expect(logs.join('')).toContain('download failed after its first bytes');
    // A failure before the first byte is an ordinary error answer.
    failingPage = 1;
    scans = 0;
    try {
      expect((await download('userGroup=guest')).status).toBe(500);
    } finally {
      failingPage = undefined;
    }
  });
});
