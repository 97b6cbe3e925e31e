import { z } from 'zod';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true');

const list = z
  .string()
  .default('')
  .transform((value) => value.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean));

/** Every variable the service reads, with its default. docs/configuration.md lists the same. */
const EnvSchema = z.object({
  HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  EMBEDDED_DB_PATH: z.string().min(1).default('data/ums.sqlite'),
  UMS_CONFIG_FILE: z.string().min(1).optional(),
  AUTH_HARD_DELETE: bool(true),
  RANDOM_PWD_GEN: bool(true),
  RANDOM_PWD_LENGTH: z.coerce.number().int().min(8).max(128).default(8),
  USERID_HEADER_KEY: z.string().min(1).default('miauserid').transform((value) => value.toLowerCase()),
  GROUPS_HEADER_KEY: z.string().min(1).default('miausergroups').transform((value) => value.toLowerCase()),
  ADDITIONAL_HEADERS_TO_PROXY: list,
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  UMS_BASE_URL: z.string().url().optional(),
});

export type Config = z.infer<typeof EnvSchema>;

/** Reads and validates the environment once; a bad value names the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = EnvSchema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}
