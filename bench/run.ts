/**
 * npm run bench: the service against a temporary embedded store of 10,000 users, over HTTP on
 * loopback, each scenario as requests/s and p50/p99 latency, with the identity-provider calls and
 * profile reads it costs per request. Writes bench/results/embedded.json and the README table.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { ARGON2_PARAMS } from '../src/embedded/password-hash.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 10;
const USERS = 10_000;
const API_KEY = 'bench-key';

interface Scenario {
  name: string;
  path: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}

interface Counts {
  identityCalls: number;
  profileReads: number;
}

const server = fork(new URL('./server.ts', import.meta.url).pathname, [], {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, BENCH_USERS: String(USERS), BENCH_API_KEY: API_KEY },
});
const { port } = await new Promise<{ port: number }>((resolve) => server.once('message', (m) => resolve(m as { port: number })));
const base = `http://127.0.0.1:${port}`;
const admin = { 'x-api-key': API_KEY, 'content-type': 'application/json' };
const credentials = JSON.stringify({ username: 'user1', password: 'Bench-password-1' });
const login = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: credentials });
const { accessToken } = (await login.json()) as { accessToken: string };

const SCENARIOS: Scenario[] = [
  { name: 'REST GET /users/?_l=100', path: '/users/?_l=100', headers: admin },
  {
    name: 'GraphQL users(first: 100) with identity',
    path: '/graphql',
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      query: '{ users(first: 100) { nodes { id username email userGroup identity { blocked emailVerified lastLogin } } } }',
    }),
  },
  { name: 'REST GET /users/count with _q', path: `/users/count?_q=${encodeURIComponent('{"userGroup":"partner"}')}`, headers: admin },
  {
    name: 'POST /oauth/token (argon2id verify)',
    path: '/oauth/token',
    method: 'POST',
    body: credentials,
    headers: { 'content-type': 'application/json' },
  },
  { name: 'GET /userinfo (bearer token)', path: '/userinfo', headers: { authorization: `Bearer ${accessToken}` } },
];

function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as T));
    child.send({ type });
  });
}

const results = [];
for (const scenario of SCENARIOS) {
  const options = {
    url: base + scenario.path,
    method: scenario.method ?? 'GET',
    body: scenario.body,
    headers: scenario.headers,
    connections: CONNECTIONS,
  };
  await autocannon({ ...options, duration: 2 });
  server.send({ type: 'reset' });
  const run = await autocannon({ ...options, duration: DURATION });
  const counts = await ask<Counts>(server, 'counts');
  if (run.non2xx > 0 || run.errors > 0) throw new Error(`${scenario.name}: ${run.non2xx} non-2xx, ${run.errors} errors`);
  const perRequest = (value: number) => Number((value / run.requests.total).toFixed(2));
  results.push({
    scenario: scenario.name,
    requestsPerSecond: Math.round(run.requests.average),
    p50Ms: run.latency.p50,
    p99Ms: run.latency.p99,
    identityCallsPerRequest: perRequest(counts.identityCalls),
    profileReadsPerRequest: perRequest(counts.profileReads),
  });
  console.log(results.at(-1));
}
server.send({ type: 'stop' });

const [rest, graphql, count, logins, userinfo] = results;
const cores = availableParallelism();
const summary = {
  date: new Date().toISOString(),
  users: USERS,
  connections: CONNECTIONS,
  durationSeconds: DURATION,
  node: process.version,
  cores,
  argon2: { memoryKiB: ARGON2_PARAMS.memoryCost, iterations: ARGON2_PARAMS.timeCost, parallelism: ARGON2_PARAMS.parallelism },
  results,
  checks: {
    identityCallsPerGraphqlPage: graphql!.identityCallsPerRequest,
    graphqlToRestThroughput: Number((graphql!.requestsPerSecond / rest!.requestsPerSecond).toFixed(2)),
    listP50UnderTenMs: rest!.p50Ms < 10,
    countP50UnderTenMs: count!.p50Ms < 10,
    loginsPerSecondPerCore: Number((logins!.requestsPerSecond / cores).toFixed(1)),
    userinfoIdentityCalls: userinfo!.identityCallsPerRequest,
    userinfoProfileReads: userinfo!.profileReadsPerRequest,
  },
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/embedded.json', import.meta.url), `${JSON.stringify(summary, null, 2)}\n`);

const { checks } = summary;
const table = [
  `Embedded store, ${USERS.toLocaleString('en')} users, ${CONNECTIONS} connections, ${DURATION} s each, ${process.version}, ${cores} cores, load generator on the same machine (${summary.date.slice(0, 10)}):`,
  '',
  '| scenario | req/s | p50 ms | p99 ms | identity calls / request | profile reads / request |',
  '|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.scenario} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.identityCallsPerRequest} | ${r.profileReadsPerRequest} |`,
  ),
  '',
  `- GraphQL page / REST page throughput: ${checks.graphqlToRestThroughput}x (target ≥ 0.7); identity calls per GraphQL page of 100: ${checks.identityCallsPerGraphqlPage} (target 1).`,
  `- List and count p50 under 10 ms at ${USERS.toLocaleString('en')} users: ${checks.listP50UnderTenMs && checks.countP50UnderTenMs ? 'yes' : 'no'}.`,
  `- Logins: ${checks.loginsPerSecondPerCore} per second per core with argon2id m=${summary.argon2.memoryKiB} KiB, t=${summary.argon2.iterations}, p=${summary.argon2.parallelism} (OWASP's first recommendation), against Keycloak's sizing anchor of 15 password logins/s per vCPU.`,
  `- /userinfo: no password hashing, ${checks.userinfoIdentityCalls} identity-provider calls and ${checks.userinfoProfileReads} profile read per request.`,
].join('\n');
const readmeUrl = new URL('../README.md', import.meta.url);
const readme = readFileSync(readmeUrl, 'utf8').replace(
  /<!-- bench:start -->[\s\S]*<!-- bench:end -->/,
  `<!-- bench:start -->\n${table}\n<!-- bench:end -->`,
);
writeFileSync(readmeUrl, readme);
console.log(table);
