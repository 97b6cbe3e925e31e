/**
 * The compiled service as production starts it (`node dist/main.js`, on a new store, first start
 * included): the time from the process's start to the first 200 of `/-/ready`, and its resident
 * memory (RSS) once idle. The start is measured from spawn, so Node.js's own start is counted.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/process.js';
import { publish } from './lib.js';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
/** How long the service stays idle before its RSS is read. */
const IDLE_MS = 3000;

async function oneStart(): Promise<{ readyMs: number; rssMiB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ums-bench-startup-'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      HTTP_PORT: String(port),
      HOST: '127.0.0.1',
      EMBEDDED_DB_PATH: join(dir, 'ums.sqlite'),
      LOG_LEVEL: 'silent',
      TMPDIR: dir,
    },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined);
      if (ready?.status === 200) break;
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const readyMs = Math.round(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]);
    return { readyMs, rssMiB: Math.round(rssKiB / 1024) };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runStartup(): Promise<void> {
  const runs = [];
  for (let run = 0; run < RUNS; run += 1) runs.push(await oneStart());
  const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    runs,
    readyMsMedian: median(runs.map((run) => run.readyMs)),
    rssMiBMedian: median(runs.map((run) => run.rssMiB)),
  };
  const markdown = [
    `\`node dist/main.js\` on a new embedded store (the administrator created), ${RUNS} starts, ${process.version}, ${summary.date.slice(0, 10)}:`,
    '',
    '| measure | median | runs |',
    '|---|---|---|',
    `| start to the first 200 of \`/-/ready\` | ${summary.readyMsMedian} ms | ${runs.map((run) => run.readyMs).join(', ')} |`,
    `| RSS after ${IDLE_MS / 1000} s idle (target ≤ 120 MiB) | ${summary.rssMiBMedian} MiB | ${runs.map((run) => run.rssMiB).join(', ')} |`,
  ].join('\n');
  publish('startup', summary, markdown);
}
