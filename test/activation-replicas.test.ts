import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Deps } from '../src/context.js';
import {
  AUTH0_TEST_TENANT,
  countIdentities,
  CUSTOMER_GROUP,
  seedGroups,
  type ServiceOptions,
  startService,
  type TestService,
} from './helpers/service.js';

const FAST = { JOBS_POLL_MS: '50', JOBS_LEASE_MS: '2000', AUTH0_JOB_POLLING_INTERVAL: '20' };
const USERS = 6;

/** Two replicas of the service on one store and one identity provider. */
interface Backend {
  name: string;
  start(wrap: ServiceOptions['wrap']): Promise<[TestService, TestService]>;
}

const folders: string[] = [];

const BACKENDS: Backend[] = [
  {
    name: 'two processes on one embedded file',
    async start(wrap) {
      const folder = mkdtempSync(join(tmpdir(), 'ums-replicas-'));
      folders.push(folder);
      const env = { ...FAST, EMBEDDED_DB_PATH: join(folder, 'ums.sqlite') };
      const first = await startService({ store: 'embedded', identity: 'embedded', env, background: true, wrap });
      return [first, await startService({ store: 'embedded', identity: 'embedded', env, background: true, wrap })];
    },
  },
  {
    name: 'two processes on the same CRUD and Auth0',
    async start(wrap) {
      const first = await startService({ store: 'crud', identity: 'auth0', env: FAST, background: true, wrap });
      const env = {
        ...FAST,
        CRUD_SERVICE: first.crud!.url,
        USERS_CRUD_ENDPOINT: '/users',
        UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
        JOBS_CRUD_ENDPOINT: '/jobs',
        AUTH_MODULE: 'auth0',
        AUTH0_BASE_URL: first.auth0!.url,
        AUTH0_CLIENT_ID: AUTH0_TEST_TENANT.clientId,
        AUTH0_CLIENT_SECRET: AUTH0_TEST_TENANT.clientSecret,
        AUTH0_AUDIENCE: AUTH0_TEST_TENANT.audience,
        AUTH_CONNECTION: AUTH0_TEST_TENANT.connection,
      };
      return [first, await startService({ store: 'embedded', identity: 'embedded', env, background: true, wrap })];
    },
  },
];

let running: TestService[] = [];
afterEach(async () => {
  // The second replica first: the first one owns the emulators.
  for (const service of running.toReversed()) await service.close();
  running = [];
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/**
 * Holds every import job until both replicas have started one, so both jobs read the profiles
 * before either gives them an identity: the race two replicas run into.
 */
function bothImportsAtOnce(): ServiceOptions['wrap'] {
  let started = 0;
  let release: () => void = () => undefined;
  const bothStarted = new Promise<void>((resolve) => (release = resolve));
  return (deps: Deps) => ({
    identityImports: {
      ...deps.identityImports,
      async startImport(users, options) {
        started += 1;
        if (started >= 2) release();
        // No fallback timer: if the second replica never starts a job, the test's own timeout says so.
        await bothStarted;
        return deps.identityImports.startImport(users, options);
      },
    },
  });
}

async function finished(service: TestService, jobId: string) {
  for (let tries = 0; tries < 500; tries += 1) {
    const res = await service.call('GET', `/jobs/bulk-activation/${jobId}`);
    expect(res.status).toBe(200);
    if (res.body.status !== 'pending') return res.body;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`job ${jobId} still pending`);
}

describe.each(BACKENDS)('two replicas activating the same users: $name', (backend) => {
  it.each([true, false])('each job counts what it did itself (upsert %s)', async (upsert) => {
    const [first, second] = await backend.start(bothImportsAtOnce());
    running = [first, second];
    await seedGroups(first, [CUSTOMER_GROUP]);
    const ids: string[] = [];
    for (let index = 0; index < USERS; index += 1) {
      const res = await first.call('POST', '/users/?postponeAuthUserCreation=true', {
        userGroup: 'customer',
        name: 'N',
        username: `replica${index}`,
        email: `replica${index}@example.com`,
      });
      expect(res.status).toBe(200);
      ids.push(res.body._id);
    }
    const body = ids.map((userId) => ({ filter: { userId } }));
    const jobs = await Promise.all([first, second].map((service) => service.call('POST', `/jobs/bulk-activation?upsert=${upsert}`, body)));
    expect(jobs.map((job) => job.status)).toEqual([202, 202]);
    const [a, b] = await Promise.all([finished(first, jobs[0]!.body.jobId), finished(second, jobs[1]!.body.jobId)]);
    expect([a.status, b.status]).toEqual(['completed', 'completed']);

    // One identity per user, created once: the two jobs together inserted each user once.
    expect(countIdentities(first)).toBe(USERS);
    expect(a.summary.inserted + b.summary.inserted).toBe(USERS);
    for (const { summary } of [a, b]) {
      expect(summary.total).toBe(USERS);
      expect(summary.inserted + summary.updated + summary.failed).toBe(USERS);
    }
    // What the other job did: with upsert it updated the identities, without it they were refused.
    const others = [a, b].map(({ summary }) => (upsert ? summary.updated : summary.failed));
    expect(others[0]! + others[1]!).toBe(USERS);
    const users = await Promise.all(ids.map(async (id) => (await first.call('GET', `/users/${id}`)).body));
    expect(new Set(users.map((user) => user.authUserId)).size).toBe(USERS);
  });
});
