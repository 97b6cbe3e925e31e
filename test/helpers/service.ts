import type { Logger } from 'pino';
import type { GroupConfig } from '../../src/ports/config-store.js';
import type { Deps } from '../../src/context.js';
import type { Clock } from '../../src/ports/clock.js';
import { Auth0Emulator, type Auth0EmulatorOptions } from '../emulators/auth0.js';
import { Auth0ClientEmulator } from '../emulators/auth0-client.js';
import { type CollectionSpec, CrudEmulator } from '../emulators/crud.js';
import { recordExchange } from './exchanges.js';
import { RondEmulator } from '../emulators/rond.js';
import { TimerEmulator } from '../emulators/timer.js';
import { REPLICATED, sharedEnv, startReplica } from './replica.js';
import { AUTH0_TEST_TENANT } from './auth0-tenant.js';

export interface TestService {
  url: string;
  /** The CRUD emulator behind the service, in the crud store mode. */
  crud?: CrudEmulator;
  /** The Auth0 emulator behind the service, in the auth0 identity mode. */
  auth0?: Auth0Emulator;
  /** The auth0-client emulator behind the service, in the auth0Client identity mode. */
  auth0Client?: Auth0ClientEmulator;
  deps: Deps;
  close: () => Promise<void>;
  /** fetch relative to the service, JSON in and out, as an administrator (the test API key); a header set to '' is not sent. */
  call: (
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; body: any; headers: Headers }>;
  /** What the backends behind the service hold and saw, the same questions whichever they are. */
  backend: Backend;
  /** A GraphQL request; answers `{data, errors}`. */
  graphql: (
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) => Promise<{ data?: any; errors?: any[] }>;
}

export const TEST_API_KEY = 'test-api-key-0123456789';

/** One object answers for the identity provider under test, so tests need no `if (service.auth0)`. */
export interface Backend {
  /** How many identity users exist. */
  identities(): number;
  /** Reads of identity users so far (Auth0's searches and reads by id, the auth0-client's `GET /users`; 0 embedded). */
  identityReads(): number;
  /** Password e-mails asked for this user (to the provider, or in the embedded outbox). */
  passwordMails(user: { authUserId: string; email: string }): number;
  /** The stored password hash of an identity user, where the service itself keeps it (embedded); undefined elsewhere. */
  passwordHash(authUserId: string): string | undefined;
  /** The roles bound to a subject (an authUserId), in the embedded store or in Rönd. */
  rolesOf(subject: string): Promise<string[]>;
}

/** Which profile store the integration suite runs against (vitest projects set it). */
export type StoreKind = 'embedded' | 'crud';

/** Which identity provider the suite runs against. */
export type IdentityKind = 'embedded' | 'auth0' | 'auth0Client';

/** True when the vitest project runs the suite against Auth0 or the auth0-client. */
export const CONNECTED_IDENTITY = (process.env.UMS_TEST_IDENTITY ?? 'embedded') !== 'embedded';

export { AUTH0_TEST_TENANT } from './auth0-tenant.js';

export interface ServiceOptions {
  /** Default: UMS_TEST_STORE, else embedded. */
  store?: StoreKind;
  /** Default: UMS_TEST_IDENTITY, else embedded. */
  identity?: IdentityKind;
  /** Options of the Auth0 emulator, in the auth0 identity mode. */
  auth0?: Partial<Auth0EmulatorOptions>;
  env?: Record<string, string>;
  /** Start the background work (the embedded scheduler), as main.ts does. */
  background?: boolean;
  /** Where logs go (silent by default). */
  logger?: Logger;
  /** The service's clock (a FakeClock in tests about time); the system clock by default. */
  clock?: Clock;
  /** The collections of the CRUD emulator, in the crud store mode (default: CRUD_COLLECTIONS). */
  crudCollections?: CollectionSpec[];
  /** Replace or wrap adapters (e.g. to inject a failure). */
  wrap?: (deps: Deps) => Partial<Deps>;
}

/**
 * The real app listening on 127.0.0.1: embedded adapters (in-memory SQLite), with the profiles in
 * a CRUD emulator when the store is `crud`.
 */
