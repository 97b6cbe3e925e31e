import type { Logger } from 'pino';
import { CrudCollection } from './clients/crud/collection.js';
import { createCrudConfigStore } from './clients/crud/config-store.js';
import { createCrudJobStore } from './clients/crud/job-store.js';
import { createCrudSessionStore } from './clients/crud/session-store.js';
import { createCrudUserStore } from './clients/crud/user-store.js';
import { createBreaker, createDispatcher, probe, type UpstreamOptions } from './clients/http.js';
import { Auth0Api } from './clients/auth0/api.js';
import { createAuth0ClientAdapters } from './clients/auth0-client/client.js';
import type { BearerDenials } from './clients/auth0-client/authenticator.js';
import { createAuth0Authenticator } from './clients/auth0/authenticator.js';
import { createAuth0IdentityProvider } from './clients/auth0/identity.js';
import { createAuth0Importer } from './clients/auth0/importer.js';
import { createRondBinder } from './clients/rond/binder.js';
import { createSmtpMailer } from './clients/smtp/mailer.js';
import { createTimerScheduler } from './clients/timer/scheduler.js';
import { type Config, crudBaseUrl, serviceUrl } from './config.js';
import type { Authenticator } from './ports/authenticator.js';
import type { Clock } from './ports/clock.js';
import type { ConfigStore } from './ports/config-store.js';
import type { ExpirationScheduler } from './ports/expiration-scheduler.js';
import type { IdentityImporter } from './ports/identity-importer.js';
import type { IdentityProvider } from './ports/identity-provider.js';
import type { JobStore } from './ports/job-store.js';
import type { Mailer } from './ports/mailer.js';
import type { Metrics } from './ports/metrics.js';
import type { ReadinessCheck } from './ports/readiness.js';
import type { RoleBinder } from './ports/role-binder.js';
import type { SessionStore } from './ports/session-store.js';
import type { UserStore } from './ports/user-store.js';
import { sharedAnswer } from './infra/shared-answer.js';

/**
 * The connected half of deps.ts: the adapters that talk HTTP (undici) or SMTP (nodemailer) to an
 * upstream. deps.ts imports this module only when the configuration names an upstream, so an
 * embedded service never loads undici, nodemailer or the clients (about 10 MiB of its memory).
 */

export interface IdentityAdapters {
  identity: IdentityProvider;
  auth: Authenticator;
  /** Bulk import jobs (bulk activation). */
  importer: IdentityImporter;
  /** What `/-/ready` says of the identity provider. */
  readiness: () => Promise<ReadinessCheck[]>;
}

export interface Connected {
  profileStores(
    endpoints: { users: string; groups: string },
    clock: Clock,
  ): {
    users: UserStore;
    groups: ConfigStore;
    readiness: () => Promise<ReadinessCheck[]>;
  };
  /** Website sessions in a CRUD collection (SESSIONS_CRUD_ENDPOINT), shared by replicas. */
  sessionStore(endpoint: string, clock: Clock): SessionStore;
  /** AUTH_MODULE auth0 (with its website sessions) or auth0Client. */
  identity(config: Config & IdentityConfig, input: { sessions: SessionStore; clock: Clock; logger: Logger }): IdentityAdapters;
  scheduler(input: { service: string; secret: string; clock: Clock }): ExpirationScheduler;
  roles(): RoleBinder;
  jobs(endpoint: string, clock: Clock, logger: Logger): JobStore;
  mailer(url: string, logger: Logger): Mailer;
}

/** The connected identity providers' configurations. */
type IdentityConfig =
  | { AUTH_MODULE: 'auth0'; AUTH0_CLIENT_ID: string; AUTH0_CLIENT_SECRET: string; AUTH_CONNECTION: string }
  | {
      AUTH_MODULE: 'auth0Client';
      AUTH_SERVICE: string;
      AUTH_CONNECTION: string;
    };

type UpstreamFactory = (name: string, baseUrl: string, timeoutMs: number) => UpstreamOptions;

