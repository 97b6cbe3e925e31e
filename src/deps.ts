import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Connected, IdentityAdapters } from './deps-connected.js';
import type { ReadinessCheck } from './ports/readiness.js';
import { createSqliteJobStore } from './embedded/job-store.js';
import type { ConfigStore } from './ports/config-store.js';
import type { MailOutbox, Mailer } from './ports/mailer.js';
import type { RoleAdmin, RoleBinder } from './ports/role-binder.js';
import type { UserStore } from './ports/user-store.js';
import { EmbeddedRoles } from './embedded/roles.js';
import type { Config } from './config.js';
import { EmbeddedScheduler } from './embedded/scheduler.js';
import { StartupError } from './startup.js';
import type { Deps } from './context.js';
import { ALL_STATES } from './crud/states.js';
import { systemClock } from './domain/clock.js';
import { sharedReadiness } from './infra/shared-readiness.js';
import type { Clock } from './ports/clock.js';
import { GroupSchemas } from './infra/group-schemas.js';
import { throttleKey } from './domain/client-address.js';
import { LoginThrottle } from './infra/login-throttle.js';
import { JobWatches } from './infra/job-watches.js';
import { OneAtATime } from './infra/one-at-a-time.js';
import { Places } from './infra/places.js';
import { TooManyRequestsError } from './errors.js';
import { CALLER_PROFILE_TTL_MS, CallerProfiles, readCallerProfile } from './infra/caller-profiles.js';
import { loadEnrichment } from './infra/enrichment-file.js';
import { createEmbeddedAuthenticator } from './embedded/authenticator.js';
import { createSqliteConfigStore, groupFieldIndex } from './embedded/config-store.js';
import { type Db, openDatabase } from './embedded/db.js';
import { createEmbeddedIdentityProvider } from './embedded/identity.js';
import { createResetTickets } from './embedded/reset-tickets.js';
import { createEmbeddedImporter } from './embedded/importer.js';
import { Outbox } from './embedded/outbox.js';
import { type Metrics, noMetrics } from './ports/metrics.js';
import { createPrometheusMetrics } from './observability/prometheus.js';
import { Sessions } from './embedded/sessions.js';
import { createEmbeddedSessionStore } from './embedded/session-store.js';
import type { SessionStore } from './ports/session-store.js';
import { SigningKeys } from './embedded/signing-keys.js';
import { createSqliteUserStore } from './embedded/user-store.js';

/** When a refused import may try again: an import of 100,000 rows takes about 10 s. */
const IMPORT_RETRY_SECONDS = 5;

/**
 * The connected adapters (deps-connected.ts), imported the first time the configuration asks for
 * one: an embedded service never loads undici, nodemailer nor the upstream clients.
 */
type Upstreams = () => Promise<Connected>;

function lazyUpstreams(config: Config, metrics: Metrics): Upstreams {
  let connected: Promise<Connected> | undefined;
  return () => (connected ??= import('./deps-connected.js').then((module) => module.connectedAdapters(config, metrics)));
}

/**
 * Users and group configurations: in a CRUD Service when USERS_CRUD_ENDPOINT is set (as the
 * original service), else in the embedded store.
 */
async function profileStores(
  config: Config,
  db: Db,
  upstreams: Upstreams,
  clock: Clock,
): Promise<{ users: UserStore; groups: ConfigStore; readiness: () => Promise<ReadinessCheck[]> }> {
  if (config.USERS_CRUD_ENDPOINT !== undefined) {
    return (await upstreams()).profileStores({ users: config.USERS_CRUD_ENDPOINT, groups: config.UMS_CONFIG_CRUD_ENDPOINT }, clock);
  }
  return {
    users: createSqliteUserStore(db, clock, { fields: groupFieldIndex(db), textFields: config.TEXT_SEARCH_FIELDS }),
    groups: createSqliteConfigStore(db),
    readiness: async () => [{ name: 'embedded store', ok: true }],
  };
}

/**
 * Wires every port to its adapter (embedded, or connected where configured) and the shared
 * helpers; built once in main.ts. Asynchronous because a connected adapter's module is loaded
 * only when the configuration names its upstream.
 */
