import { z } from 'zod';
import { type Interval, parseInterval } from './domain/interval.js';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true');

const split = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
/** A comma-separated list of header names (lower-cased) or group names. */
const list = z
  .string()
  .default('')
  .transform((value) => split(value.toLowerCase()));
/** A comma-separated list kept as written (secrets). */
const secretList = z.string().default('').transform(split);
const seconds = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/**
 * Which proxies may name the client's address in X-Forwarded-For: `false` (none), a hop count,
 * or a list of addresses, subnets and Express's names (`loopback`, `uniquelocal`…). Never `true`,
 * which would trust whatever address the client itself writes there (and so its login limits).
 */
const trustProxy = z
  .string()
  .default('false')
  .transform((value, ctx): false | number | string[] => {
    const text = value.trim();
    if (text === 'false' || text === '') return false;
    if (/^\d+$/.test(text)) return Number(text);
    if (text === 'true') {
      ctx.addIssue({ code: 'custom', message: 'must be a hop count (e.g. 1) or a list of proxy addresses, not true' });
      return z.NEVER;
    }
    return split(text);
  });

/** Variables whose empty value means something (not "unset"). */
const EMPTY_IS_A_VALUE = new Set(['USERINFO_ADDITIONAL_PROPERTIES']);

/** Every variable the service reads, with its default. docs/configuration.md lists the same. */
const EnvSchema = z
  .object({
    HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    /** The address to listen on; unset, every address of the machine (the container image sets 0.0.0.0). */
    HOST: z.string().trim().min(1).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** One line per request at info (docs/observability.md). */
    ACCESS_LOG: bool(true),
    /** Counts requests, upstream calls, logins… and serves them at `GET /-/metrics`. */
    METRICS_ENABLED: bool(true),
    EMBEDDED_DB_PATH: z.string().min(1).default('data/ums.sqlite'),
    /** Group fields the embedded full-text index reads for `$text`, besides username and email. */
    TEXT_SEARCH_FIELDS: z
      .string()
      .default('')
      .transform(split)
      .refine(
        (fields) =>
          fields.every((field) => /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(field) && !/__proto__|constructor|prototype/.test(field)),
        {
          message: 'must be comma-separated field names (a.b for a nested field)',
        },
      ),
    EMBEDDED_IDENTITY_CACHE_SIZE: z.coerce.number().int().min(0).default(100_000),
    UMS_CONFIG_FILE: z.string().min(1).optional(),
    AUTH_HARD_DELETE: bool(true),
    RANDOM_PWD_GEN: bool(true),
    RANDOM_PWD_LENGTH: z.coerce.number().int().min(8).max(128).default(8),
    USERID_HEADER_KEY: z
      .string()
      .min(1)
      .default('miauserid')
      .transform((value) => value.toLowerCase()),
    GROUPS_HEADER_KEY: z
      .string()
      .min(1)
      .default('miausergroups')
      .transform((value) => value.toLowerCase()),
    ADDITIONAL_HEADERS_TO_PROXY: list,
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
    /** Rows written per store call when importing a CSV (the original's name and default). */
    USER_IMPORT_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(250),
    /** The largest CSV `PATCH /users/import` accepts; the file is streamed, so this bounds disk, not memory. */
    USER_IMPORT_MAX_FILE_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(64 * 1_048_576),
    /** The body limit of the bulk job paths, whose lists of ids are longer than any other body. */
    BULK_BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(16 * 1_048_576),
    /** The most users one bulk activation or bulk change-password job takes. */
    BULK_JOB_MAX_USERS: z.coerce.number().int().min(1).default(100_000),
    /** How often a replica looks for bulk jobs to work on (new jobs also start at once). */
    JOBS_POLL_MS: z.coerce.number().int().min(10).default(2000),
    /** How long a replica's claim on a job holds without a heartbeat. */
    JOBS_LEASE_MS: z.coerce.number().int().min(100).default(60_000),
    /** A jobProgress subscription re-reads its job this often (steps saved on another replica). */
    JOB_PROGRESS_POLL_MS: z.coerce.number().int().min(10).default(1000),
    JOB_PROGRESS_MAX_PER_CALLER: z.coerce.number().int().min(1).default(5),
    /** From SIGTERM/SIGINT to exit: requests and jobs in progress get this long to finish. */
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    UMS_BASE_URL: z.string().url().optional(),
    /** The built admin console (default: dist/console of the service's folder). */
    CONSOLE_ASSETS_DIR: z.string().min(1).optional(),
    TRUST_PROXY: trustProxy,

    ACCESS_CONTROL: z.enum(['builtin', 'gateway']).default('builtin'),
    ADMIN_GROUPS: z.string().default('admin').transform(split),
    API_KEYS: secretList,
    BOOTSTRAP_ADMIN_USERNAME: z.string().min(1).default('admin'),
    BOOTSTRAP_ADMIN_PASSWORD: z.string().min(1).optional(),

    ACCESS_TOKEN_TTL: seconds(900),
    REFRESH_TOKEN_TTL: seconds(30 * 86_400),
    RESET_TICKET_TTL: seconds(3600),
    SIGNING_KEY_MAX_AGE_DAYS: z.coerce.number().int().min(1).default(90),
    TOKEN_ISSUER: z.string().min(1).optional(),
    WEBSITE_CLIENT_TYPES: list,
    COOKIE_SECURE: bool(true),
    CUSTOM_USER_ID_KEY: z.string().min(1).default('sub'),
    USERINFO_ADDITIONAL_PROPERTIES: z
      .string()
      .optional()
      .transform((value) => (value === undefined ? undefined : split(value))),

    LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(10),
    LOGIN_LOCK_SECONDS: seconds(900),
    LOGIN_IP_MAX_FAILURES: z.coerce.number().int().min(1).default(100),
    LOGIN_IP_WINDOW_SECONDS: seconds(60),
    PASSWORD_RESET_IP_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(10),
    PASSWORD_RESET_IP_WINDOW_SECONDS: seconds(60),
    PASSWORD_EMAIL_MAX_PER_USER: z.coerce.number().int().min(1).default(5),
    PASSWORD_EMAIL_WINDOW_SECONDS: seconds(3600),

    CRUD_SERVICE: z.string().min(1).default('crud-service'),
    USERS_CRUD_ENDPOINT: z.string().startsWith('/').optional(),
    UMS_CONFIG_CRUD_ENDPOINT: z.string().startsWith('/').optional(),
    CRUD_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    JOBS_CRUD_ENDPOINT: z.string().startsWith('/').optional(),
    /** Website sessions (the sid cookie) with AUTH_MODULE=auth0, shared by replicas (docs/replicas.md). */
    SESSIONS_CRUD_ENDPOINT: z.string().startsWith('/').optional(),
    /** `shared`: several replicas; refuse to start while any state would stay in this replica (src/replicas.ts). */
    REPLICAS: z.enum(['single', 'shared']).default('single'),
    /** Upstream failures (docs/reliability.md): each request's deadline, the breakers, the readiness probes. */
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
    UPSTREAM_BREAKER_THRESHOLD: z.coerce.number().int().min(0).default(5),
    UPSTREAM_BREAKER_HALF_OPEN_MS: z.coerce.number().int().min(100).default(5000),
    READINESS_TIMEOUT_MS: z.coerce.number().int().min(50).default(2000),

    AUTH_MODULE: z.enum(['embedded', 'auth0', 'auth0Client']).default('embedded'),
    AUTH_SERVICE: z.string().min(1).optional(),
    AUTH_CONNECTION: z.string().min(1).optional(),
    AUTH0_DOMAIN: z.string().min(1).optional(),
    AUTH0_BASE_URL: z.string().url().optional(),
    AUTH0_CLIENT_ID: z.string().min(1).optional(),
    AUTH0_CLIENT_SECRET: z.string().min(1).optional(),
    AUTH0_MANAGEMENT_CLIENT_ID: z.string().min(1).optional(),
    AUTH0_MANAGEMENT_CLIENT_SECRET: z.string().min(1).optional(),
    AUTH0_AUDIENCE: z.string().min(1).optional(),
    AUTH0_CONNECTION_ID: z.string().min(1).optional(),
    AUTH0_MAX_CONCURRENCY: z.coerce.number().int().min(1).default(8),
    AUTH0_MAX_RETRIES: z.coerce.number().int().min(0).default(5),
    AUTH0_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    /** The longest wait between two polls of an identity import job (ms, `10 seconds`, or cron). */
    AUTH0_JOB_POLLING_INTERVAL: z
      .string()
      .default('10 seconds')
      .transform((value, ctx): Interval => {
        const interval = parseInterval(value);
        if (!interval) ctx.addIssue({ code: 'custom', message: 'is not a duration (5000, "2 minutes") or a cron expression' });
        return interval ?? (() => 0);
      }),
    /** Change-password requests per second of a bulk job; 2 with Auth0 (its free tier), 100 embedded. */
    AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().optional(),

    CONFIGURATION_PATH: z.string().min(1).optional(),

    ROND_ENABLED: bool(false),
    ROND_SERVICE: z.string().min(1).default('rond-service'),
    ROLES_CRUD_ENDPOINT: z.string().startsWith('/').optional(),

    TIMER_SERVICE: z.string().min(1).optional(),
    TIMER_SERVICE_HEADERS: list,
    TIMER_CALLBACK_SECRET: z.string().min(16).optional(),
    SCHEDULER_POLL_MS: z.coerce.number().int().min(50).default(500),

    SMTP_URL: z.string().url().optional(),
    MAIL_FROM: z.string().min(3).default('User Manager <no-reply@localhost>'),

    /** GraphQL (docs/configuration.md): the limits of one request, who may introspect, GraphiQL. */
    GRAPHQL_INTROSPECTION: z.enum(['authenticated', 'always', 'never']).default('authenticated'),
    GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).default(2000),
    GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).default(10),
    GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).default(15),
    GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
    GRAPHQL_MAX_COST: z.coerce.number().int().min(100).default(50_000),
    GRAPHQL_MAX_ROOT_MUTATIONS: z.coerce.number().int().min(1).default(10),
    GRAPHQL_MAX_VARIABLE_DEPTH: z.coerce.number().int().min(1).default(32),
    GRAPHQL_MAX_VARIABLE_NODES: z.coerce.number().int().min(1).default(200_000),
    GRAPHIQL: bool(true),
    /** A test switch: run each document through graphql-js as well and refuse answers that differ (graphql-jit-shadow.ts). */
    GRAPHQL_JIT_SHADOW: bool(false),
  })
  // Each backend choice carries the variables it needs (Config is a discriminated union on them).
  .transform((env, ctx) => ({ ...env, ...identityChoice(env, ctx), ...profileChoice(env, ctx) }));

