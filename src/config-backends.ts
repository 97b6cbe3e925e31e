import type { z } from 'zod';

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

export function identityChoice(env: BackendVariables, ctx: z.RefinementCtx): IdentityConfig {
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

export function profileChoice(env: BackendVariables, ctx: z.RefinementCtx): ProfileConfig {
  if (!env.USERS_CRUD_ENDPOINT) return { USERS_CRUD_ENDPOINT: undefined };
  const why = 'when USERS_CRUD_ENDPOINT is set';
  return { USERS_CRUD_ENDPOINT: env.USERS_CRUD_ENDPOINT, UMS_CONFIG_CRUD_ENDPOINT: needed(env, ctx, 'UMS_CONFIG_CRUD_ENDPOINT', why) };
}
