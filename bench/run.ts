/**
 * npm run bench: the service's REST and GraphQL user reads against 10,000 users, each as
 * requests/s and p50/p99 latency, plus identity-provider calls per GraphQL page. Writes
 * bench/results/users-embedded.json and the table between the bench markers of README.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 10;
const USERS = 10_000;

interface Scenario {
  name: string;
  path: string;
  method?: string;
  body?: string;
}

const graphqlPage = JSON.stringify({
  query: '{ users(first: 100) { nodes { id username email userGroup identity { blocked emailVerified lastLogin } } } }',
});
const SCENARIOS: Scenario[] = [
  { name: 'REST GET /users/?_l=100', path: '/users/?_l=100' },
  { name: 'GraphQL users(first: 100) with identity', path: '/graphql', method: 'POST', body: graphqlPage },
  { name: 'REST GET /users/count with _q', path: `/users/count?_q=${encodeURIComponent('{"userGroup":"partner"}')}` },
];

function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as T));
    child.send({ type });
  });
}

const server = fork(new URL('./server.ts', import.meta.url).pathname, [], {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, BENCH_USERS: String(USERS) },
});
const { port } = await new Promise<{ port: number }>((resolve) => server.once('message', (m) => resolve(m as { port: number })));

const results = [];
for (const scenario of SCENARIOS) {
  const url = `http://127.0.0.1:${port}${scenario.path}`;
  await autocannon({
    url,
    method: scenario.method ?? 'GET',
    body: scenario.body,
    headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS,
    duration: 2,
  });
  server.send({ type: 'reset' });
  const run = await autocannon({
    url,
    method: scenario.method ?? 'GET',
    body: scenario.body,
    headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS,
    duration: DURATION,
  });
  const { identityCalls } = await ask<{ identityCalls: number }>(server, 'counts');
  if (run.non2xx > 0 || run.errors > 0) throw new Error(`${scenario.name}: ${run.non2xx} non-2xx, ${run.errors} errors`);
  results.push({
    scenario: scenario.name,
    requestsPerSecond: Math.round(run.requests.average),
    p50Ms: run.latency.p50,
    p99Ms: run.latency.p99,
    identityCallsPerRequest: Number((identityCalls / run.requests.total).toFixed(2)),
  });
  console.log(results.at(-1));
}
server.send({ type: 'stop' });

const [rest, graphql, count] = results;
const summary = {
  date: new Date().toISOString(),
  users: USERS,
  connections: CONNECTIONS,
  durationSeconds: DURATION,
  node: process.version,
  results,
  checks: {
    identityCallsPerGraphqlPage: graphql!.identityCallsPerRequest,
    graphqlToRestThroughput: Number((graphql!.requestsPerSecond / rest!.requestsPerSecond).toFixed(2)),
    listP50UnderTenMs: rest!.p50Ms < 10,
    countP50UnderTenMs: count!.p50Ms < 10,
  },
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/users-embedded.json', import.meta.url), `${JSON.stringify(summary, null, 2)}\n`);

const table = [
  `Embedded store, ${USERS.toLocaleString('en')} users, ${CONNECTIONS} connections, ${DURATION} s each, ${process.version}, 2 cores (${summary.date.slice(0, 10)}):`,
  '',
  '| scenario | req/s | p50 ms | p99 ms | identity calls / request |',
  '|---|---|---|---|---|',
  ...results.map((r) => `| ${r.scenario} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.identityCallsPerRequest} |`),
  '',
  `GraphQL page / REST page throughput: ${summary.checks.graphqlToRestThroughput}x (target ≥ 0.7). Identity calls per GraphQL page of 100: ${summary.checks.identityCallsPerGraphqlPage} (target 1).`,
].join('\n');
const readmeUrl = new URL('../README.md', import.meta.url);
const readme = readFileSync(readmeUrl, 'utf8').replace(
  /<!-- bench:start -->[\s\S]*<!-- bench:end -->/,
  `<!-- bench:start -->\n${table}\n<!-- bench:end -->`,
);
writeFileSync(readmeUrl, readme);
console.log(table);