/** The identity provider of AUTH_MODULE, with the variables it cannot work without. */
export type IdentityConfig =
  | { AUTH_MODULE: 'embedded' }
  | { AUTH_MODULE: 'auth0'; AUTH0_CLIENT_ID: string; AUTH0_CLIENT_SECRET: string; AUTH_CONNECTION: string }
  | { AUTH_MODULE: 'auth0Client'; AUTH_SERVICE: string; AUTH_CONNECTION: string };

/** Where profiles and groups live: the embedded store, or the two collections of a CRUD Service. */
export type ProfileConfig = { USERS_CRUD_ENDPOINT: undefined } | { USERS_CRUD_ENDPOINT: string; UMS_CONFIG_CRUD_ENDPOINT: string };

/** The variables that choose the backends, as the schema has read them. */
interface BackendVariables {
  AUTH_MODULE: IdentityConfig['AUTH_MODULE'];
  AUTH_SERVICE?: string;
  AUTH_CONNECTION?: string;
  AUTH0_CLIENT_ID?: string;
  AUTH0_CLIENT_SECRET?: string;
  AUTH0_DOMAIN?: string;
  AUTH0_BASE_URL?: string;
  USERS_CRUD_ENDPOINT?: string;
  UMS_CONFIG_CRUD_ENDPOINT?: string;
}