/** The connected adapters of `config`, each built when deps.ts asks for it. */
export function connectedAdapters(config: Config, metrics: Metrics): Connected {
  const upstreamOf = upstreamFactory(config, metrics);
  // The CRUD Service, for every collection configured there: one keep-alive pool (connects on first use).
  // Its request head is Node's 16 KB: a longer target (a filter from a GraphQL body), or one that
  // the relayed headers (acl_rows…) take past 15 KB (room for the head's own lines), is a 400, unsent.
  const crud = { ...upstreamOf('CRUD', crudBaseUrl(config), config.CRUD_TIMEOUT_MS), maxTargetChars: 12_288, maxHeadBytes: 15_360 };
  const collection = (endpoint: string) => new CrudCollection(crud, endpoint);
  return {
    profileStores: (endpoints, clock) => ({
      users: createCrudUserStore(collection(endpoints.users), { clock }),
      groups: createCrudConfigStore(collection(endpoints.groups)),
      readiness: async () => [await probe(crud, '/-/healthz', config.READINESS_TIMEOUT_MS)],
    }),
    sessionStore: (endpoint, clock) => createCrudSessionStore(collection(endpoint), { ttlSeconds: config.REFRESH_TOKEN_TTL, clock }),
    identity: (identityConfig, { sessions, clock, logger }) =>
      identityConfig.AUTH_MODULE === 'auth0'
        ? auth0Adapters(identityConfig, sessions, { metrics, clock, logger })
        : auth0ClientAdapters(identityConfig, upstreamOf, bearerDenials(identityConfig, sessions, clock), logger),
    scheduler: ({ service, secret, clock }) =>
      createTimerScheduler({
        upstream: upstreamOf('Timer', serviceUrl(service), config.CRUD_TIMEOUT_MS),
        callbackBaseUrl: config.UMS_BASE_URL,
        secret,
        clock,
      }),
    roles: () => {
      const rond = upstreamOf('Rond', serviceUrl(config.ROND_SERVICE), config.CRUD_TIMEOUT_MS);
      return createRondBinder(rond, config.ROLES_CRUD_ENDPOINT ? collection(config.ROLES_CRUD_ENDPOINT) : undefined);
    },
    jobs: (endpoint, clock, logger) =>
      createCrudJobStore(collection(endpoint), clock, () =>
        logger.warn(
          { endpoint },
          'the jobs collection refuses the field attempts (declare it, a number): the runs of a job are counted in memory only',
        ),
      ),
    mailer: (url, logger) => createSmtpMailer({ url, from: config.MAIL_FROM, logger, metrics }),
  };
}

/**
 * Where the auth0-client's bearer logouts deny their tokens: the SessionStore, unless replicas
 * share no store (REPLICAS=shared without SESSIONS_CRUD_ENDPOINT), where a denial would hold on one
 * replica only. Not required there: a replicated auth0-client that works without it keeps working.
 */
function bearerDenials(config: Config, sessions: SessionStore, clock: Clock): BearerDenials | undefined {
  if (config.REPLICAS === 'shared' && !config.SESSIONS_CRUD_ENDPOINT) return undefined;
  return { sessions, clock, refreshTokenSeconds: config.REFRESH_TOKEN_TTL };
}

/** Mia-Platform's auth0-client: website sessions are its own (its sid cookie); the SessionStore only denies bearer tokens. */
function auth0ClientAdapters(
  config: Config & { AUTH_SERVICE: string; AUTH_CONNECTION: string },
  upstreamOf: UpstreamFactory,
  denials: BearerDenials | undefined,
  logger: Logger,
): IdentityAdapters {
  const upstream = upstreamOf('auth0-client', serviceUrl(config.AUTH_SERVICE), config.AUTH0_TIMEOUT_MS);
  const adapters = createAuth0ClientAdapters({
    upstream,
    connection: config.AUTH_CONNECTION,
    userIdKey: config.CUSTOM_USER_ID_KEY,
    denials,
    log: logger,
  });
  // A Mia-Platform service: its own health route.
  return { ...adapters, readiness: async () => [await probe(upstream, '/-/healthz', config.READINESS_TIMEOUT_MS)] };
}

