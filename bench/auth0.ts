/**
 * Auth0 mode against the Auth0 emulator: Auth0 calls and latency of a GraphQL page of 100 users
 * with `identity` (versus the same page without it), against the emulator and against an Auth0
 * answering immediately (the target's condition), and 1,000 user creations against a tenant
 * limited to 16 Management requests/s (all succeed, none duplicated, close to the limit's minimum).
 */
import pLimit from 'p-limit';
import { alternatingLatency, ask, cpuPerRequest, type Latency, publish, startChild, WARM_UP_ROUNDS } from './lib.js';

const API_KEY = 'bench-key';
const PAGE = 100;
const CREATIONS = Number(process.env.BENCH_AUTH0_CREATIONS ?? 1000);
const RATE = 16;
/** Pages of each kind, measured in turns. */
const ROUNDS = 1000;
/** Pages of each kind whose CPU time is measured, one kind after the other. */
const CPU_ROUNDS = 1000;

interface Auth0Counts {
  managementCalls: number;
  searches: number;
  rateLimited: number;
  users: number;
  distinctEmails: number;
}

async function startPair(options: { rate?: number; immediate?: boolean }) {
  const auth0 = await startChild<{ url: string }>('./auth0-server.ts', {
    ...(options.rate ? { BENCH_AUTH0_RATE: String(options.rate) } : {}),
    ...(options.immediate ? { BENCH_AUTH0_IMMEDIATE: '1' } : {}),
  });
  const service = await startChild<{ port: number }>('./server.ts', { BENCH_AUTH0_URL: auth0.ready.url, BENCH_API_KEY: API_KEY });
  const base = `http://127.0.0.1:${service.ready.port}`;
  const stop = () => {
    service.child.send({ type: 'stop' });
    auth0.child.send({ type: 'stop' });
  };
  return { auth0, service, base, stop };
}

function createUser(base: string, index: number): Promise<Response> {
  return fetch(`${base}/users/?sendResetPwdEmail=false`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ userGroup: 'customer', username: `user${index}`, email: `user${index}@example.com`, name: `Name ${index}` }),
  });
}

/** With `immediate`, searches are answered from memory after their first time (bench/auth0-server.ts). */
async function pageCost(immediate: boolean) {
  const { auth0, service, base, stop } = await startPair({ immediate });
  for (let index = 0; index < PAGE; index += 1) if (!(await createUser(base, index)).ok) throw new Error('seeding failed');
  const graphql = (query: string) => ({
    url: `${base}/graphql`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ query }),
  });
  const withIdentity = graphql(`{ users(first: ${PAGE}) { nodes { id username identity { blocked lastLogin } } } }`);
  const without = graphql(`{ users(first: ${PAGE}) { nodes { id username } } }`);
  auth0.child.send({ type: 'reset' });
  const [plain, identity] = (await alternatingLatency([without, withIdentity], ROUNDS)) as [Latency, Latency];
  const rounds = WARM_UP_ROUNDS + ROUNDS;
  const counts = await ask<Auth0Counts>(auth0.child, 'counts');
  // The emulator's own time on each page's searches (it handles them one after the other).
  const searchTimes = await ask<number[]>(auth0.child, 'searchTimes');
  const perPage = Math.round(searchTimes.length / rounds);
  const pageTimes = Array.from({ length: Math.floor(searchTimes.length / perPage) }, (_, page) =>
    searchTimes.slice(page * perPage, (page + 1) * perPage).reduce((sum, ms) => sum + ms, 0),
  ).sort((a, b) => a - b);
  // CPU per page, of the service and of the Auth0 side (emulator or front), each kind on its own.
  const [servicePlain, auth0Plain] = await cpuPerRequest([service.child, auth0.child], without, CPU_ROUNDS);
  const [serviceIdentity, auth0Identity] = await cpuPerRequest([service.child, auth0.child], withIdentity, CPU_ROUNDS);
  stop();
  const ms = (value: number) => Number(value.toFixed(3));
  return {
    plain,
    identity,
    emulatorP50Ms: ms(pageTimes[Math.floor(pageTimes.length / 2)]!),
    auth0CallsPerPage: Number((counts.managementCalls / rounds).toFixed(2)),
    ratio: Number((identity.p50Ms / plain.p50Ms).toFixed(2)),
    addedP50Ms: ms(identity.p50Ms - plain.p50Ms),
    cpuMsPerPage: {
      service: { plain: servicePlain!, identity: serviceIdentity! },
      auth0: { plain: auth0Plain!, identity: auth0Identity! },
    },
  };
}