/** A variable the chosen backend needs; when it is missing, an issue that names it (the parse then fails). */
function needed(env: BackendVariables, ctx: z.RefinementCtx, name: keyof BackendVariables, why: string): string {
  const value = env[name];
  if (value) return value;
  ctx.addIssue({ code: 'custom', path: [name], message: `is required ${why}` });
  return '';
}

function identityChoice(env: BackendVariables, ctx: z.RefinementCtx): IdentityConfig {
  if (env.AUTH_MODULE === 'auth0Client') {
    const why = 'with AUTH_MODULE=auth0Client';
    return {
      AUTH_MODULE: env.AUTH_MODULE,
      AUTH_SERVICE: needed(env, ctx, 'AUTH_SERVICE', why),
      AUTH_CONNECTION: needed(env, ctx, 'AUTH_CONNECTION', why),
    };
  }
  if (env.AUTH_MODULE !== 'auth0') return { AUTH_MODULE: env.AUTH_MODULE };
  const why = 'with AUTH_MODULE=auth0';
  const auth0 = {
    AUTH_MODULE: env.AUTH_MODULE,
    AUTH0_CLIENT_ID: needed(env, ctx, 'AUTH0_CLIENT_ID', why),
    AUTH0_CLIENT_SECRET: needed(env, ctx, 'AUTH0_CLIENT_SECRET', why),
    AUTH_CONNECTION: needed(env, ctx, 'AUTH_CONNECTION', why),
  };
  if (!env.AUTH0_BASE_URL) needed(env, ctx, 'AUTH0_DOMAIN', `${why} (or AUTH0_BASE_URL)`);
  return auth0;
}