/** How long Auth0's key set is answered again without asking: jose's own cache of it (cacheMaxAge). */
const JWKS_KEEP_MS = 10 * 60_000;

/** Auth0 directly: the Management API for users, the Authentication API for logins. */
function auth0Adapters(
  config: Config & IdentityConfig & { AUTH_MODULE: 'auth0' },
  sessions: SessionStore,
  { metrics, clock, logger }: { metrics: Metrics; clock: Clock; logger: Logger },
): IdentityAdapters {
  const baseUrl = config.AUTH0_BASE_URL ?? `https://${config.AUTH0_DOMAIN}`;
  const issuers = [...new Set([`${baseUrl.replace(/\/$/, '')}/`, ...(config.AUTH0_DOMAIN ? [`https://${config.AUTH0_DOMAIN}/`] : [])])];
  const api = new Auth0Api({
    baseUrl,
    clientId: config.AUTH0_CLIENT_ID,
    clientSecret: config.AUTH0_CLIENT_SECRET,
    managementClientId: config.AUTH0_MANAGEMENT_CLIENT_ID ?? config.AUTH0_CLIENT_ID,
    managementClientSecret: config.AUTH0_MANAGEMENT_CLIENT_SECRET ?? config.AUTH0_CLIENT_SECRET,
    managementAudience: `${config.AUTH0_DOMAIN ? `https://${config.AUTH0_DOMAIN}` : baseUrl.replace(/\/$/, '')}/api/v2/`,
    dispatcher: createDispatcher(config.AUTH0_TIMEOUT_MS, config.UPSTREAM_MAX_REPLY_BYTES),
    timeoutMs: config.AUTH0_TIMEOUT_MS,
    breaker: breakerOf(config),
    metrics,
    maxConcurrency: config.AUTH0_MAX_CONCURRENCY,
    maxRetries: config.AUTH0_MAX_RETRIES,
  });
  const identity = createAuth0IdentityProvider(api, config.AUTH_CONNECTION, logger);
  const auth = createAuth0Authenticator(api, identity, {
    connection: config.AUTH_CONNECTION,
    issuers,
    sessions,
    clock,
    audience: config.AUTH0_AUDIENCE,
    lockSeconds: config.LOGIN_LOCK_SECONDS,
    refreshTokenSeconds: config.REFRESH_TOKEN_TTL,
  });
  const importer = createAuth0Importer({
    api,
    identity,
    connection: config.AUTH_CONNECTION,
    connectionId: config.AUTH0_CONNECTION_ID,
    log: logger,
  });
  // `/.well-known/jwks.json` is anonymous: each request was a call to the tenant, and a flood of them
  // filled AUTH0_MAX_CONCURRENCY, which logins wait for. One fetch at a time, kept as jose keeps it.
  const jwks = sharedAnswer(() => auth.jwks(), clock, JWKS_KEEP_MS);
  // The tenant's key set: served by every tenant (and custom domain) without credentials.
  return {
    identity,
    auth: { ...auth, jwks },
    importer,
    readiness: async () => [await api.probe('/.well-known/jwks.json', config.READINESS_TIMEOUT_MS)],
  };
}

/** An upstream's keep-alive pool, timeout, circuit breaker (docs/reliability.md) and metrics. */
function upstreamFactory(config: Config, metrics: Metrics): UpstreamFactory {
  return (name, baseUrl, timeoutMs) => ({
    name,
    baseUrl,
    dispatcher: createDispatcher(timeoutMs, config.UPSTREAM_MAX_REPLY_BYTES),
    timeoutMs,
    breaker: breakerOf(config),
    metrics,
  });
}

function breakerOf(config: Config) {
  return createBreaker({ threshold: config.UPSTREAM_BREAKER_THRESHOLD, halfOpenAfterMs: config.UPSTREAM_BREAKER_HALF_OPEN_MS });
}
