import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Auth0Api } from '../../src/clients/auth0/api.js';
import { callUpstream, createBreaker, createDispatcher, type UpstreamOptions } from '../../src/clients/http.js';

let server: Server;
let upstream: UpstreamOptions;
const big = Array.from({ length: 5000 }, (_, index) => ({ index, name: `user ${index} – ü` }));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') {
      // Written in pieces, after an informational answer, with a header given twice.
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(200, [
        ['content-type', 'application/json'],
        ['x-seen', 'a'],
        ['x-seen', 'b'],
      ]);
      const json = Buffer.from(JSON.stringify(big));
      for (let start = 0; start < json.length; start += 10_000) res.write(json.subarray(start, start + 10_000));
      res.end();
    } else if (req.url === '/text') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing');
    } else res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dispatcher = createDispatcher(5000);
  upstream = { name: 'Test', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, dispatcher };
});
afterAll(() => server.close());

describe('callUpstream', () => {
  it('gathers an answer sent in many chunks, after a 1xx, with repeated headers as a list', async () => {
    const reply = await callUpstream(upstream, { method: 'GET', path: '/big' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(big);
    expect(reply.headers['x-seen']).toEqual(['a', 'b']);
  });

  it('keeps a body that is not JSON as text, and an empty one as undefined', async () => {
    expect(await callUpstream(upstream, { method: 'GET', path: '/text' })).toMatchObject({ status: 404, body: 'no such thing' });
    expect(await callUpstream(upstream, { method: 'DELETE', path: '/gone' })).toMatchObject({ status: 204, body: undefined });
  });

  it('names an upstream that cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(
      callUpstream({ ...upstream, baseUrl: `http://127.0.0.1:${port}`, retries: 0 }, { method: 'GET', path: '/users', route: '/users' }),
    ).rejects.toMatchObject({ status: 503, message: 'Test GET /users is unreachable (ECONNREFUSED)' });
  });

  it('says a write was never sent when its connection was refused or its circuit open, and not when it timed out', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const breaker = createBreaker({ threshold: 1, halfOpenAfterMs: 60_000 });
    const refusing = { ...upstream, baseUrl: `http://127.0.0.1:${port}`, retries: 1, breaker };
    const write = { method: 'DELETE', path: '/users/a', route: '/users/:id' } as const;
    await expect(callUpstream(refusing, write)).rejects.toMatchObject({ status: 503, notSent: true });
    await expect(callUpstream(refusing, write)).rejects.toMatchObject({
      message: 'Test DELETE /users/:id is unavailable (circuit open)',
      notSent: true,
    });
    // A server that takes the request and never answers: whether it acted is unknown.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const hung = { ...upstream, baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, timeoutMs: 50 };
    await expect(callUpstream(hung, write)).rejects.toMatchObject({ status: 503, notSent: false });
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });
});

describe('Auth0Api', () => {
  it('does not say a call was never sent when its retry was refused after an earlier attempt was answered', async () => {
    // The first attempt is answered 500 (the tenant may have acted all the same), a GET is tried
    // again; the server stops listening before it answers, so the retry's connection is refused.
    let calls = 0;
    const tenant = createServer((req, res) => {
      calls += 1;
      tenant.close();
      res.writeHead(500, { connection: 'close' }).end();
    });
    const api = await auth0ApiOf(tenant);
    await expect(api.auth({ method: 'GET', path: '/userinfo' })).rejects.toMatchObject({
      status: 503,
      notSent: false,
    });
    expect(calls).toBe(1);
  });

  it('lets an Authentication call through while a Management 429 pauses Management calls, whatever the concurrency cap', async () => {
    // The one concurrency slot: a paused Management call used to wait out the pause holding it, so
    // a login (or any Auth0 call) waited for the tenant's Management reset behind it.
    const reset = Math.ceil(Date.now() / 1000) + 2;
    let reads = 0;
    const tenant = createServer((req, res) => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      if (req.url === '/oauth/token') return json(200, { access_token: 't', refresh_token: 'r', expires_in: 86_400 });
      reads += 1;
      return reads === 1 ? json(429, { statusCode: 429 }, { 'x-ratelimit-reset': String(reset) }) : json(200, { user_id: 'x' });
    });
    const api = await auth0ApiOf(tenant);
    try {
      const read = api.management({ method: 'GET', path: '/api/v2/users/x' });
      // The pause is the client's own state: wait until the 429 has set it.
      await vi.waitFor(() => expect(Reflect.get(api, 'pausedUntil')).toBeGreaterThan(Date.now()), { interval: 5 });
      const login = await api.auth({ method: 'POST', path: '/oauth/token', body: { grant_type: 'password' } });
      expect(login.status).toBe(200);
      expect(Date.now()).toBeLessThan(reset * 1000 - 500);
      expect((await read).status).toBe(200);
    } finally {
      tenant.close();
    }
  });
});

/** An Auth0 client of the tenant `server` (listening on a free port), one call at a time, one retry. */
async function auth0ApiOf(server: Server): Promise<Auth0Api> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return new Auth0Api({
    baseUrl,
    clientId: 'c',
    clientSecret: 's',
    managementClientId: 'c',
    managementClientSecret: 's',
    managementAudience: `${baseUrl}/api/v2/`,
    dispatcher: createDispatcher(5000),
    maxConcurrency: 1,
    maxRetries: 1,
  });
}