export async function createDeps(
  config: Config,
  logger: Logger,
  options: { clock?: Clock } = {},
): Promise<Deps & { db: Db; keys: SigningKeys }> {
  const { clock = systemClock } = options;
  const db = openEmbeddedStore(config.EMBEDDED_DB_PATH);
  const metrics = config.METRICS_ENABLED ? createPrometheusMetrics() : noMetrics;
  const upstreams = lazyUpstreams(config, metrics);
  const profiles = await profileStores(config, db, upstreams, clock);
  const timerSecret = config.TIMER_CALLBACK_SECRET ?? storedSecret(db, 'timer-callback-secret');
  const users = profiles.users;
  const sessions = new Sessions(db, config.REFRESH_TOKEN_TTL, clock);
  const keys = new SigningKeys(db, {
    maxAgeSeconds: config.SIGNING_KEY_MAX_AGE_DAYS * 86_400,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL,
    clock,
  });
  const { mailer, outbox } = await mailAdapters(config, db, logger, upstreams);
  const adapters = await identityAdapters({ config, db, keys, sessions, mailer, users, upstreams, clock, logger });
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
    readiness: sharedReadiness(
      async () => (await Promise.all([profiles.readiness(), identityReadiness()])).flat(),
      clock,
      config.READINESS_CACHE_MS,
    ),
    scheduler: config.TIMER_SERVICE
      ? (await upstreams()).scheduler({ service: config.TIMER_SERVICE, secret: timerSecret, clock })
      : new EmbeddedScheduler(db, logger, config.SCHEDULER_POLL_MS, clock),
    timerSecret,
    ...(await roleAdapters(config, db, upstreams)),
    enrichment: config.CONFIGURATION_PATH ? loadEnrichment(config.CONFIGURATION_PATH) : undefined,
    jobs: config.JOBS_CRUD_ENDPOINT ? (await upstreams()).jobs(config.JOBS_CRUD_ENDPOINT, clock, logger) : createSqliteJobStore(db, clock),
    jobEvents,
    jobWatches: new JobWatches(jobEvents, config.JOB_PROGRESS_MAX_PER_CALLER),
    importPlaces: new Places(
      config.USER_IMPORT_MAX_CONCURRENT,
      () =>
        new TooManyRequestsError(
          `Another import is running: at most ${config.USER_IMPORT_MAX_CONCURRENT} at a time (USER_IMPORT_MAX_CONCURRENT)`,
          IMPORT_RETRY_SECONDS,
        ),
    ),
    jobStarts: new OneAtATime(),
    replicaId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    identity,
    identityImports: importer,
    auth,
    mailer,
    outbox,
    schemas: new GroupSchemas(),
    // Per client address: an IPv6 address counts as its /64, a mapped IPv4 as the IPv4 (client-address.ts).
    loginThrottle: new LoginThrottle({
      max: config.LOGIN_IP_MAX_FAILURES,
      windowSeconds: config.LOGIN_IP_WINDOW_SECONDS,
      clock,
      keyOf: throttleKey,
    }),
    resetThrottle: new LoginThrottle({
      max: config.PASSWORD_RESET_IP_MAX_ATTEMPTS,
      windowSeconds: config.PASSWORD_RESET_IP_WINDOW_SECONDS,
      message: 'Too many password-reset attempts from this address',
      clock,
      keyOf: throttleKey,
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
async function mailAdapters(
  config: Config,
  db: Db,
  logger: Logger,
  upstreams: Upstreams,
): Promise<{ mailer: Mailer; outbox?: MailOutbox }> {
  if (config.SMTP_URL) return { mailer: (await upstreams()).mailer(config.SMTP_URL, logger) };
  const outbox = new Outbox(db, logger);
  return { mailer: outbox, outbox };
}

interface IdentityInput {
  config: Config;
  db: Db;
  keys: SigningKeys;
  sessions: Sessions;
  mailer: Mailer;
  users: UserStore;
  clock: Clock;
  upstreams: Upstreams;
  logger: Logger;
}

/** The identity provider of AUTH_MODULE: embedded, Auth0 directly, or Mia-Platform's auth0-client. */
async function identityAdapters(input: IdentityInput): Promise<IdentityAdapters> {
  const { config, clock } = input;
  if (config.AUTH_MODULE === 'embedded') return embeddedIdentity(input);
  const connected = await input.upstreams();
  return connected.identity(config, { sessions: websiteSessions(input, connected), clock, logger: input.logger });
}

/** Website sessions with Auth0: in the CRUD Service with SESSIONS_CRUD_ENDPOINT (shared by replicas), else embedded. */
function websiteSessions({ config, sessions, clock }: IdentityInput, connected: Connected): SessionStore {
  if (!config.SESSIONS_CRUD_ENDPOINT) return createEmbeddedSessionStore(sessions);
  return connected.sessionStore(config.SESSIONS_CRUD_ENDPOINT, clock);
}

/** The embedded identity provider: argon2id users, EdDSA tokens, sessions, reset e-mails. */
function embeddedIdentity(input: IdentityInput): IdentityAdapters {
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
    identity: createEmbeddedIdentityProvider(db, sessions, {
      cacheSize: config.EMBEDDED_IDENTITY_CACHE_SIZE,
      tickets: createResetTickets({ db, ttlSeconds: config.RESET_TICKET_TTL, clock }),
    }),
    auth,
    importer: createEmbeddedImporter(db),
    readiness: async () => [{ name: 'embedded identity', ok: true }],
  };
}

/** Rönd when ROND_ENABLED, else roles and bindings in the embedded store (manageable through GraphQL). */
async function roleAdapters(config: Config, db: Db, upstreams: Upstreams): Promise<{ roles: RoleBinder; roleAdmin?: RoleAdmin }> {
  if (config.ROND_ENABLED) return { roles: (await upstreams()).roles() };
  const embedded = new EmbeddedRoles(db);
  return { roles: embedded, roleAdmin: embedded };
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
