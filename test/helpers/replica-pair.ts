import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Auth0Emulator } from '../emulators/auth0.js';
import { CrudEmulator } from '../emulators/crud.js';
import { RondEmulator } from '../emulators/rond.js';
import { TimerEmulator } from '../emulators/timer.js';
import { freePort, type SpawnedService, spawnService } from './process.js';
import { AUTH0_TEST_TENANT, CRUD_COLLECTIONS } from './service.js';

/**
 * Two replicas of the service as two processes (as two pods), in connected mode with REPLICAS=shared
 * on one set of emulators in the test's process (CRUD, Auth0, Timer, Rönd), and a client that sends
 * each request to the next replica, as a round-robin load balancer does. For the acceptance walks.
 */
export const PAIR_API_KEY = 'acceptance-test-key-0123';
export const PAIR_TIMER_SECRET = 'acceptance-timer-secret-0123';
export const PAIR_SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'number' }, company: { type: 'string' } },
};
const ADMIN = { 'x-api-key': PAIR_API_KEY };

export interface Answer {
  status: number;
  /** The JSON answer, read field by field by the test. */
  body: any;
  text: string;
  headers: Headers;
  /** The replica that answered. */
  url: string;
}

export interface ReplicaPair {
  crud: CrudEmulator;
  auth0: Auth0Emulator;
  rond: RondEmulator;
  timer: TimerEmulator;
  replicas: { service: SpawnedService; url: string }[];
  /** Sends the request to the next replica (API key by default; `{}` for none). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** Reads a job on alternating replicas until it is no longer pending (at most 15 s). */
  settle(path: string): Promise<Answer>;
  /** The stored profile of that `_id`. */
  profile(id: string): ReturnType<CrudEmulator['docs']>[number];
  stop(): Promise<void>;
}

/** A replica's environment on the pair's emulators: its own file in `folder`, everything shared in the CRUD Service. */
export function replicaEnv(pair: Pick<ReplicaPair, 'crud' | 'auth0' | 'rond' | 'timer'>, folder: string, name: string, port: number) {
  return {
    HTTP_PORT: String(port),
    EMBEDDED_DB_PATH: join(folder, `${name}.sqlite`),
    TMPDIR: folder,
    LOG_LEVEL: 'info',
    API_KEYS: PAIR_API_KEY,
    COOKIE_SECURE: 'false',
    WEBSITE_CLIENT_TYPES: 'website',
    RANDOM_PWD_GEN: 'false',
    JOBS_POLL_MS: '100',
    JOBS_LEASE_MS: '1500',
    AUTH0_JOB_POLLING_INTERVAL: '50',
    REPLICAS: 'shared',
    CRUD_SERVICE: pair.crud.url,
    USERS_CRUD_ENDPOINT: '/users',
    UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
    JOBS_CRUD_ENDPOINT: '/jobs',
    SESSIONS_CRUD_ENDPOINT: '/sessions',
    AUTH_MODULE: 'auth0',
    AUTH0_BASE_URL: pair.auth0.url,
    AUTH0_CLIENT_ID: AUTH0_TEST_TENANT.clientId,
    AUTH0_CLIENT_SECRET: AUTH0_TEST_TENANT.clientSecret,
    AUTH0_AUDIENCE: AUTH0_TEST_TENANT.audience,
    AUTH_CONNECTION: AUTH0_TEST_TENANT.connection,
    ROND_ENABLED: 'true',
    ROND_SERVICE: pair.rond.url,
    TIMER_SERVICE: pair.timer.url,
    TIMER_CALLBACK_SECRET: PAIR_TIMER_SECRET,
    UMS_BASE_URL: `http://127.0.0.1:${port}`,
  };
}

/** Starts the emulators, the groups `customer` and `guest` (authUserCreationDisabled), and two replicas. */
export async function startReplicaPair(): Promise<ReplicaPair> {
  const folder = mkdtempSync(join(tmpdir(), 'ums-acceptance-'));
  const crud = await new CrudEmulator(CRUD_COLLECTIONS).start();
  const auth0 = await new Auth0Emulator({ ...AUTH0_TEST_TENANT, importStepMs: 20 }).start();
  const rond = await new RondEmulator().start();
  const timer = await new TimerEmulator().start();
  crud
    .docs('/ums-config')
    .push(
      { _id: 'c1', userGroup: 'customer', label: 'Customer', crudSchema: PAIR_SCHEMA, __STATE__: 'PUBLIC' },
      { _id: 'c2', userGroup: 'guest', label: 'Guest', crudSchema: PAIR_SCHEMA, authUserCreationDisabled: true, __STATE__: 'PUBLIC' },
    );
  const ports = await Promise.all([freePort(), freePort()]);
  const replicas = await Promise.all(
    ports.map(async (port, n) => ({
      service: await spawnService(replicaEnv({ crud, auth0, rond, timer }, folder, `r${n}`, port)),
      url: `http://127.0.0.1:${port}`,
    })),
  );
  let turn = 0;
  const call: ReplicaPair['call'] = async (method, path, body, headers = ADMIN) => {
    const { url } = replicas[turn++ % replicas.length]!;
    const isForm = body instanceof FormData;
    const response = await fetch(url + path, {
      method,
      headers: { ...headers, ...(body === undefined || isForm ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: parseJson(text), text, headers: response.headers, url };
  };
  const settle = async (path: string) => {
    const until = Date.now() + 15_000;
    let job = await call('GET', path);
    while (job.status === 200 && job.body.status === 'pending' && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = await call('GET', path);
    }
    return job;
  };
  const stop = async () => {
    for (const { service } of replicas) service.child.kill('SIGKILL');
    await Promise.all([crud.stop(), auth0.stop(), rond.stop(), timer.stop()]);
    rmSync(folder, { recursive: true, force: true });
  };
  const profile = (id: string) => crud.docs('/users').find((doc) => doc._id === id)!;
  return { crud, auth0, rond, timer, replicas, call, settle, profile, stop };
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
