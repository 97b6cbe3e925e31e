import { get, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, GUEST_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * A client that stops reading an export, or goes away in the middle of it, must not leave the
 * service reading the rest of the store (docs/security.md). Pages read from the store so far:
 */
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
    expect(whole.text.split('\r\n').filter(Boolean)).toHaveLength(USERS + 1);
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