export async function startService(options: ServiceOptions = {}): Promise<TestService> {
  const store = options.store ?? (process.env.UMS_TEST_STORE as StoreKind | undefined) ?? 'embedded';
  const crud = store === 'crud' ? await new CrudEmulator(options.crudCollections ?? CRUD_COLLECTIONS).start() : undefined;
  const crudEnv = crud
    ? {
        CRUD_SERVICE: crud.url,
        USERS_CRUD_ENDPOINT: '/users',
        UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
        JOBS_CRUD_ENDPOINT: '/jobs',
        SESSIONS_CRUD_ENDPOINT: '/sessions',
      }
    : {};
  const identity = options.identity ?? (process.env.UMS_TEST_IDENTITY as IdentityKind | undefined) ?? 'embedded';
  const auth0 = identity === 'auth0' ? await new Auth0Emulator({ ...AUTH0_TEST_TENANT, ...options.auth0 }).start() : undefined;
  const auth0Client = identity === 'auth0Client' ? await new Auth0ClientEmulator(AUTH0_TEST_TENANT.connection).start() : undefined;
  const auth0ClientEnv = auth0Client
    ? { AUTH_MODULE: 'auth0Client', AUTH_SERVICE: auth0Client.url, AUTH_CONNECTION: AUTH0_TEST_TENANT.connection }
    : {};
  const auth0Env = auth0
    ? {
        AUTH_MODULE: 'auth0',
        AUTH0_BASE_URL: auth0.url,
        AUTH0_CLIENT_ID: AUTH0_TEST_TENANT.clientId,
        AUTH0_CLIENT_SECRET: AUTH0_TEST_TENANT.clientSecret,
        AUTH0_AUDIENCE: AUTH0_TEST_TENANT.audience,
        AUTH_CONNECTION: AUTH0_TEST_TENANT.connection,
      }
    : {};
  const shared = REPLICATED ? { rond: await new RondEmulator().start(), timer: await new TimerEmulator().start() } : undefined;
  const env: Record<string, string | undefined> = {
    LOG_LEVEL: 'silent',
    API_KEYS: TEST_API_KEY,
    COOKIE_SECURE: 'false',
    // The jit-shadow vitest project compares graphql-jit with graphql-js on every document.
    ...(process.env.GRAPHQL_JIT_SHADOW ? { GRAPHQL_JIT_SHADOW: process.env.GRAPHQL_JIT_SHADOW } : {}),
    ...crudEnv,
    ...auth0Env,
    ...auth0ClientEnv,
    ...(shared && sharedEnv(shared)),
    ...options.env,
  };
  // Two job workers in this one busy test process: a lease shorter than its event-loop stalls would
  // pass a job to the other replica mid-chunk (a takeover the reliability tests cover on purpose).
  if (REPLICATED && options.background) env.JOBS_LEASE_MS = String(Math.max(Number(env.JOBS_LEASE_MS ?? 60_000), 3000));
  const replicas = await Promise.all(Array.from({ length: REPLICATED ? 2 : 1 }, () => startReplica(env, options)));
  const { deps } = replicas[0]!;
  const url = replicas[0]!.url;
  let turn = 0;
  const call: TestService['call'] = async (method, path, body, headers = {}) => {
    const sent = { 'x-api-key': TEST_API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers };
    // Replicated: every request goes to the next replica, as a round-robin load balancer would send it.
    const target = replicas[turn++ % replicas.length]!.url;
    const response = await fetch(target + path, {
      method,
      headers: Object.fromEntries(Object.entries(sent).filter(([, value]) => value !== '')),
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    const answer = { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
    const responseType = response.headers.get('content-type');
    recordExchange({ method, url: path, requestBody: body, status: answer.status, responseType, responseBody: answer.body });
    return answer;
  };
  return {
    url,
    crud,
    auth0,
    auth0Client,
    deps,
    call,
    backend: backendOf({ auth0, auth0Client, rond: shared?.rond, deps }),
    graphql: async (query, variables, headers) => (await call('POST', '/graphql', { query, variables }, headers)).body,
    close: async () => {
      await Promise.all(replicas.map((replica) => replica.close()));
      await crud?.stop();
      await auth0?.stop();
      await auth0Client?.stop();
      await shared?.rond.stop();
      await shared?.timer.stop();
    },
  };
}

/** The bulk jobs and operation intents (JOBS_CRUD_ENDPOINT). */
export const JOBS_COLLECTION: CollectionSpec = {
  path: '/jobs',
  defaultState: 'PUBLIC',
  unique: ['jobId'],
  fields: {
    jobId: 'string',
    type: 'string',
    status: 'string',
    owner: 'string',
    leaseUntil: 'number',
    attempts: 'number',
    payload: 'object',
    result: 'object',
    counters: 'object',
  },
};

/** The collections of the CRUD emulator, as a Console project would declare them. */
export const CRUD_COLLECTIONS: CollectionSpec[] = [
  {
    path: '/users',
    // DRAFT, the CRUD's own default: the service must create users PUBLIC explicitly.
    defaultState: 'DRAFT',
    unique: ['username', 'email', 'authUserId'],
    fields: {
      userGroup: 'string',
      authUserId: 'string',
      username: 'string',
      email: 'string',
      blocked: 'boolean',
      roles: 'array',
      expirationDate: 'date',
      expirationId: 'string',
      name: 'string',
      age: 'number',
      tags: 'array',
      company: 'string',
      badge: 'number',
      address: 'object',
      // Fields of the test groups' schemas (dated, update-paths) and of fast-path-equivalence's users.
      birth: 'date',
      nested: 'object',
      colour: 'string',
      // The CRUD collection's own fields.
      createdAt: 'date',
      updatedAt: 'date',
      creatorId: 'string',
      updaterId: 'string',
    },
  },
  {
    path: '/ums-config',
    defaultState: 'PUBLIC',
    unique: ['userGroup'],
    fields: { userGroup: 'string', label: 'string', crudSchema: 'object', authUserCreationDisabled: 'boolean' },
  },
  JOBS_COLLECTION,
  // Website sessions with Auth0 (SESSIONS_CRUD_ENDPOINT); deployed with a TTL index on expiresAt.
  {
    path: '/sessions',
    defaultState: 'PUBLIC',
    unique: ['sessionId', 'cookieHash'],
    fields: {
      sessionId: 'string',
      authUserId: 'string',
      cookieHash: 'string',
      expiresAt: 'date',
      revokedAt: 'date',
      // A token pair's refresh chain (access token digests), indexed (docs/replicas.md).
      chain: 'array',
      'chain.__items': 'string',
    },
  },
];

/** How many identity users there are, whichever the identity provider. */
export function countIdentities(service: TestService): number {
  return service.backend.identities();
}

function backendOf(backends: { auth0?: Auth0Emulator; auth0Client?: Auth0ClientEmulator; rond?: RondEmulator; deps: Deps }): Backend {
  const { rond, deps } = backends;
  const rolesOf = async (subject: string) =>
    rond ? rond.rolesOf(subject) : (await deps.roleAdmin!.listBindings(subject)).flatMap((binding) => binding.roles);
  return { ...identityBackendOf(backends), rolesOf };
}

function identityBackendOf({
  auth0,
  auth0Client,
  deps,
}: {
  auth0?: Auth0Emulator;
  auth0Client?: Auth0ClientEmulator;
  deps: Deps;
}): Omit<Backend, 'rolesOf'> {
  if (auth0) {
    const mailsTo = (email: string) =>
      auth0.requests.filter((r) => r.path === '/dbconnections/change_password' && (r.body as { email?: string }).email === email).length;
    return {
      identities: () => auth0.users.size,
      identityReads: () => auth0.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v2/users')).length,
      passwordMails: (user) => mailsTo(user.email),
      passwordHash: () => undefined,
    };
  }
  if (auth0Client) {
    return {
      identities: () => auth0Client.users.size,
      identityReads: () => auth0Client.requests.filter((r) => r.method === 'GET' && r.path === '/users').length,
      passwordMails: (user) => auth0Client.passwordChanges.filter((id) => id === user.authUserId).length,
      passwordHash: () => undefined,
    };
  }
  const db = (deps as unknown as { db: import('better-sqlite3').Database }).db;
  return {
    identities: () => (db.prepare('SELECT COUNT(*) AS n FROM identity_users').get() as { n: number }).n,
    identityReads: () => 0,
    passwordMails: (user) => deps.outbox!.list({ limit: 100_000, offset: 0 }).filter((mail) => mail.to === user.email).length,
    passwordHash: (authUserId) =>
      (db.prepare('SELECT password_hash FROM identity_users WHERE id = ?').get(authUserId) as { password_hash: string } | undefined)
        ?.password_hash,
  };
}

/** How many profiles there are, in every state, whichever the store. */
export function countProfiles(service: TestService): Promise<number> {
  return service.deps.users.count({ _st: 'PUBLIC,DRAFT,TRASH,DELETED' }, { actorId: 'test', headers: {} });
}

/** A group whose users need a name and may have an age. */
export const CUSTOMER_GROUP = {
  userGroup: 'customer',
  label: 'Customer',
  authUserCreationDisabled: false,
  crudSchema: {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 }, tags: { type: 'array', items: { type: 'string' } } },
    required: ['name'],
  },
};

/** A group of profile-only users. */
export const GUEST_GROUP = {
  userGroup: 'guest',
  label: 'Guest',
  authUserCreationDisabled: true,
  crudSchema: { type: 'object', properties: { name: { type: 'string' } } },
};

export async function seedGroups(service: TestService, groups: GroupConfig[] = [CUSTOMER_GROUP, GUEST_GROUP]): Promise<void> {
  for (const group of groups) await service.deps.groups.saveGroup(group, { actorId: 'test', headers: {} });
}
