import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ReadinessCheck } from './ports/readiness.js';
import type { AccessClaims, Authenticator } from './ports/authenticator.js';
import type { CallScope } from './ports/call-scope.js';
import type { ConfigStore } from './ports/config-store.js';
import type { ExpirationScheduler } from './ports/expiration-scheduler.js';
import type { IdentityImporter } from './ports/identity-importer.js';
import type { IdentityProvider } from './ports/identity-provider.js';
import type { JobStore } from './ports/job-store.js';
import type { MailOutbox, Mailer } from './ports/mailer.js';
import type { RoleAdmin, RoleBinder } from './ports/role-binder.js';
import type { UserStore } from './ports/user-store.js';
import type { Config } from './config.js';
import type { Clock } from './ports/clock.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { GroupSchemas } from './infra/group-schemas.js';
import type { LoginThrottle } from './infra/login-throttle.js';
import type { CallerProfiles } from './infra/caller-profiles.js';
import type { JobWatches } from './infra/job-watches.js';
import type { OneAtATime } from './infra/one-at-a-time.js';
import type { Places } from './infra/places.js';
import type { Enrichment } from './infra/enrichment-file.js';
import type { Metrics } from './ports/metrics.js';
import { currentRequest } from './deadline.js';

/** Everything built once at start-up and shared by all requests. */
export interface Deps {
  config: Config;
  logger: Logger;
  /** Time and timers (the system clock; a fake one in tests about time). */
  clock: Clock;
  /** What is counted for `/-/metrics` (a no-op with METRICS_ENABLED=false). */
  metrics: Metrics;
  users: UserStore;
  groups: ConfigStore;
  identity: IdentityProvider;
  /** Bulk import jobs of the identity provider (Auth0's users-imports, or the embedded equivalent). */
  identityImports: IdentityImporter;
  auth: Authenticator;
  mailer: Mailer;
  /** Present when mail is kept in the embedded outbox (no SMTP_URL). */
  outbox?: MailOutbox;
  schemas: GroupSchemas;
  loginThrottle: LoginThrottle;
  /** Password-reset attempts per client address (page views with a bad ticket, posts, GraphQL). */
  resetThrottle: LoginThrottle;
  /** Password e-mails asked for one by one (not bulk jobs), per authUserId. */
  passwordMailThrottle: LoginThrottle;
  /** Callers' current group and state, for the access check (cached briefly, forgotten on change). */
  callerProfiles: CallerProfiles;
  /** CONFIGURATION_PATH: identity properties added to each user of `GET /users/`. */
  enrichment?: Enrichment;
  /** Roles and bindings (embedded, or Rönd). */
  roles: RoleBinder;
  /** Present when roles live in the embedded store. */
  roleAdmin?: RoleAdmin;
  /** Blocks users when their expirationDate passes. */
  scheduler: ExpirationScheduler;
  /** The secret the Timer Service sends back on its callbacks. */
  timerSecret: string;
  /** Persisted long-running jobs (bulk operations). */
  jobs: JobStore;
  /** `created` (with the job type) when this process creates a job, so its workers start at once. */
  jobEvents: EventEmitter;
  /** Open jobProgress subscriptions of this replica, per caller, and their wake-ups. */
  jobWatches: JobWatches;
  /** The CSV imports running on this replica (USER_IMPORT_MAX_CONCURRENT places). */
  importPlaces: Places;
  /** The starts of bulk jobs on this replica, one at a time per type: the count of BULK_JOBS_MAX_PENDING and the creation it allows. */
  jobStarts: OneAtATime;
  /** This process among the replicas: the owner of its job leases and operation intents. */
  replicaId: string;
  /** What `/-/ready` reports: each backend the service depends on. */
  readiness: () => Promise<ReadinessCheck[]>;
}

/** Where a transport puts cookies (Express's response, for REST and GraphQL alike). */
export interface CookieJar {
  set(name: string, value: string, options: { maxAgeSeconds: number }): void;
  clear(name: string): void;
}

