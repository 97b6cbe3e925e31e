import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { CrudCollection } from './clients/crud/collection.js';
import { createCrudConfigStore } from './clients/crud/config-store.js';
import { createCrudUserStore } from './clients/crud/user-store.js';
import { createBreaker, createDispatcher, probe, type UpstreamOptions } from './clients/http.js';
import type { ReadinessCheck } from './ports/readiness.js';
import { createCrudJobStore } from './clients/crud/job-store.js';
import { createCrudSessionStore } from './clients/crud/session-store.js';
import { createSqliteJobStore } from './embedded/job-store.js';
import type { Authenticator } from './ports/authenticator.js';
import type { ConfigStore } from './ports/config-store.js';
import type { IdentityImporter } from './ports/identity-importer.js';
import type { IdentityProvider } from './ports/identity-provider.js';
import type { MailOutbox, Mailer } from './ports/mailer.js';
import type { RoleAdmin, RoleBinder } from './ports/role-binder.js';
import type { UserStore } from './ports/user-store.js';
import { createRondBinder } from './clients/rond/binder.js';
import { EmbeddedRoles } from './embedded/roles.js';
import { Auth0Api } from './clients/auth0/api.js';
import { createAuth0ClientAdapters } from './clients/auth0-client/client.js';
import { createAuth0Authenticator } from './clients/auth0/authenticator.js';
import { createAuth0IdentityProvider } from './clients/auth0/identity.js';
import { createAuth0Importer } from './clients/auth0/importer.js';
import { createSmtpMailer } from './clients/smtp/mailer.js';
import { type Config, crudBaseUrl, serviceUrl } from './config.js';
import { createTimerScheduler } from './clients/timer/scheduler.js';
import { EmbeddedScheduler } from './embedded/scheduler.js';
import { StartupError } from './startup.js';
import type { Deps } from './context.js';
import { ALL_STATES } from './crud/states.js';
import { systemClock } from './domain/clock.js';
import type { Clock } from './ports/clock.js';
import { GroupSchemas } from './infra/group-schemas.js';
import { LoginThrottle } from './infra/login-throttle.js';
import { JobWatches } from './infra/job-watches.js';
import { CALLER_PROFILE_TTL_MS, CallerProfiles, readCallerProfile } from './infra/caller-profiles.js';
import { loadEnrichment } from './infra/enrichment-file.js';
import { createEmbeddedAuthenticator } from './embedded/authenticator.js';
import { createSqliteConfigStore, groupFieldIndex } from './embedded/config-store.js';
import { type Db, openDatabase } from './embedded/db.js';
import { createEmbeddedIdentityProvider } from './embedded/identity.js';
import { createEmbeddedImporter } from './embedded/importer.js';
import { Outbox } from './embedded/outbox.js';
import { type Metrics, noMetrics } from './ports/metrics.js';
import { createPrometheusMetrics } from './observability/prometheus.js';
import { Sessions } from './embedded/sessions.js';
import { createEmbeddedSessionStore } from './embedded/session-store.js';
import type { SessionStore } from './ports/session-store.js';
import { SigningKeys } from './embedded/signing-keys.js';
import { createSqliteUserStore } from './embedded/user-store.js';

/**
 * Users and group configurations: in a CRUD Service when USERS_CRUD_ENDPOINT is set (as the
 * original service), else in the embedded store.
 */
function profileStores(
  config: Config,
  db: Db,
  crud: UpstreamOptions,
  clock: Clock,
): { users: UserStore; groups: ConfigStore; readiness: () => Promise<ReadinessCheck[]> } {
  if (config.USERS_CRUD_ENDPOINT === undefined) {
    return {
      users: createSqliteUserStore(db, clock, { fields: groupFieldIndex(db), textFields: config.TEXT_SEARCH_FIELDS }),
      groups: createSqliteConfigStore(db),
      readiness: async () => [{ name: 'embedded store', ok: true }],
    };
  }
  return {
    users: createCrudUserStore(new CrudCollection(crud, config.USERS_CRUD_ENDPOINT)),
    groups: createCrudConfigStore(new CrudCollection(crud, config.UMS_CONFIG_CRUD_ENDPOINT)),
    readiness: async () => [await probe(crud, '/-/healthz', config.READINESS_TIMEOUT_MS)],
  };
}