function profileChoice(env: BackendVariables, ctx: z.RefinementCtx): ProfileConfig {
  if (!env.USERS_CRUD_ENDPOINT) return { USERS_CRUD_ENDPOINT: undefined };
  const why = 'when USERS_CRUD_ENDPOINT is set';
  return { USERS_CRUD_ENDPOINT: env.USERS_CRUD_ENDPOINT, UMS_CONFIG_CRUD_ENDPOINT: needed(env, ctx, 'UMS_CONFIG_CRUD_ENDPOINT', why) };
}

/** A service named as in the original: a host name (meaning `http://<host>`) or a full URL. */
export function serviceUrl(hostOrUrl: string): string {
  return hostOrUrl.includes('://') ? hostOrUrl : `http://${hostOrUrl}`;
}

/** `CRUD_SERVICE` is a host name as in the original (`http://<host>`) or a full URL. */
export function crudBaseUrl(config: Pick<Config, 'CRUD_SERVICE'>): string {
  return config.CRUD_SERVICE.includes('://') ? config.CRUD_SERVICE : `http://${config.CRUD_SERVICE}`;
}

/** The environment, checked: a discriminated union on the backend choices (IdentityConfig, ProfileConfig). */
export type Config = z.output<typeof EnvSchema> & { UMS_BASE_URL: string; AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: number };

/** Reads and validates the environment once; a bad value names the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([name, value]) => value !== undefined && (value !== '' || EMPTY_IS_A_VALUE.has(name))),
  );
  const result = EnvSchema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    // One line, however many variables are wrong: start-up failures are one line (startup.ts).
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  const config = result.data;
  return {
    ...config,
    // Explicit only: unset, the embedded provider uses the issuer kept in its store (deps.ts).
    TOKEN_ISSUER: config.TOKEN_ISSUER ?? config.UMS_BASE_URL,
    UMS_BASE_URL: config.UMS_BASE_URL ?? `http://localhost:${config.HTTP_PORT}`,
    AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND:
      config.AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND ?? (config.AUTH_MODULE === 'embedded' ? 100 : 2),
  };
}

/** The name of every variable the service reads (`--help` and docs/configuration.md list each). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.in.shape);
