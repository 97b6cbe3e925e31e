/**
 * npx tsx bench/profile-one.ts <path-and-query>: the service of bench/server.ts (10,000
 * users) under load on one request only, with a V8 CPU profile written to BENCH_CPU_PROF (default
 * /tmp/ums-profile); summarise it with bench/cpu-profile.ts. For finding what one route costs.
 */
import { benchTarget, measure, startChild } from './lib.js';

const [path = '/users/count'] = process.argv.slice(2);
process.env.BENCH_CPU_PROF ??= '/tmp/ums-profile';
const { child, ready } = await startChild<{ port: number }>('./server.ts', { BENCH_USERS: '10000', BENCH_API_KEY: 'bench-key' });
const run = await measure(benchTarget(`http://127.0.0.1:${ready.port}`, path));
console.log(run, `profile in ${process.env.BENCH_CPU_PROF}`);
child.send({ type: 'stop' });
