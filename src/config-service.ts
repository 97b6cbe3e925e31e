import { z } from 'zod';
import { bool, list, split } from './config-values.js';

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

/** The first table of docs/configuration.md: listening, logs, the embedded store, users, headers, bodies, imports, jobs. */
export const SERVICE_VARIABLES = {
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
  /**
   * The most data rows one CSV import takes (a 400 above, before anything is written): its answer
   * names every row, so it grows with the rows, whatever the file's size. The bulk activation that
   * follows an import takes BULK_JOB_MAX_USERS (100,000) users.
   */
  USER_IMPORT_MAX_ROWS: z.coerce.number().int().min(1).default(100_000),
  /** CSV imports that may run at once on a replica (a 429 beyond): each holds its answer, up to tens of MB. */
  USER_IMPORT_MAX_CONCURRENT: z.coerce.number().int().min(1).default(2),
  /** The body limit of the bulk job paths, whose lists of ids are longer than any other body. */
  BULK_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1_048_576),
  /** The most users one bulk activation or bulk change-password job takes. */
  BULK_JOB_MAX_USERS: z.coerce.number().int().min(1).default(100_000),
  /**
   * Bulk jobs of one type (activation, change-password) not yet finished (pending or running), counted
   * in the job store over every replica: the next one is a 429 before anything is written. Each holds
   * up to BULK_JOB_MAX_USERS ids in the store, and nothing bounded how many an administrator queued.
   */
  BULK_JOBS_MAX_PENDING: z.coerce.number().int().min(1).default(10),
  /** How often a replica looks for bulk jobs to work on (new jobs also start at once). */
  JOBS_POLL_MS: z.coerce.number().int().min(10).default(2000),
  /** How long a replica's claim on a job holds without a heartbeat. */
  JOBS_LEASE_MS: z.coerce.number().int().min(100).default(60_000),
  /**
   * How long a finished bulk job (completed or failed: its payload and results, megabytes for
   * 100,000 users) is kept before the background sweep deletes it; 0 keeps them forever. Days, a
   * fraction allowed (0.5: 12 hours).
   */
  JOBS_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(30),
  /** A jobProgress subscription re-reads its job this often (steps saved on another replica). */
  JOB_PROGRESS_POLL_MS: z.coerce.number().int().min(10).default(1000),
  JOB_PROGRESS_MAX_PER_CALLER: z.coerce.number().int().min(1).default(5),
  /** From SIGTERM/SIGINT to exit: requests and jobs in progress get this long to finish. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  UMS_BASE_URL: z.string().url().optional(),
  /** The built admin console (default: dist/console of the service's folder). */
  CONSOLE_ASSETS_DIR: z.string().min(1).optional(),
  TRUST_PROXY: trustProxy,
};
