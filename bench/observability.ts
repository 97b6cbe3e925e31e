/**
 * What the metrics and the access log cost on the REST page of 100 users (`GET /users/?_l=100`,
 * the fast path): two service processes on the same embedded store size, one with METRICS_ENABLED
 * and ACCESS_LOG off, one with both on and the log at info written to a file (as a container
 * runtime keeps a service's standard output). They take turns, several rounds, so a
 * drift of the machine weighs on both alike. Target: at most 5% of the throughput.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ask, CONNECTIONS, DURATION, measure, publish, runInfo, startChild, WARM_UP } from './lib.js';

const USERS = 10_000;
const API_KEY = 'bench-key';
const ROUNDS = Number(process.env.BENCH_OBSERVE_ROUNDS ?? 5);
const TARGET_COST = 0.05;

interface Side {
  child: ChildProcess;
  url: string;
  /** Where its standard output (the log) goes. */
  file: string;
}

interface Round {
  off: number;
  on: number;
  offCpuMicros: number;
  onCpuMicros: number;
}

/** The median of the rounds: a round disturbed by another process on the shared cores does not move it. */
const median = (values: number[]) => {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const pct = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

/** The page under load, and the service's CPU (user + system) per request over the measured seconds. */
async function load(side: Side, headers: Record<string, string>): Promise<{ requestsPerSecond: number; cpuMicros: number }> {
  const cpu = async () => (await ask<{ cpuMicros: number }>(side.child, 'cpu')).cpuMicros;
  let before = 0;
  const run = await measure({ url: side.url, headers }, async () => {
    before = await cpu();
  });
  return { requestsPerSecond: run.requestsPerSecond, cpuMicros: Math.round(((await cpu()) - before) / run.total) };
}

async function start(mode: 'on' | 'off'): Promise<Side> {
  const file = join(mkdtempSync(join(tmpdir(), 'ums-bench-log-')), 'service.log');
  const fd = openSync(file, 'w');
  const { child, ready } = await startChild<{ port: number }>(
    './server.ts',
    { BENCH_USERS: String(USERS), BENCH_API_KEY: API_KEY, BENCH_OBSERVE: mode },
    { stdout: fd },
  );
  closeSync(fd);
  return { child, url: `http://127.0.0.1:${ready.port}/users/?_l=100`, file };
}

/** The lines the service wrote to its log file, and their mean length. */
function logOf(side: Side): { lines: number; bytesPerLine: number } {
  const text = readFileSync(side.file, 'utf8');
  const lines = text.split('\n').length - 1;
  return { lines, bytesPerLine: Math.round(Buffer.byteLength(text) / Math.max(lines, 1)) };
}

export async function runObservability(): Promise<void> {
  const off = await start('off');
  const on = await start('on');
  const headers = { 'x-api-key': API_KEY };
  const rounds: Round[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const [plain, observed] = [await load(off, headers), await load(on, headers)];
    rounds.push({
      off: plain.requestsPerSecond,
      on: observed.requestsPerSecond,
      offCpuMicros: plain.cpuMicros,
      onCpuMicros: observed.cpuMicros,
    });
    console.log(rounds.at(-1));
  }
  const scrape = await (await fetch(new URL('/-/metrics', on.url))).text();
  const counted = /^http_request_duration_seconds_count\{route="\/users\/",method="GET",status_code="200"\} (\d+)/m.exec(scrape)?.[1];
  for (const side of [off, on]) side.child.send({ type: 'stop' });
  await new Promise((resolve) => on.child.once('exit', resolve));
  const log = logOf(on);
  const offMedian = median(rounds.map((r) => r.off));
  const onMedian = median(rounds.map((r) => r.on));
  const cost = 1 - onMedian / offMedian;
  const cpuCost = 1 - median(rounds.map((r) => r.offCpuMicros)) / median(rounds.map((r) => r.onCpuMicros));
  const summary = {
    ...runInfo(USERS),
    rounds,
    offRequestsPerSecond: Math.round(offMedian),
    onRequestsPerSecond: Math.round(onMedian),
    cost: Number(cost.toFixed(4)),
    cpuCost: Number(cpuCost.toFixed(4)),
    withinTarget: Math.max(cost, cpuCost) <= TARGET_COST,
    logLines: log.lines,
    logBytesPerLine: log.bytesPerLine,
    requestsCountedByTheService: Number(counted ?? 0),
  };
  publish(
    'observability',
    summary,
    [
      `Metrics and access log on the REST page of 100 users (\`GET /users/?_l=100\`, embedded store of ${USERS.toLocaleString('en')} users), ${CONNECTIONS} connections, ${DURATION} s each after ${WARM_UP} s of warm-up, ${ROUNDS} rounds taking turns, ${process.version} (${summary.date.slice(0, 10)}):`,
      '',
      '| round | off req/s | on req/s | off CPU µs / request | on CPU µs / request |',
      '|---|---|---|---|---|',
      ...rounds.map((r, index) => `| ${index + 1} | ${r.off} | ${r.on} | ${r.offCpuMicros} | ${r.onCpuMicros} |`),
      `| median | ${summary.offRequestsPerSecond} | ${summary.onRequestsPerSecond} | ${Math.round(median(rounds.map((r) => r.offCpuMicros)))} | ${Math.round(median(rounds.map((r) => r.onCpuMicros)))} |`,
      '',
      `- Cost of \`METRICS_ENABLED\` + \`ACCESS_LOG\` (log at info, ${summary.logLines.toLocaleString('en')} lines of about ${summary.logBytesPerLine} bytes, to a file): **${pct(cost)}** of the throughput, **${pct(cpuCost)}** of the service's CPU per request (target ≤ ${TARGET_COST * 100}%): ${summary.withinTarget ? 'met' : 'not met'}. The service counted ${summary.requestsCountedByTheService.toLocaleString('en')} pages in \`http_request_duration_seconds\`.`,
      "- The service's CPU per request (user + system, over the measured seconds) is the steadier figure on a shared machine: the load generator and other processes take turns with the service on the same cores, which moves the throughput from round to round more than the metrics do.",
      "- A first run of this comparison, with the access line going through the redaction of secret paths (2 rounds, the log to a pipe), measured 23% of the throughput: pino's wildcard redaction costs about 20 µs a line against 3 µs for the line itself (a loop of 200,000 lines), so the access line, whose fields are all the service's own, skips it.",
    ].join('\n'),
  );
}
