/**
 * Time to the first 503 with a hung upstream: a CRUD Service that accepts connections and reads
 * requests but never answers. With the default settings (or BENCH_REQUEST_TIMEOUT_MS,
 * BENCH_CRUD_TIMEOUT_MS): the first GET /users/ (ended by the request's deadline), `/-/ready`
 * (ended by READINESS_TIMEOUT_MS), and a GET once the circuit breaker has opened (no upstream call).
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { buildServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDeps } from '../src/deps.js';
import { publish } from './lib.js';

const API_KEY = 'bench-key';

async function listen(server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function timed(url: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await request(url, { headers: { 'x-api-key': API_KEY }, headersTimeout: 120_000, bodyTimeout: 120_000 });
  await response.body.text();
  return { status: response.statusCode, ms: Math.round(performance.now() - started) };
}

export async function runHungUpstream(): Promise<void> {
  // Reads every request, answers none.
  const hung: Server = createServer((socket) => socket.resume());
  const crudPort = await listen(hung);
  const config = loadConfig({
    EMBEDDED_DB_PATH: join(mkdtempSync(join(tmpdir(), 'ums-bench-hung-')), 'ums.sqlite'),
    LOG_LEVEL: 'silent',
    API_KEYS: API_KEY,
    CRUD_SERVICE: `http://127.0.0.1:${crudPort}`,
    USERS_CRUD_ENDPOINT: '/users',
    UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
    ...(process.env.BENCH_REQUEST_TIMEOUT_MS ? { REQUEST_TIMEOUT_MS: process.env.BENCH_REQUEST_TIMEOUT_MS } : {}),
    ...(process.env.BENCH_CRUD_TIMEOUT_MS ? { CRUD_TIMEOUT_MS: process.env.BENCH_CRUD_TIMEOUT_MS } : {}),
  });
  const deps = await createDeps(config, pino({ level: 'silent' }));
  const server = buildServer(deps);
  const base = `http://127.0.0.1:${await listen(server)}`;

  const firstGet = await timed(`${base}/users/`);
  const ready = await timed(`${base}/-/ready`);
  // Enough failed calls at once to open the breaker, then one more.
  const opening = await Promise.all(Array.from({ length: config.UPSTREAM_BREAKER_THRESHOLD }, () => timed(`${base}/users/count`)));
  const whileOpen = await timed(`${base}/users/`);

  server.closeAllConnections();
  server.close();
  hung.close();
  deps.db.close();

  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    settings: {
      REQUEST_TIMEOUT_MS: config.REQUEST_TIMEOUT_MS,
      CRUD_TIMEOUT_MS: config.CRUD_TIMEOUT_MS,
      READINESS_TIMEOUT_MS: config.READINESS_TIMEOUT_MS,
      UPSTREAM_BREAKER_THRESHOLD: config.UPSTREAM_BREAKER_THRESHOLD,
      UPSTREAM_BREAKER_HALF_OPEN_MS: config.UPSTREAM_BREAKER_HALF_OPEN_MS,
    },
    firstGet,
    ready,
    openingMaxMs: Math.max(...opening.map((r) => r.ms)),
    whileOpen,
  };
  const markdown = [
    '| with a CRUD Service that never answers | status | time |',
    '|---|---|---|',
    `| first \`GET /users/\` (ended by REQUEST_TIMEOUT_MS, ${config.REQUEST_TIMEOUT_MS} ms) | ${firstGet.status} | ${firstGet.ms} ms |`,
    `| \`/-/ready\` (READINESS_TIMEOUT_MS, ${config.READINESS_TIMEOUT_MS} ms) | ${ready.status} | ${ready.ms} ms |`,
    `| \`GET /users/\` once the breaker is open | ${whileOpen.status} | ${whileOpen.ms} ms |`,
  ].join('\n');
  publish('hung-upstream', summary, markdown);
}
