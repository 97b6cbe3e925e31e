import { z } from 'zod';
import { bool, list, secretList, seconds, split } from './config-values.js';

/** docs/configuration.md, "Access control": who may call the service. */
export const ACCESS_CONTROL_VARIABLES = {
  ACCESS_CONTROL: z.enum(['builtin', 'gateway']).default('builtin'),
  ADMIN_GROUPS: z.string().default('admin').transform(split),
  API_KEYS: secretList,
  BOOTSTRAP_ADMIN_USERNAME: z.string().min(1).default('admin'),
  BOOTSTRAP_ADMIN_PASSWORD: z.string().min(1).optional(),
};

/** docs/configuration.md, "Tokens, sessions and logins": the embedded identity provider's tokens and login limits. */
export const TOKEN_VARIABLES = {
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
};
