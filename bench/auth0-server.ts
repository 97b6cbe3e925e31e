/**
 * The Auth0 emulator of the tests in its own process (BENCH_AUTH0_RATE: Management requests per
 * second allowed, unlimited when unset). Reports its call counts over IPC.
 *
 * BENCH_AUTH0_IMMEDIATE=1 puts a front before it that answers a user search it has answered once
 * from memory, without any work: an Auth0 answering immediately. Other calls go on to the emulator.
 * Only for read-only runs (the remembered answers never change).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { Auth0Emulator } from '../test/emulators/auth0.js';
import { readBody } from '../test/emulators/http.js';
import { AUTH0_TEST_TENANT } from '../test/helpers/service.js';

const rate = process.env.BENCH_AUTH0_RATE ? Number(process.env.BENCH_AUTH0_RATE) : undefined;
const auth0 = await new Auth0Emulator({ ...AUTH0_TEST_TENANT, managementRatePerSecond: rate }).start();
process.send!({ url: process.env.BENCH_AUTH0_IMMEDIATE ? await startImmediateFront() : auth0.url });

async function startImmediateFront(): Promise<string> {
  const answers = new Map<string, { status: number; type: string; body: Buffer }>();
  const front = createServer((req, res) => {
    const url = req.url ?? '/';
    const key = req.method === 'GET' && url.startsWith('/api/v2/users?') ? `${req.headers.authorization} ${url}` : undefined;
    const known = key && answers.get(key);
    if (known) {
      auth0.requests.push({
        method: 'GET',
        path: '/api/v2/users',
        query: new URLSearchParams(),
        headers: req.headers,
        body: '',
        handlingMs: 0,
      });
      res.writeHead(known.status, { 'content-type': known.type }).end(known.body);
      return;
    }
    void (async () => {
      const { host: _host, ...headers } = req.headers;
      const body = await readBody(req);
      const reply = await request(auth0.url + url, { method: req.method as 'GET', headers, body: body || undefined });
      const answer = {
        status: reply.statusCode,
        type: String(reply.headers['content-type'] ?? 'application/json'),
        body: Buffer.from(await reply.body.arrayBuffer()),
      };
      if (key && answer.status === 200) answers.set(key, answer);
      res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
    })();
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'counts') {
    const management = auth0.requests.filter((r) => r.path.startsWith('/api/v2/'));
    process.send!({
      managementCalls: management.length,
      searches: management.filter((r) => r.method === 'GET' && r.path === '/api/v2/users').length,
      rateLimited: auth0.rateLimitedCount,
      users: auth0.users.size,
      distinctEmails: new Set([...auth0.users.values()].map((u) => u.email)).size,
    });
  }
  // The emulator's own time on each search, in order (the benchmark groups them by page).
  if (message.type === 'searchTimes') {
    process.send!(auth0.requests.filter((r) => r.method === 'GET' && r.path === '/api/v2/users').map((r) => r.handlingMs!));
  }
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send!({ cpuMicros: user + system });
  }
  if (message.type === 'reset') auth0.requests.length = 0;
  if (message.type === 'stop') void auth0.stop().then(() => process.exit(0));
});
