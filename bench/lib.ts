import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Pool, request } from 'undici';

export const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
/** Long enough for V8 to finish optimizing the GraphQL path (2 s left it about 10% short of steady state). */
export const WARM_UP = Number(process.env.BENCH_WARM_UP_SECONDS ?? 5);
export const CONNECTIONS = 10;
/**
 * Warm-up of the one-at-a-time latency measures, in rounds rather than seconds: V8 optimizes a
 * function after some thousands of calls, and code that runs once per request of one target only
 * (the Auth0 search of an identity page) was still being optimized after 2,000 rounds
 * (--trace-opt: the loader, the search, undici's request writer), and done by about 5,000.
 */
export const WARM_UP_ROUNDS = Number(process.env.BENCH_WARM_UP_ROUNDS ?? 5000);

export interface Target {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}

/** The GraphQL page the embedded benchmark measures: 100 users with three fields of their identity. */
export const GRAPHQL_PAGE_QUERY =
  '{ users(first: 100) { nodes { id username email userGroup identity { blocked emailVerified lastLogin } } } }';

/**
 * What the one-route tools (cpu-per-request.ts, profile-one.ts) load, as the bench's administrator:
 * `graphql` is the GraphQL page above over POST, anything else a GET of that path and query.
 */
export function benchTarget(base: string, path: string): Target {
  const headers = { 'x-api-key': 'bench-key' };
  if (path !== 'graphql') return { url: `${base}${path}`, headers };
  const body = JSON.stringify({ query: GRAPHQL_PAGE_QUERY });
  return { url: `${base}/graphql`, method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } };
}

export interface Measure {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
}

/** What every results file records about the run. */
export function runInfo(users: number) {
  return {
    date: new Date().toISOString(),
    users,
    connections: CONNECTIONS,
    durationSeconds: DURATION,
    warmUpSeconds: WARM_UP,
    node: process.version,
  };
}

/** Starts a benchmark process (TypeScript, through tsx) and waits for its first IPC message. */
export async function startChild<T>(
  script: string,
  env: Record<string, string>,
  options: { stdout?: number } = {},
): Promise<{ child: ChildProcess; ready: T }> {
  // BENCH_CPU_PROF=<folder>: each child writes a V8 CPU profile there when it exits (to find what stalls the loop).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = fork(new URL(script, import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx', ...profile],
    env: { ...process.env, ...env },
    // A file descriptor for the service's standard output (its log), as a container runtime keeps it.
    ...(options.stdout === undefined ? {} : { stdio: ['inherit', options.stdout, 'inherit', 'ipc'] }),
  });
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, ready };
}

export function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as T));
    child.send({ type });
  });
}

/**
 * WARM_UP seconds of warm-up, then DURATION seconds of load; any non-2xx answer fails the run. The
 * load generator (autocannon, bench/load.ts) runs in a process of its own, forked for each measure.
 */
export async function measure(target: Target, beforeRun?: () => void | Promise<void>): Promise<Measure> {
  const options = { url: target.url, method: target.method ?? 'GET', body: target.body, headers: target.headers, connections: CONNECTIONS };
  const load = fork(new URL('./load.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'] });
  const exited = new Promise<never>((_resolve, reject) =>
    load.once('exit', (code) => reject(new Error(`load generator exited with ${code}`))),
  );
  const next = <T>() => Promise.race([new Promise<T>((resolve) => load.once('message', (message) => resolve(message as T))), exited]);
  load.send({ options, warmUp: WARM_UP, duration: DURATION });
  await next<{ type: 'warm' }>();
  await beforeRun?.();
  load.send({ type: 'go' });
  const run = await next<Measure & { non2xx: number; errors: number }>();
  if (run.non2xx > 0 || run.errors > 0) throw new Error(`${target.url}: ${run.non2xx} non-2xx, ${run.errors} errors`);
  return { requestsPerSecond: run.requestsPerSecond, p50Ms: run.p50Ms, p99Ms: run.p99Ms, total: run.total };
}

/**
 * Writes bench/results/<name>.json and the README section between `<!-- bench:<name>:start/end -->`;
 * with BENCH_LINE (`npm run bench:node24` sets `node24`), `<name>-<line>` for both: a run on the
 * other Node.js line keeps its own figures.
 */
