/**
 * npx tsx bench/cpu-per-request.ts [script] [path] [rounds]: the CPU time (user and system, all
 * threads) one benchmark process spends per request under the benchmark's load, next to its
 * requests per second. `script` is ./server.ts (the service, default) or ./floor-server.ts (its
 * path is `/count?_q=…` or `/page?_l=100`). CPU per request moves less than req/s when other work
 * shares the machine's cores, so two builds can be compared on a busy machine. User and system
 * time are given apart: the service and its floor spend about the same in the kernel.
 */
import { ask, benchTarget, measure, startChild } from './lib.js';

const COUNT_QUERY = `_q=${encodeURIComponent('{"userGroup":"partner"}')}`;
const [script = './server.ts', path = `/users/count?${COUNT_QUERY}`, rounds = '3'] = process.argv.slice(2);
const { child, ready } = await startChild<{ port: number }>(script, { BENCH_USERS: '10000', BENCH_API_KEY: 'bench-key' });
const cpu = () => ask<{ cpuMicros: number; user: number }>(child, 'cpu');
for (let round = 0; round < Number(rounds); round += 1) {
  let before = { cpuMicros: 0, user: 0 };
  const target = benchTarget(`http://127.0.0.1:${ready.port}`, path);
  const run = await measure(target, async () => {
    before = await cpu();
  });
  const after = await cpu();
  const micros = Math.round((after.cpuMicros - before.cpuMicros) / run.total);
  const user = Math.round((after.user - before.user) / run.total);
  console.log(`${script} ${path}: ${run.requestsPerSecond} req/s, ${micros} µs of CPU per request (user ${user}, system ${micros - user})`);
}
child.send({ type: 'stop' });
