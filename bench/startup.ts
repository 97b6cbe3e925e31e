/**
 * The compiled service as production starts it (`node dist/main.js`): the time from the process's
 * start to the first 200 of `/-/ready` (Node.js's own start counted), and its resident memory
 * (RSS) 3 s after that and once idle (120 s: V8 returns the start-up's young generation and
 * fragmentation with a memory-reducing GC 30 s to 2 min after its last GC). Each store is started
 * twice: new (the administrator created, one argon2 hash) and again (a restart: no hash).
 * The services of a phase idle side by side, so the bench takes minutes, not RUNS minutes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/process.js';
import { publish } from './lib.js';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
/** When the RSS is read after ready: just started, and idle. */
const JUST_STARTED_MS = 3000;
const IDLE_MS = Number(process.env.BENCH_STARTUP_IDLE_SECONDS ?? 120) * 1000;

interface Memory {
  rssMiB: number;
  /** Of the RSS: anonymous memory (the V8 heap, malloc) and file-backed pages (the node binary, native modules). */
  anonMiB: number;
  fileMiB: number;
}

interface Start {
  readyMs: number;
  started: Memory;
  idle: Memory;
}

function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024);
  return { rssMiB: mib('VmRSS'), anonMiB: mib('RssAnon'), fileMiB: mib('RssFile') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the service on `dir`'s store; answers once `/-/ready` said 200 and 3 s passed. */
async function start(dir: string): Promise<{ child: ChildProcess; readyMs: number; readyAt: number; started: Memory }> {
  const port = await freePort();
  const startedAt = performance.now();
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
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
    await sleep(10);
  }
  const readyAt = performance.now();
  await sleep(JUST_STARTED_MS);
  return { child, readyMs: Math.round(readyAt - startedAt), readyAt, started: memory(child.pid!) };
}

/** One start on each store, one after the other; then each is read once idle, and stopped. */
async function phase(dirs: string[]): Promise<Start[]> {
  const running = [];
  try {
    for (const dir of dirs) running.push(await start(dir));
    const runs: Start[] = [];
    for (const { child, readyMs, readyAt, started } of running) {
      await sleep(Math.max(0, readyAt + IDLE_MS - performance.now()));
      runs.push({ readyMs, started, idle: memory(child.pid!) });
    }
    return runs;
  } finally {
    for (const { child } of running) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  }
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;

function rows(label: string, runs: Start[]): string[] {
  const row = (measure: string, unit: string, pick: (run: Start) => number) =>
    `| ${label}: ${measure} | ${median(runs.map(pick))} ${unit} | ${runs.map(pick).join(', ')} |`;
  return [
    row('start to the first 200 of `/-/ready`', 'ms', (run) => run.readyMs),
    row(`RSS ${JUST_STARTED_MS / 1000} s after ready`, 'MiB', (run) => run.started.rssMiB),
    row(`RSS idle (${IDLE_MS / 1000} s after ready; target ≤ 120 MiB)`, 'MiB', (run) => run.idle.rssMiB),
    row('idle: anonymous (V8 heap, malloc, argon2)', 'MiB', (run) => run.idle.anonMiB),
    row('idle: file-backed (node binary, native modules)', 'MiB', (run) => run.idle.fileMiB),
  ];
}

export async function runStartup(): Promise<void> {
  const dirs = Array.from({ length: RUNS }, () => mkdtempSync(join(tmpdir(), 'ums-bench-startup-')));
  try {
    const first = await phase(dirs);
    const restart = await phase(dirs);
    const summary = {
      date: new Date().toISOString(),
      node: process.version,
      first,
      restart,
      readyMsMedian: median(first.map((run) => run.readyMs)),
      rssMiBMedian: median(first.map((run) => run.started.rssMiB)),
      idleRssMiBMedian: median(first.map((run) => run.idle.rssMiB)),
      restartIdleRssMiBMedian: median(restart.map((run) => run.idle.rssMiB)),
    };
    const markdown = [
      `\`node dist/main.js\`, ${RUNS} first starts on new embedded stores (the administrator created) and ${RUNS} restarts on them, ${process.version}, ${summary.date.slice(0, 10)}:`,
      '',
      '| measure | median | runs |',
      '|---|---|---|',
      ...rows('first start', first),
      ...rows('restart', restart),
    ].join('\n');
    publish('startup', summary, markdown);
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