/** What the transport knows about the HTTP request. */
export interface RequestInfo {
  headers: HeaderBag;
  ip?: string;
  cookies?: CookieJar;
}

/** The per-request context, the same for REST and GraphQL. */
export interface Context {
  deps: Deps;
  requestId: string;
  scope: CallScope;
  loaders: Loaders;
  /** The client address, for login throttling. */
  ip: string;
  /** Raw request headers (authorization, cookie, x-api-key…); never forwarded as they are. */
  headers: HeaderBag;
  cookies?: CookieJar;
  /** Resolved on first use by resolvers/access.ts. */
  caller?: Promise<Caller>;
}

/** Who is calling. `admin` may manage users; anyone authenticated may use their own session. */
export interface Caller {
  kind: 'anonymous' | 'user' | 'apiKey' | 'gateway';
  admin: boolean;
  /** The identity user, for `user` callers. */
  authUserId?: string;
  claims?: AccessClaims;
  /** Written as creatorId / updaterId and forwarded as the user id header. */
  actorId: string;
  /** For `apiKey` callers: the key's position in API_KEYS (from 1), so that each key has its own limits. */
  apiKey?: number;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

/** Platform headers that the CRUD Service understands and that are forwarded as they came. */
const PLATFORM_HEADERS = ['acl_rows', 'acl_read_columns', 'acl_write_columns', 'client-type', 'isbackoffice'];

export function createContext(request: RequestInfo, deps: Deps): Context {
  const { config } = deps;
  const bag = ownHeaders(request.headers);
  const header = (name: string) => {
    const value = bag[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  // The user id and groups headers are trusted only behind a gateway; otherwise the service sets
  // them from the authenticated caller (resolvers/access.ts).
  const identityHeaders = config.ACCESS_CONTROL === 'gateway' ? [config.USERID_HEADER_KEY, config.GROUPS_HEADER_KEY] : [];
  const forwarded = [...PLATFORM_HEADERS, ...identityHeaders, ...config.ADDITIONAL_HEADERS_TO_PROXY];
  const headers: Record<string, string> = {};
  for (const name of forwarded) {
    const value = header(name);
    if (value !== undefined) headers[name] = value;
  }
  return {
    deps,
    // The id the server gave the request (observability/requests.ts), the same in its answer and logs.
    requestId: currentRequest()?.id ?? header('x-request-id') ?? randomUUID(),
    scope: { actorId: (config.ACCESS_CONTROL === 'gateway' && header(config.USERID_HEADER_KEY)) || 'public', headers },
    loaders: createLoaders(deps.identity),
    ip: request.ip ?? 'unknown',
    headers: bag,
    cookies: request.cookies,
  };
}

/** Converts Fetch API headers (GraphQL over yoga) to the same bag Express gives. */
export function headersToBag(headers: Headers): HeaderBag {
  const bag: HeaderBag = Object.create(null) as HeaderBag;
  headers.forEach((value, key) => {
    bag[key] = value;
  });
  return bag;
}

/**
 * The request's headers on an object with no prototype: a header the client did not send reads as
 * undefined even if something ever added that name to `Object.prototype`.
 */
function ownHeaders(headers: HeaderBag): HeaderBag {
  if (Object.getPrototypeOf(headers) === null) return headers;
  const bag: HeaderBag = Object.create(null) as HeaderBag;
  for (const name of Object.keys(headers)) bag[name] = headers[name];
  return bag;
}

/** A context for work the service does on its own (expiry, bootstrap): an administrator with no request. */
export function systemContext(deps: Deps, actorId: string): Context {
  const ctx = createContext({ headers: {} }, deps);
  ctx.caller = Promise.resolve({ kind: 'apiKey', admin: true, actorId });
  ctx.scope.actorId = actorId;
  return ctx;
}
