/**
 * `GET /users/export` of 100,000 users on the embedded store: rows per second as the client
 * receives them, and the peak memory of a service process that did nothing before the export
 * (the users are seeded by another process), for CSV, CSV with the identities, and NDJSON.
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { ask, healthzTable, type ProbeLatency, probeLatency, publish, startChild } from './lib.js';

const USERS = Number(process.env.BENCH_EXPORT_USERS ?? 100_000);
const API_KEY = 'bench-key';
/** The seeded fields as a group schema declares them, so that the CSV has their columns. */
const SCHEMA = JSON.stringify({
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
});

interface Run {
  label: string;
  query: string;
  accept: string;
  env?: Record<string, string>;
}

const RUNS: Run[] = [
  { label: 'CSV', query: '', accept: 'text/csv' },
  { label: 'CSV with `?identity=true`', query: '?identity=true', accept: 'text/csv' },
  // The embedded provider keeps up to EMBEDDED_IDENTITY_CACHE_SIZE (100,000) identities it has read: without it, the export's own memory.
  {
    label: 'CSV with `?identity=true`, identity cache off',
    query: '?identity=true',
    accept: 'text/csv',
    env: { EMBEDDED_IDENTITY_CACHE_SIZE: '0' },
  },
  { label: 'NDJSON', query: '', accept: 'application/x-ndjson' },
];

interface Measured {
  label: string;
  rows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
  cpuSeconds: number;
  identityCalls: number;
  peakRssMiBBefore: number;
  peakRssMiBAfter: number;
  healthz: ProbeLatency;
}

export async function runExport(): Promise<void> {
  const db = join(mkdtempSync(join(tmpdir(), 'ums-bench-export-')), 'ums.sqlite');
  const env = { BENCH_DB_PATH: db, BENCH_SCHEMA: SCHEMA, BENCH_API_KEY: API_KEY };
  const seeder = await startChild<{ port: number }>('./server.ts', { ...env, BENCH_USERS: String(USERS) });
  await stop(seeder.child);
  // The seeding is still in the write-ahead log: without a checkpoint now, the first export's
  // process would copy it into the database file (SQLite's automatic checkpoint) while it exports.
  const file = new Database(db);
  file.pragma('wal_checkpoint(TRUNCATE)');
  file.close();
  // The machine's load when the runs start: on a shared machine, other work's CPU shows in every figure.
  const load = Number(loadavg()[0]!.toFixed(1));
  const results: Measured[] = [];
  for (const run of RUNS) results.push(await measureRun(run, env));
  const summary = { date: new Date().toISOString(), node: process.version, users: USERS, loadAverage: load, results };
  console.log(JSON.stringify(summary, null, 2));
  publish('export', summary, table(summary, results));
}

/** One export from a fresh service process on the seeded store. */
async function measureRun(run: Run, env: Record<string, string>): Promise<Measured> {
  const service = await startChild<{ port: number }>('./server.ts', { ...env, ...run.env, BENCH_USERS: '0' });
  const base = `http://127.0.0.1:${service.ready.port}`;
  const before = await ask<{ maxRssKiB: number }>(service.child, 'memory');
  const cpuBefore = await ask<{ cpuMicros: number }>(service.child, 'cpu');
  const probe = probeLatency(`${base}/-/healthz`);
  const started = performance.now();
  const response = await request(`${base}/users/export${run.query}`, { headers: { 'x-api-key': API_KEY, accept: run.accept } });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, index + 1)) lines += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const healthz = await probe.stop();
  const after = await ask<{ maxRssKiB: number }>(service.child, 'memory');
  const cpuAfter = await ask<{ cpuMicros: number }>(service.child, 'cpu');
  const { identityCalls } = await ask<{ identityCalls: number }>(service.child, 'counts');
  await stop(service.child);
  const rows = run.accept === 'text/csv' ? lines - 1 : lines;
  if (response.statusCode !== 200 || rows !== USERS) throw new Error(`export answered ${response.statusCode} with ${rows} rows`);
  return {
    label: run.label,
    rows,
    bytes,
    seconds: Number(seconds.toFixed(2)),
    rowsPerSecond: Math.round(rows / seconds),
    // The service's CPU (user + system): what the export costs, whatever else the machine runs.
    cpuSeconds: Number(((cpuAfter.cpuMicros - cpuBefore.cpuMicros) / 1e6).toFixed(2)),
    identityCalls,
    peakRssMiBBefore: Math.round(before.maxRssKiB / 1024),
    peakRssMiBAfter: Math.round(after.maxRssKiB / 1024),
    healthz,
  };
}

function stop(child: import('node:child_process').ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.send({ type: 'stop' });
  });
}

function table({ date, node, loadAverage }: { date: string; node: string; loadAverage: number }, results: Measured[]): string {
  const mib = (bytes: number) => (bytes / 1_048_576).toFixed(1);
  return [
    `\`GET /users/export\` on the embedded store, ${date.slice(0, 10)}, ${node}, 2 cores (load average ${loadAverage} when the runs began): ${USERS.toLocaleString('en')} users, each export from a fresh service process (the users seeded by another), read as fast as the client takes it:`,
    '',
    '| export | time s | rows/s | service CPU s | rows/s on a core of its own | size MiB | identity calls | peak RSS before MiB | peak RSS after MiB |',
    '|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.label} | ${r.seconds} | **${r.rowsPerSecond.toLocaleString('en')}** | ${r.cpuSeconds} | ${Math.round(r.rows / r.cpuSeconds).toLocaleString('en')} | ${mib(r.bytes)} | ${r.identityCalls} | ${r.peakRssMiBBefore} | ${r.peakRssMiBAfter} |`,
    ),
    '',
    ...healthzTable(results.map((r) => ({ during: `the ${r.label} export`, healthz: r.healthz }))),
  ].join('\n');
}