/**
 * Wires every port to its adapter (embedded, or connected where configured) and the shared
 * helpers; built once in main.ts.
 */
export function createDeps(config: Config, logger: Logger, options: { clock?: Clock } = {}): Deps & { db: Db; keys: SigningKeys } {
  const { clock = systemClock } = options;
  const db = openEmbeddedStore(config.EMBEDDED_DB_PATH);
  const metrics = config.METRICS_ENABLED ? createPrometheusMetrics() : noMetrics;
  const upstreamOf = upstreamFactory(config, metrics);
  // The CRUD Service, for the collections configured there: one keep-alive pool (connects on first use).
  const crud = upstreamOf('CRUD', crudBaseUrl(config), config.CRUD_TIMEOUT_MS);
  const profiles = profileStores(config, db, crud, clock);
  const timerSecret = config.TIMER_CALLBACK_SECRET ?? storedSecret(db, 'timer-callback-secret');
  const users = profiles.users;
  const sessions = new Sessions(db, config.REFRESH_TOKEN_TTL, clock);
  const keys = new SigningKeys(db, {
    maxAgeSeconds: config.SIGNING_KEY_MAX_AGE_DAYS * 86_400,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL,
    clock,
  });
  const { mailer, outbox } = mailAdapters(config, db, logger, metrics);
  const adapters = identityAdapters({ config, db, crud, keys, sessions, mailer, users, upstreamOf, metrics, clock });
  const { identity, auth, importer, readiness: identityReadiness } = adapters;
  const jobEvents = new EventEmitter();
  return {
    db,
    keys,
    config,
    logger,
    clock,
    metrics,
    users,
    groups: profiles.groups,
    // Probed together, each with its own READINESS_TIMEOUT_MS: the answer takes one timeout at most.
    readiness: async () => (await Promise.all([profiles.readiness(), identityReadiness()])).flat(),
    scheduler: config.TIMER_SERVICE
      ? createTimerScheduler({
          upstream: upstreamOf('Timer', serviceUrl(config.TIMER_SERVICE), config.CRUD_TIMEOUT_MS),
          callbackBaseUrl: config.UMS_BASE_URL,
          secret: timerSecret,
          clock,
        })
      : new EmbeddedScheduler(db, logger, config.SCHEDULER_POLL_MS, clock),
    timerSecret,
    ...roleAdapters({ config, db, crud, upstreamOf }),
    enrichment: config.CONFIGURATION_PATH ? loadEnrichment(config.CONFIGURATION_PATH) : undefined,
    jobs: config.JOBS_CRUD_ENDPOINT
      ? createCrudJobStore(new CrudCollection(crud, config.JOBS_CRUD_ENDPOINT), clock)
      : createSqliteJobStore(db, clock),
    jobEvents,
    jobWatches: new JobWatches(jobEvents, config.JOB_PROGRESS_MAX_PER_CALLER),
    replicaId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    identity,
    identityImports: importer,
    auth,
    mailer,
    outbox,
    schemas: new GroupSchemas(),
    loginThrottle: new LoginThrottle({ max: config.LOGIN_IP_MAX_FAILURES, windowSeconds: config.LOGIN_IP_WINDOW_SECONDS, clock }),
    resetThrottle: new LoginThrottle({
      max: config.PASSWORD_RESET_IP_MAX_ATTEMPTS,
      windowSeconds: config.PASSWORD_RESET_IP_WINDOW_SECONDS,
      message: 'Too many password-reset attempts from this address',
      clock,
    }),
    passwordMailThrottle: new LoginThrottle({
      max: config.PASSWORD_EMAIL_MAX_PER_USER,
      windowSeconds: config.PASSWORD_EMAIL_WINDOW_SECONDS,
      message: 'Too many password e-mails for this user: try again later',
      clock,
    }),
    // Replicas read the caller's profile on every request: a demotion made through another replica holds at once.
    callerProfiles: new CallerProfiles(
      (authUserId) => readCallerProfile(users, authUserId),
      config.REPLICAS === 'shared' ? 0 : CALLER_PROFILE_TTL_MS,
    ),
  };
}