async function rateLimitedCreations() {
  const { auth0, base, stop } = await startPair({ rate: RATE });
  const limit = pLimit(32);
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: CREATIONS }, (_, index) =>
      limit(async () => {
        const response = await createUser(base, index);
        return { status: response.status, body: response.ok ? '' : await response.text() };
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const counts = await ask<Auth0Counts>(auth0.child, 'counts');
  stop();
  // The first second's burst is free (the bucket starts full), so the minimum is (N - rate) / rate.
  const minimum = (CREATIONS - RATE) / RATE;
  return {
    creations: CREATIONS,
    succeeded: answers.filter((answer) => answer.status === 200).length,
    failures: answers.filter((answer) => answer.status !== 200).slice(0, 5),
    auth0Users: counts.users,
    duplicates: counts.users - counts.distinctEmails,
    rateLimitedAnswers: counts.rateLimited,
    seconds: Number(seconds.toFixed(1)),
    minimumSeconds: Number(minimum.toFixed(1)),
    overMinimum: Number((seconds / minimum - 1).toFixed(3)),
  };
}

export async function runAuth0(): Promise<void> {
  const page = await pageCost(false);
  console.log(page);
  const immediate = await pageCost(true);
  console.log(immediate);
  const burst = await rateLimitedCreations();
  console.log(burst);
  const summary = { date: new Date().toISOString(), node: process.version, page, immediate, burst };
  publish(
    'auth0',
    summary,
    [
      `AUTH_MODULE=auth0 against the Auth0 emulator (in memory, in its own process on loopback), ${summary.date.slice(0, 10)}:`,
      '',
      `- GraphQL page of ${PAGE} users with \`identity\`: ${page.auth0CallsPerPage} Auth0 call(s) per page (target ≤ 2). Latency p50, one request at a time, the pages with and without \`identity\` taking turns (${ROUNDS} each, after ${WARM_UP_ROUNDS.toLocaleString('en')} rounds of warm-up):`,
      `  - with an Auth0 answering immediately (each search answered from memory after its first time, by a front on bare TCP, bench/auth0-server.ts): ${immediate.identity.p50Ms} ms against ${immediate.plain.p50Ms} ms, **${immediate.ratio}x** (target < 1.5x);`,
      `  - with the emulator doing the search: ${page.identity.p50Ms} ms against ${page.plain.p50Ms} ms, ${page.ratio}x; it spends ${page.emulatorP50Ms} ms (p50) on a page's search.`,
      `- CPU per page (user + system, ${CPU_ROUNDS} pages of each kind one at a time, Auth0 answering immediately): the service ${immediate.cpuMsPerPage.service.identity} ms with \`identity\` against ${immediate.cpuMsPerPage.service.plain} ms without (+${(immediate.cpuMsPerPage.service.identity - immediate.cpuMsPerPage.service.plain).toFixed(3)} ms); the front answering the searches ${immediate.cpuMsPerPage.auth0.identity} ms.`,
      `- ${burst.creations} user creations against a tenant limited to ${RATE} Management requests/s: ${burst.succeeded} succeeded, ${burst.auth0Users} Auth0 users, ${burst.duplicates} duplicated, ${burst.rateLimitedAnswers} answers were 429 and retried; ${burst.seconds} s against a minimum of ${burst.minimumSeconds} s (${(burst.overMinimum * 100).toFixed(1)}% over, target within 10%).`,
    ].join('\n'),
  );
}
