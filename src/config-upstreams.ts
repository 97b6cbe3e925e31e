import { z } from 'zod';
import { bool, list } from './config-values.js';
import { type Interval, parseInterval } from './domain/interval.js';

/** docs/configuration.md, "Connected profile store": the CRUD Service, replicas, and what upstream failures cost. */
export const CRUD_VARIABLES = {
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
  /**
   * The largest reply body read from an upstream (CRUD, Auth0, auth0-client, Timer, Rönd), in
   * bytes: past it the reply is dropped and the call is a 503. Replies are pages (the CRUD's at most
   * 200 users), tokens and small documents; 32 MiB is far above them.
   */
  UPSTREAM_MAX_REPLY_BYTES: z.coerce
    .number()
    .int()
    .min(65_536)
    .default(32 * 1024 * 1024),
  /** How long an all-ready answer of `/-/ready` is answered again without probing (src/infra/shared-readiness.ts). */
  READINESS_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
};

/** docs/configuration.md, "Connected identity provider": AUTH_MODULE and what Auth0 or auth0-client need. */
export const IDENTITY_VARIABLES = {
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
};

/** docs/configuration.md, "Expiration and roles": Rönd and the Timer Service. */
export const EXPIRATION_AND_ROLE_VARIABLES = {
  ROND_ENABLED: bool(false),
  ROND_SERVICE: z.string().min(1).default('rond-service'),
  ROLES_CRUD_ENDPOINT: z.string().startsWith('/').optional(),

  TIMER_SERVICE: z.string().min(1).optional(),
  TIMER_SERVICE_HEADERS: list,
  TIMER_CALLBACK_SECRET: z.string().min(16).optional(),
  SCHEDULER_POLL_MS: z.coerce.number().int().min(50).default(500),
};

/** docs/configuration.md, "Mail". */
export const MAIL_VARIABLES = {
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().min(3).default('User Manager <no-reply@localhost>'),
};
