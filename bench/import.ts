/**
 * `PATCH /users/import` of a CSV of new users on the embedded store, at 10,000 and 100,000 rows
 * (BENCH_IMPORT_ROWS sets the larger; the smaller is a tenth of it), each next to its floor measured
 * in the same run on the same file: the raw pipeline of bench/import-floor.ts (csv-parse, ajv, batched
 * inserts) in a process of its own. Each service is a fresh process, so its peak resident memory
 * (the kernel's high-water mark) is that of one import; BENCH_IMPORT_ROUNDS repeats the pairs.
 */
import { mkdtempSync, openAsBlob, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ask, healthzTable, probeLatency, type ProbeLatency, publish, startChild } from './lib.js';

const LARGE = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const SIZES = [Math.round(LARGE / 10), LARGE];
const ROUNDS = Number(process.env.BENCH_IMPORT_ROUNDS ?? 1);
const API_KEY = 'bench-key';
/** The group's schema, for the service and the floor alike: every row is checked against it. */
const SCHEMA = {
  type: 'object',
  properties: {
    username: { type: 'string', minLength: 1 },
    email: { type: 'string', format: 'email' },
    name: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['username', 'email'],
};

interface Floor {
  rowsPerSecond: number;
  peakRssMiB: number;
}

interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface Run {
  rows: number;
  round: number;
  floor: Floor;
  rowsPerSecond: number;
  ratio: number;
  peakRssMiBBefore: number;
  peakRssMiB: number;
  /** Peaks of process.memoryUsage() sampled every 5 ms during the import, MiB. */
  sampledPeaksMiB: Memory;
  answerBytes: number;
  healthz: ProbeLatency;
}

export async function runImport(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ums-bench-import-'));
  const load = loadavg()[0]!;
  try {
    const files = SIZES.map((rows) => writeCsv(dir, rows));
    const runs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const [index, rows] of SIZES.entries()) runs.push(await runPair(files[index]!, rows, round));
    }
    report(runs, load);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeCsv(dir: string, rows: number): string {
  const path = join(dir, `users-${rows}.csv`);
  const lines = Array.from({ length: rows }, (_, index) => `customer;user${index};user${index}@example.com;Name ${index};[a, b]`);
  writeFileSync(path, `userGroup;username;email;name;tags\n${lines.join('\n')}\n`);
  return path;
}

/** The floor, then the service, on the same file. */
async function runPair(file: string, rows: number, round: number): Promise<Run> {
  const floorChild = await startChild<Floor>('./import-floor.ts', { BENCH_IMPORT_FILE: file, BENCH_SCHEMA: JSON.stringify(SCHEMA) });
  const floor = floorChild.ready;
  const service = await startChild<{ port: number }>('./import-server.ts', {
    BENCH_USERS: '0',
    BENCH_API_KEY: API_KEY,
    BENCH_SCHEMA: JSON.stringify(SCHEMA),
  });
  const before = await ask<{ maxRssKiB: number }>(service.child, 'memory');
  await ask(service.child, 'sample');
  const form = new FormData();
  form.append('delimiter', ';');
  form.append('file', await openAsBlob(file, { type: 'text/csv' }), 'users.csv');
  const base = `http://127.0.0.1:${service.ready.port}`;
  const probe = probeLatency(`${base}/-/healthz`);
  const started = performance.now();
  const response = await fetch(`${base}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': API_KEY } });
  const text = await response.text();
  const seconds = (performance.now() - started) / 1000;
  const healthz = await probe.stop();
  const sampledPeaksMiB = await ask<Memory>(service.child, 'sampled');
  const after = await ask<{ maxRssKiB: number }>(service.child, 'memory');
  service.child.send({ type: 'stop' });
  const body = JSON.parse(text) as { inserted: string[]; invalid: unknown[] };
  if (response.status !== 200 || body.inserted.length !== rows || body.invalid.length > 0)
    throw new Error(`import answered ${response.status}: ${text.slice(0, 300)}`);
  const rowsPerSecond = Math.round(rows / seconds);
  const run = {
    rows,
    round,
    floor,
    rowsPerSecond,
    ratio: Number((rowsPerSecond / floor.rowsPerSecond).toFixed(2)),
    peakRssMiBBefore: Math.round(before.maxRssKiB / 1024),
    peakRssMiB: Math.round(after.maxRssKiB / 1024),
    sampledPeaksMiB,
    answerBytes: Buffer.byteLength(text),
    healthz,
  };
  console.log(run);
  return run;
}

function report(runs: Run[], load: number): void {
  const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  const of = (rows: number) => runs.filter((run) => run.rows === rows);
  const [small, large] = SIZES.map((rows) => ({
    rows,
    ratio: median(of(rows).map((run) => run.ratio)),
    peakRssMiB: median(of(rows).map((run) => run.peakRssMiB)),
  }));
  const checks = {
    ratioAtLargest: large!.ratio,
    peakRssMiBAtLargest: large!.peakRssMiB,
    peakRssGrowth: Number((large!.peakRssMiB / small!.peakRssMiB).toFixed(2)),
  };
  const date = new Date().toISOString();
  const cores = availableParallelism();
  publish(
    'import',
    { date, node: process.version, cores, loadAverage: load, runs, checks },
    [
      `\`PATCH /users/import\` on the embedded store, ${date.slice(0, 10)}, ${process.version}, ${cores} cores (load average ${load.toFixed(1)} when the runs began): a CSV of new users (\`customer;user1;user1@example.com;Name 1;[a, b]\`, checked against a group schema with a format and an array), each import by a fresh service process, next to the floor measured just before it on the same file (csv-parse + ajv + batched inserts into the same \`users\` table, \`bench/import-floor.ts\`, in a process of its own).`,
      '',
      '| rows | round | floor rows/s | service rows/s | ratio (target ≥ 0.6) | floor peak RSS MiB | service peak RSS MiB (target < 250) | before the import | heap used / total at peak MiB | answer bytes |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...runs.map(
        (r) =>
          `| ${r.rows.toLocaleString('en')} | ${r.round} | ${r.floor.rowsPerSecond.toLocaleString('en')} | **${r.rowsPerSecond.toLocaleString('en')}** | **${r.ratio}** | ${r.floor.peakRssMiB} | **${r.peakRssMiB}** | ${r.peakRssMiBBefore} | ${r.sampledPeaksMiB.heapUsed} / ${r.sampledPeaksMiB.heapTotal} | ${r.answerBytes.toLocaleString('en')} |`,
      ),
      '',
      `- Ratio to the floor at ${large!.rows.toLocaleString('en')} rows: ${checks.ratioAtLargest}x (median of the rounds); peak RSS ${checks.peakRssMiBAtLargest} MiB, ${checks.peakRssGrowth}x the peak at ${small!.rows.toLocaleString('en')} rows (target < 1.5x).`,
      '',
      ...healthzTable(
        runs.map((r) => ({ during: `the import of ${r.rows.toLocaleString('en')} rows (round ${r.round})`, healthz: r.healthz })),
      ),
    ].join('\n'),
  );
}
