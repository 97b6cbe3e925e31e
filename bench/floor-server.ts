/**
 * The floor of the embedded benchmark: the least a Node server over SQLite does for the service's
 * page and count, in its own process. node:http and better-sqlite3 only: no framework, no access
 * check, no metrics. The same 10,000 users (seed.ts) in a file of its own, the service's schema
 * (its indexes included).
 * - `GET /page?_l=100`: the first page of PUBLIC users in insertion order, the JSON built by
 *   SQLite (`json_group_array(json(doc))`), sent as SQLite gives it.
 * - `GET /count?_q={"userGroup":…}`: the number of PUBLIC users of that group, over the same
 *   index (user_group, state, seq) as the service's count.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/embedded/db.js';
import { seedUsers } from './seed.js';

const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'ums-floor-')), 'floor.sqlite'));
await seedUsers(db, Number(process.env.BENCH_USERS ?? 10_000));
const page = db
  .prepare<[number], string>("SELECT json_group_array(json(doc)) FROM (SELECT doc FROM users WHERE state = 'PUBLIC' ORDER BY seq LIMIT ?)")
  .pluck();
const count = db.prepare<[string], number>("SELECT COUNT(*) FROM users WHERE state = 'PUBLIC' AND user_group = ?").pluck();

function answer(url: string): { status: number; body: string } {
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const query = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1));
  if (path === '/page') return { status: 200, body: page.get(Number(query.get('_l') ?? 25))! };
  if (path === '/count') {
    const filter = JSON.parse(query.get('_q') ?? '{}') as { userGroup?: unknown };
    if (typeof filter.userGroup !== 'string') return { status: 400, body: '{"message":"_q needs a userGroup"}' };
    return { status: 200, body: String(count.get(filter.userGroup)) };
  }
  return { status: 404, body: '{"message":"not found"}' };
}

const server = createServer((req, res) => {
  const { status, body } = answer(req.url ?? '/');
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('message', (message: { type: string }) => {
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send!({ cpuMicros: user + system, user });
  }
  if (message.type === 'stop') server.close(() => process.exit(0));
});
