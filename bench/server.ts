/**
 * The service under benchmark (its build, dist/), in its own process so the load generator does not
 * share its event loop. Seeds a temporary embedded store, listens on 127.0.0.1, and answers IPC
 * requests for the number of identity-provider calls it made.
 */
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { IdentityProvider } from '../src/ports/identity-provider.js';
import type { UserStore } from '../src/ports/user-store.js';
import { AUTH0_TEST_TENANT } from '../test/helpers/auth0-tenant.js';
import { built } from './built.js';
import { seedUsers } from './seed.js';

// The service as production runs it (bench/built.ts).
const { buildServer } = await built<typeof import('../src/app.js')>('app.js');
const { startBackground } = await built<typeof import('../src/background.js')>('background.js');
const { loadConfig } = await built<typeof import('../src/config.js')>('config.js');
const { createDeps } = await built<typeof import('../src/deps.js')>('deps.js');
const { createLogger } = await built<typeof import('../src/observability/logger.js')>('observability/logger.js');

const users = Number(process.env.BENCH_USERS ?? 10_000);
/** Job settings the activation benchmark passes on. */
const jobEnv = Object.fromEntries(
  ['JOBS_POLL_MS', 'AUTH0_JOB_POLLING_INTERVAL', 'AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND', 'BULK_JOB_MAX_USERS'].flatMap(
    (name) => (process.env[name] ? [[name, process.env[name]!]] : []),
  ),
);
const config = loadConfig({
  // BENCH_DB_PATH: a store an earlier process seeded (the export benchmark measures a fresh process).
  EMBEDDED_DB_PATH: process.env.BENCH_DB_PATH ?? join(mkdtempSync(join(tmpdir(), 'ums-bench-')), 'ums.sqlite'),
  LOG_LEVEL: 'silent',
  ...jobEnv,
  API_KEYS: process.env.BENCH_API_KEY ?? 'bench-key',
  // BENCH_OBSERVE=off: no metrics, no access log; =on: both, the log at info on stdout (the observability benchmark).
  ...(process.env.BENCH_OBSERVE === 'off' ? { METRICS_ENABLED: 'false', ACCESS_LOG: 'false' } : {}),
  ...(process.env.BENCH_OBSERVE === 'on' ? { METRICS_ENABLED: 'true', ACCESS_LOG: 'true', LOG_LEVEL: 'info' } : {}),
  ...(process.env.BENCH_OBSERVE === 'metrics' ? { METRICS_ENABLED: 'true', ACCESS_LOG: 'false' } : {}),
  ...(process.env.BENCH_OBSERVE === 'log' ? { METRICS_ENABLED: 'false', ACCESS_LOG: 'true', LOG_LEVEL: 'info' } : {}),
  ...(process.env.EMBEDDED_IDENTITY_CACHE_SIZE ? { EMBEDDED_IDENTITY_CACHE_SIZE: process.env.EMBEDDED_IDENTITY_CACHE_SIZE } : {}),
  // With BENCH_AUTH0_URL the identities are in that Auth0 tenant (the Auth0 benchmark).
  ...(process.env.BENCH_AUTH0_URL
    ? {
        AUTH_MODULE: 'auth0',
        AUTH0_BASE_URL: process.env.BENCH_AUTH0_URL,
        AUTH0_CLIENT_ID: AUTH0_TEST_TENANT.clientId,
        AUTH0_CLIENT_SECRET: AUTH0_TEST_TENANT.clientSecret,
        AUTH0_AUDIENCE: AUTH0_TEST_TENANT.audience,
        AUTH_CONNECTION: AUTH0_TEST_TENANT.connection,
        AUTH0_MAX_CONCURRENCY: '16',
        AUTH0_MAX_RETRIES: '20',
      }
    : {}),
  // With BENCH_CRUD_URL the profiles are in that CRUD Service (the gateway benchmark).
  ...(process.env.BENCH_CRUD_URL
    ? { CRUD_SERVICE: process.env.BENCH_CRUD_URL, USERS_CRUD_ENDPOINT: '/users', UMS_CONFIG_CRUD_ENDPOINT: '/ums-config' }
    : {}),
});
const deps = await createDeps(
  config,
  ['on', 'log'].includes(process.env.BENCH_OBSERVE ?? '') ? createLogger({ level: 'info' }) : pino({ level: 'silent' }),
);
const counts = { identityCalls: 0, profileReads: 0 };
const identity: IdentityProvider = {
  ...deps.identity,
  getUsers: (ids, fields) => {
    counts.identityCalls += 1;
    return deps.identity.getUsers(ids, fields);
  },
};
const store: UserStore = {
  ...deps.users,
  find: (filter, options) => {
    counts.profileReads += 1;
    return deps.users.find(filter, options);
  },
  list: (query, scope) => {
    counts.profileReads += 1;
    return deps.users.list(query, scope);
  },
  ...(deps.users.listText && {
    listText: (query: string, scope: Parameters<NonNullable<UserStore['listText']>>[1]) => {
      counts.profileReads += 1;
      return deps.users.listText!(query, scope);
    },
  }),
  ...(deps.users.listKeyed && {
    listKeyed: (query: string, scope: Parameters<NonNullable<UserStore['listKeyed']>>[1]) => {
      counts.profileReads += 1;
      return deps.users.listKeyed!(query, scope);
    },
  }),
  count: (query, scope) => {
    counts.profileReads += 1;
    return deps.users.count(query, scope);
  },
};
for (const userGroup of process.env.BENCH_CRUD_URL ? [] : ['customer', 'partner']) {
  await deps.groups.saveGroup(
    {
      userGroup,
      label: userGroup,
      authUserCreationDisabled: false,
      crudSchema: process.env.BENCH_SCHEMA ? JSON.parse(process.env.BENCH_SCHEMA) : { type: 'object' },
    },
    { actorId: 'bench', headers: {} },
  );
}
if (!process.env.BENCH_CRUD_URL && !process.env.BENCH_AUTH0_URL) await seedUsers(deps.db, users);
const served = { ...deps, identity, users: store };
// BENCH_JOBS=1: the bulk jobs' worker runs, as in main.ts.
if (process.env.BENCH_JOBS) startBackground(served);
const server = buildServer(served).listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
/**
 * BENCH_STALLS=<prefix>: the event loop's stalls over 50 ms (a 5 ms timer that came late), written on
 * exit to <prefix>.<pid>.json as [end µs, length ms] on the clock of a `--cpu-prof` profile (BENCH_CPU_PROF),
 * to find what caused them.
 */
const stalls: [number, number][] = [];
if (process.env.BENCH_STALLS) {
  let last = process.hrtime.bigint();
  setInterval(() => {
    const now = process.hrtime.bigint();
    const late = Number(now - last) / 1e6;
    if (late > 55) stalls.push([Number(now / 1000n), Math.round(late - 5)]);
    last = now;
  }, 5).unref();
  process.on('exit', () => writeFileSync(`${process.env.BENCH_STALLS!}.${process.pid}.json`, JSON.stringify(stalls)));
}
process.on('message', (message: { type: string }) => {
  if (message.type === 'counts') process.send!(counts);
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send!({ cpuMicros: user + system, user });
  }
  // Peak resident memory so far (kernel's high-water mark), to show an import's memory stays flat.
  if (message.type === 'memory') process.send!({ maxRssKiB: process.resourceUsage().maxRSS });
  if (message.type === 'reset') Object.assign(counts, { identityCalls: 0, profileReads: 0 });
  if (message.type === 'stop') server.close(() => process.exit(0));
});
