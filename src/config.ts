import { z } from 'zod';
import { ACCESS_CONTROL_VARIABLES, TOKEN_VARIABLES } from './config-access.js';
import { identityChoice, profileChoice } from './config-backends.js';
import { GRAPHQL_VARIABLES } from './config-graphql.js';
import { SERVICE_VARIABLES } from './config-service.js';
import { CRUD_VARIABLES, EXPIRATION_AND_ROLE_VARIABLES, IDENTITY_VARIABLES, MAIL_VARIABLES } from './config-upstreams.js';

/** Variables whose empty value means something (not "unset"). */
const EMPTY_IS_A_VALUE = new Set(['USERINFO_ADDITIONAL_PROPERTIES']);

/** Every variable the service reads, with its default. docs/configuration.md lists the same. */
const EnvSchema = z
  .object({
    ...SERVICE_VARIABLES,
    ...ACCESS_CONTROL_VARIABLES,
    ...TOKEN_VARIABLES,
    ...CRUD_VARIABLES,
    ...IDENTITY_VARIABLES,
    ...EXPIRATION_AND_ROLE_VARIABLES,
    ...MAIL_VARIABLES,
    ...GRAPHQL_VARIABLES,
  })
  // Each backend choice carries the variables it needs (Config is a discriminated union on them).
  .transform((env, ctx) => ({ ...env, ...identityChoice(env, ctx), ...profileChoice(env, ctx) }));

/** A service named as in the original: a host name (meaning `http://<host>`) or a full URL. */
export function serviceUrl(hostOrUrl: string): string {
  return hostOrUrl.includes('://') ? hostOrUrl : `http://${hostOrUrl}`;
}

/** `CRUD_SERVICE` is a host name as in the original (`http://<host>`) or a full URL. */
export function crudBaseUrl(config: Pick<Config, 'CRUD_SERVICE'>): string {
  return config.CRUD_SERVICE.includes('://') ? config.CRUD_SERVICE : `http://${config.CRUD_SERVICE}`;
}

/** The environment, checked: a discriminated union on the backend choices (IdentityConfig, ProfileConfig: config-backends.ts). */
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