export function publish(benchmark: string, summary: unknown, markdown: string): void {
  const name = process.env.BENCH_LINE ? `${benchmark}-${process.env.BENCH_LINE}` : benchmark;
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/${name}.json`, import.meta.url), `${JSON.stringify(summary, null, 2)}\n`);
  const readmeUrl = new URL('../README.md', import.meta.url);
  const pattern = new RegExp(`<!-- bench:${name}:start -->[\\s\\S]*<!-- bench:${name}:end -->`);
  const readme = readFileSync(readmeUrl, 'utf8');
  if (!pattern.test(readme) && process.env.BENCH_LINE) {
    // Another line's run of a benchmark whose figures the README gives for one line only.
    console.log(markdown, `\n(README.md has no bench:${name} section: figures in bench/results/${name}.json)`);
    return;
  }
  if (!pattern.test(readme)) throw new Error(`README.md has no bench:${name} markers`);
  writeFileSync(readmeUrl, readme.replace(pattern, `<!-- bench:${name}:start -->\n${markdown}\n<!-- bench:${name}:end -->`));
  console.log(markdown);
}

export interface Latency {
  p50Ms: number;
  p99Ms: number;
}

/**
 * CPU time (user + system, ms) each child process spends per request of `target`, over `count`
 * requests one at a time (the children answer the `cpu` IPC message).
 */
export async function cpuPerRequest(children: ChildProcess[], target: Target, count: number): Promise<number[]> {
  const cpu = () => Promise.all(children.map(async (child) => (await ask<{ cpuMicros: number }>(child, 'cpu')).cpuMicros));
  const before = await cpu();
  for (let round = 0; round < count; round += 1) {
    const response = await fetch(target.url, { method: target.method ?? 'GET', headers: target.headers, body: target.body });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${target.url}: ${response.status}`);
  }
  const after = await cpu();
  return after.map((micros, index) => Number(((micros - before[index]!) / count / 1000).toFixed(3)));
}

/** Unloaded latency with sub-millisecond precision: `count` requests one after another. */
export async function sequentialLatency(target: Target, count = 2000): Promise<Latency> {
  const [latency] = await alternatingLatency([target], count);
  return latency!;
}

/**
 * Unloaded latency of several targets, one request at a time, taking turns (so a drift of the
 * machine during the run weighs on each alike): WARM_UP_ROUNDS rounds of warm-up, then `count`
 * rounds measured.
 * Requests go through undici's `request` on a kept-alive connection rather than `fetch`: fetch's
 * web streams spent about 0.5 ms of the client's CPU per request on this machine, and that time
 * was counted in every latency.
 */
export async function alternatingLatency(targets: Target[], count: number): Promise<Latency[]> {
  const times = targets.map((): number[] => []);
  const round = async (measured: boolean) => {
    for (const [index, target] of targets.entries()) {
      const started = performance.now();
      const response = await request(target.url, { method: target.method ?? 'GET', headers: target.headers, body: target.body });
      await response.body.arrayBuffer();
      if (response.statusCode >= 300) throw new Error(`${target.url}: ${response.statusCode}`);
      if (measured) times[index]!.push(performance.now() - started);
    }
  };
  for (let warming = 0; warming < WARM_UP_ROUNDS; warming += 1) await round(false);
  for (let measured = 0; measured < count; measured += 1) await round(true);
  return times.map((measured) => {
    measured.sort((a, b) => a - b);
    const at = (quantile: number) => Number(measured[Math.floor(quantile * (measured.length - 1))]!.toFixed(3));
    return { p50Ms: at(0.5), p99Ms: at(0.99) };
  });
}

/** `/-/healthz` (or any probe) latency while something else runs. */
export interface ProbeLatency {
  samples: number;
  /** Probes that got no 200 answer. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Probes `url` every `everyMs` until stopped, as a health checker would: each probe goes on its own
 * schedule, not after the previous answer, and is timed from when it was sent. A stalled event loop
 * so shows in every probe that fell into the stall, not as one slow sample.
 */
export function probeLatency(url: string, everyMs = 20): { stop(): Promise<ProbeLatency> } {
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin, { connections: 16 });
  const times: number[] = [];
  let errors = 0;
  const inFlight = new Set<Promise<void>>();
  const probe = async () => {
    const sent = performance.now();
    try {
      const response = await pool.request({ path: pathname, method: 'GET' });
      await response.body.arrayBuffer();
      if (response.statusCode !== 200) errors += 1;
    } catch {
      errors += 1;
    }
    times.push(performance.now() - sent);
  };
  const tick = () => {
    const running = probe().finally(() => inFlight.delete(running));
    inFlight.add(running);
  };
  const timer = setInterval(tick, everyMs);
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      await pool.close();
      const sorted = times.toSorted((a, b) => a - b);
      const at = (quantile: number) => Number(sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)]!.toFixed(1));
      return { samples: sorted.length, errors, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    },
  };
}

/** The README table of `/-/healthz` latencies, one row per job it was probed during. */
export function healthzTable(rows: { during: string; healthz: ProbeLatency }[]): string[] {
  return [
    '| `/-/healthz` probed every 20 ms during | p50 ms | p99 ms (target < 100) | max ms | probes | failed |',
    '|---|---|---|---|---|---|',
    ...rows.map(({ during, healthz: h }) => `| ${during} | ${h.p50Ms} | ${h.p99Ms} | ${h.maxMs} | ${h.samples} | ${h.errors} |`),
  ];
}
