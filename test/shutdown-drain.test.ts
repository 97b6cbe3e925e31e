import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { drainable, shutdown } from '../src/shutdown.js';

/** A gate a test opens: `wait()` answers once `open()` was called. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, wait: () => opened };
}

let server: Server | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()));
  server?.closeAllConnections();
  server?.close();
});

/** A server whose `/slow` answers once `slow` opens (and tells when it started), `/fast` at once. */
async function serve() {
  const slow = gate();
  const started = gate();
  const ended = gate();
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.url !== '/slow') return void response.end('fast');
    started.open();
    void slow.wait().then(() => {
      response.end('slow');
      ended.open();
    });
  });
  const http = drainable(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = () => {
    const created = new Client(url, { pipelining: 1 });
    clients.push(created);
    return created;
  };
  return { http, slow, started, ended, client };
}

describe('drainable', () => {
  it('answers Connection: close during a drain, waits for the request in progress, and stops accepting', async () => {
    const { http, slow, started, client } = await serve();
    const busy = client();
    const other = client();
    expect((await (await other.request({ method: 'GET', path: '/fast' })).body.text()) as string).toBe('fast');
    const slowAnswer = busy.request({ method: 'GET', path: '/slow' });
    await started.wait();

    let drained = false;
    const drain = http.drain(new AbortController().signal).then((result) => ((drained = true), result));
    const during = await other.request({ method: 'GET', path: '/fast' });
    expect(during.headers.connection).toBe('close');
    expect(await during.body.text()).toBe('fast');
    expect(drained).toBe(false);

    slow.open();
    const answer = await slowAnswer;
    expect(answer.headers.connection).toBe('close');
    expect(await answer.body.text()).toBe('slow');
    expect(await drain).toEqual({ cut: 0 });
    await expect(client().request({ method: 'GET', path: '/fast' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('closes a keep-alive connection that stays idle', async () => {
    const { http, client } = await serve();
    const idle = client();
    await (await idle.request({ method: 'GET', path: '/fast' })).body.text();
    expect(await http.drain(new AbortController().signal)).toEqual({ cut: 0 });
  });

  it('waits for a handler whose client went away: the operation ends before the store closes', async () => {
    const { http, slow, started, ended, client } = await serve();
    const gone = client();
    const request = gone.request({ method: 'GET', path: '/slow' }).catch(() => undefined);
    await started.wait();
    await gone.destroy();
    await request;

    let drained = false;
    const drain = http.drain(new AbortController().signal).then(() => (drained = true));
    // The connection is gone; the drain still waits for the handler (checked after several of its polls:
    // a wait for something that must not happen).
    await new Promise((resolve) => server!.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(drained).toBe(false);
    slow.open();
    await ended.wait();
    await drain;
    expect(drained).toBe(true);
  });

  it('cuts what is left when the deadline passes, and says how many', async () => {
    const { http, started, client } = await serve();
    const stuck = client().request({ method: 'GET', path: '/slow' });
    await started.wait();
    const deadline = new AbortController();
    const drain = http.drain(deadline.signal);
    deadline.abort();
    expect(await drain).toEqual({ cut: 1 });
    await expect(stuck).rejects.toThrow();
  });
});

describe('shutdown', () => {
  const logger = pino({ level: 'silent' });

  it('closes the store after the requests and the background work, and answers 0', async () => {
    const steps: string[] = [];
    const code = await shutdown({
      http: { drain: async () => (steps.push('http'), { cut: 0 }) },
      stopBackground: async () => void steps.push('background'),
      close: () => void steps.push('close'),
      timeoutMs: 1000,
      logger,
    });
    expect(code).toBe(0);
    expect(steps.toSorted()).toEqual(['background', 'close', 'http']);
    expect(steps.at(-1)).toBe('close');
  });

  it('gives the background work the deadline, less a reserve to close, and answers 1 when requests were cut', async () => {
    const started = Date.now();
    let abortedAfter: number | undefined;
    const code = await shutdown({
      http: { drain: async () => ({ cut: 2 }) },
      stopBackground: (signal) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            abortedAfter = Date.now() - started;
            resolve();
          }),
        ),
      close: () => undefined,
      timeoutMs: 500,
      logger,
    });
    expect(code).toBe(1);
    expect(abortedAfter).toBeGreaterThanOrEqual(390);
    expect(abortedAfter).toBeLessThan(500);
  });
});