/** SMTP when SMTP_URL is set, else the embedded outbox (which administrators read through GraphQL). */
function mailAdapters(config: Config, db: Db, logger: Logger, metrics: Metrics): { mailer: Mailer; outbox?: MailOutbox } {
  if (config.SMTP_URL) return { mailer: createSmtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM, logger, metrics }) };
  const outbox = new Outbox(db, logger);
  return { mailer: outbox, outbox };
}

interface IdentityAdapters {
  identity: IdentityProvider;
  auth: Authenticator;
  /** Bulk import jobs (bulk activation). */
  importer: IdentityImporter;
  /** What `/-/ready` says of the identity provider. */
  readiness: () => Promise<ReadinessCheck[]>;
}

/** The identity provider of AUTH_MODULE: embedded, Auth0 directly, or Mia-Platform's auth0-client. */
function identityAdapters(input: EmbeddedIdentityInput): IdentityAdapters {
  const { config } = input;
  if (config.AUTH_MODULE === 'auth0') return auth0Adapters(config, websiteSessions(input), input);
  if (config.AUTH_MODULE === 'auth0Client') {
    // Website sessions are the auth0-client's own (its sid cookie): no SessionStore.
    const upstream = input.upstreamOf('auth0-client', serviceUrl(config.AUTH_SERVICE), config.AUTH0_TIMEOUT_MS);
    const adapters = createAuth0ClientAdapters({ upstream, connection: config.AUTH_CONNECTION, userIdKey: config.CUSTOM_USER_ID_KEY });
    // A Mia-Platform service: its own health route.
    return { ...adapters, readiness: async () => [await probe(upstream, '/-/healthz', config.READINESS_TIMEOUT_MS)] };
  }
  return embeddedIdentity(input);
}

interface EmbeddedIdentityInput {
  config: Config;
  db: Db;
  crud: UpstreamOptions;
  keys: SigningKeys;
  sessions: Sessions;
  mailer: Mailer;
  users: UserStore;
  clock: Clock;
  upstreamOf: UpstreamFactory;
  metrics: Metrics;
}

/** Website sessions with Auth0: in the CRUD Service with SESSIONS_CRUD_ENDPOINT (shared by replicas), else embedded. */
function websiteSessions({ config, crud, sessions, clock }: EmbeddedIdentityInput): SessionStore {
  if (!config.SESSIONS_CRUD_ENDPOINT) return createEmbeddedSessionStore(sessions);
  const collection = new CrudCollection(crud, config.SESSIONS_CRUD_ENDPOINT);
  return createCrudSessionStore(collection, { ttlSeconds: config.REFRESH_TOKEN_TTL, clock });
}

/** Auth0 directly: the Management API for users, the Authentication API for logins. */
function auth0Adapters(
  config: Config & { AUTH_MODULE: 'auth0' },
  sessions: SessionStore,
  { metrics, clock }: { metrics: Metrics; clock: Clock },
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
    dispatcher: createDispatcher(config.AUTH0_TIMEOUT_MS),
    timeoutMs: config.AUTH0_TIMEOUT_MS,
    breaker: breakerOf(config),
    metrics,
    maxConcurrency: config.AUTH0_MAX_CONCURRENCY,
    maxRetries: config.AUTH0_MAX_RETRIES,
  });
  const identity = createAuth0IdentityProvider(api, config.AUTH_CONNECTION);
  const auth = createAuth0Authenticator(api, identity, {
    connection: config.AUTH_CONNECTION,
    issuers,
    sessions,
    clock,
    audience: config.AUTH0_AUDIENCE,
    lockSeconds: config.LOGIN_LOCK_SECONDS,
  });
  const importer = createAuth0Importer({ api, identity, connection: config.AUTH_CONNECTION, connectionId: config.AUTH0_CONNECTION_ID });
  // The tenant's key set: served by every tenant (and custom domain) without credentials.
  return { identity, auth, importer, readiness: async () => [await api.probe('/.well-known/jwks.json', config.READINESS_TIMEOUT_MS)] };
}

