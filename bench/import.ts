/**
 * `PATCH /users/import` of a 100,000-row CSV on the embedded store: time, rows per second, and the
 * service's peak memory before and after (the file is streamed to disk and written in batches).
 */
import { ask, healthzTable, probeLatency, publish, startChild } from './lib.js';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const API_KEY = 'bench-key';

export async function runImport(): Promise<void> {
  const service = await startChild<{ port: number }>('./server.ts', { BENCH_USERS: '0', BENCH_API_KEY: API_KEY });
  const rows = Array.from({ length: ROWS }, (_, index) => `customer;user${index};user${index}@example.com;Name ${index};[a, b]`);
  const csv = `userGroup;username;email;name;tags\n${rows.join('\n')}\n`;
  const before = await ask<{ maxRssKiB: number }>(service.child, 'memory');
  const form = new FormData();
  form.append('delimiter', ';');
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
  const base = `http://127.0.0.1:${service.ready.port}`;
  const probe = probeLatency(`${base}/-/healthz`);
  const started = performance.now();
  const response = await fetch(`${base}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': API_KEY } });
  const body = (await response.json()) as { inserted: string[]; updated: string[]; invalid: unknown[] };
  const seconds = (performance.now() - started) / 1000;
  const healthz = await probe.stop();
  const after = await ask<{ maxRssKiB: number }>(service.child, 'memory');
  service.child.send({ type: 'stop' });
  if (response.status !== 200 || body.inserted.length !== ROWS)
    throw new Error(`import answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    rows: ROWS,
    fileBytes: Buffer.byteLength(csv),
    seconds: Number(seconds.toFixed(2)),
    rowsPerSecond: Math.round(ROWS / seconds),
    inserted: body.inserted.length,
    invalid: body.invalid.length,
    healthz,
    peakRssMiBBefore: Math.round(before.maxRssKiB / 1024),
    peakRssMiBAfter: Math.round(after.maxRssKiB / 1024),
  };
  console.log(summary);
  const mib = (bytes: number) => (bytes / 1_048_576).toFixed(1);
  publish(
    'import',
    summary,
    [
      `\`PATCH /users/import\` on the embedded store, ${summary.date.slice(0, 10)}: a CSV of ${ROWS.toLocaleString('en')} new users (${mib(summary.fileBytes)} MiB) in ${summary.seconds} s, **${summary.rowsPerSecond.toLocaleString('en')} rows/s**, all inserted, ${summary.invalid} skipped.`,
      `The service's peak memory: ${summary.peakRssMiBBefore} MiB before, ${summary.peakRssMiBAfter} MiB after (the answer itself holds the ${ROWS.toLocaleString('en')} ids).`,
      '',
      ...healthzTable([{ during: `the import of ${ROWS.toLocaleString('en')} rows`, healthz }]),
    ].join('\n'),
  );
}