/** The embedded identity provider: argon2id users, EdDSA tokens, sessions, reset e-mails. */
function embeddedIdentity(input: EmbeddedIdentityInput): IdentityAdapters {
  const { config, db, keys, sessions, mailer, users, clock } = input;
  const auth = createEmbeddedAuthenticator({
    db,
    clock,
    keys,
    sessions,
    mailer,
    profileOf: async (authUserId) => (await users.find({ authUserId }, { states: ALL_STATES, limit: 1 }))[0],
    issuer: config.TOKEN_ISSUER ?? storedIssuer(db),
    baseUrl: config.UMS_BASE_URL,
    accessTokenTtl: config.ACCESS_TOKEN_TTL,
    resetTicketTtl: config.RESET_TICKET_TTL,
    maxAttempts: config.LOGIN_MAX_ATTEMPTS,
    lockSeconds: config.LOGIN_LOCK_SECONDS,
  });
  return {
    identity: createEmbeddedIdentityProvider(db, sessions, { cacheSize: config.EMBEDDED_IDENTITY_CACHE_SIZE }),
    auth,
    importer: createEmbeddedImporter(db),
    readiness: async () => [{ name: 'embedded identity', ok: true }],
  };
}

/** A secret generated once and kept in the embedded store, so every process and restart shares it. */
function storedSecret(db: Db, name: string): string {
  db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)').run(name, randomBytes(32).toString('base64url'));
  return db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE name = ?').get(name)!.value;
}

/**
 * The tokens' issuer when neither TOKEN_ISSUER nor UMS_BASE_URL is set: a name made once and kept
 * in the embedded store, so every process on the same file issues and accepts the same tokens
 * (a default built from HTTP_PORT would differ between them).
 */
function storedIssuer(db: Db): string {
  db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)').run('token-issuer', `urn:ums:${randomUUID()}`);
  return db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE name = ?').get('token-issuer')!.value;
}

type UpstreamFactory = (name: string, baseUrl: string, timeoutMs: number) => UpstreamOptions;

/** An upstream's keep-alive pool, timeout, circuit breaker (docs/reliability.md) and metrics. */
function upstreamFactory(config: Config, metrics: Metrics): UpstreamFactory {
  return (name, baseUrl, timeoutMs) => ({
    name,
    baseUrl,
    dispatcher: createDispatcher(timeoutMs),
    timeoutMs,
    breaker: breakerOf(config),
    metrics,
  });
}

function breakerOf(config: Config) {
  return createBreaker({ threshold: config.UPSTREAM_BREAKER_THRESHOLD, halfOpenAfterMs: config.UPSTREAM_BREAKER_HALF_OPEN_MS });
}

/** Rönd when ROND_ENABLED, else roles and bindings in the embedded store (manageable through GraphQL). */
function roleAdapters(input: { config: Config; db: Db; crud: UpstreamOptions; upstreamOf: UpstreamFactory }): {
  roles: RoleBinder;
  roleAdmin?: RoleAdmin;
} {
  const { config, db, crud } = input;
  if (config.ROND_ENABLED) {
    const rond = input.upstreamOf('Rond', serviceUrl(config.ROND_SERVICE), config.CRUD_TIMEOUT_MS);
    const rolesCollection = config.ROLES_CRUD_ENDPOINT ? new CrudCollection(crud, config.ROLES_CRUD_ENDPOINT) : undefined;
    return { roles: createRondBinder(rond, rolesCollection) };
  }
  const embedded = new EmbeddedRoles(db);
  return { roles: embedded, roleAdmin: embedded };
}

/** The embedded store, or a start-up failure that names EMBEDDED_DB_PATH (one line, no stack trace). */
function openEmbeddedStore(path: string): Db {
  try {
    return openDatabase(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    // Not the path: better-sqlite3 was built for another Node.js (a copied node_modules, a switched Node).
    if (code === 'ERR_DLOPEN_FAILED') {
      throw new StartupError(
        `better-sqlite3 cannot be loaded by Node.js ${process.version}: run \`npm rebuild better-sqlite3\` (${message})`,
      );
    }
    throw new StartupError(`EMBEDDED_DB_PATH ${path}: the embedded store cannot be opened (${message})`);
  }
}
