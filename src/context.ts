import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallScope, ConfigStore, IdentityProvider, UserStore } from './clients/ports.js';
import type { Config } from './config.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { GroupSchemas } from './resolvers/group-schemas.js';

/** Everything built once at start-up and shared by all requests. */
export interface Deps {
  config: Config;
  logger: Logger;
  users: UserStore;
  groups: ConfigStore;
  identity: IdentityProvider;
  schemas: GroupSchemas;
}

/** The per-request context, the same for REST and GraphQL. */
export interface Context {
  deps: Deps;
  requestId: string;
  scope: CallScope;
  loaders: Loaders;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

/** Platform headers that the CRUD Service understands and that are forwarded as they came. */
const PLATFORM_HEADERS = ['acl_rows', 'acl_read_columns', 'acl_write_columns', 'client-type', 'isbackoffice'];

export function createContext(request: { headers: HeaderBag }, deps: Deps): Context {
  const { config } = deps;
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  const forwarded = [...PLATFORM_HEADERS, config.USERID_HEADER_KEY, config.GROUPS_HEADER_KEY, ...config.ADDITIONAL_HEADERS_TO_PROXY];
  const headers: Record<string, string> = {};
  for (const name of forwarded) {
    const value = header(name);
    if (value !== undefined) headers[name] = value;
  }
  return {
    deps,
    requestId: header('x-request-id') ?? randomUUID(),
    scope: { actorId: header(config.USERID_HEADER_KEY) || 'public', headers },
    loaders: createLoaders(deps.identity),
  };
}

/** Converts Fetch API headers (GraphQL over yoga) to the same bag Express gives. */
export function headersToBag(headers: Headers): HeaderBag {
  const bag: HeaderBag = {};
  headers.forEach((value, key) => {
    bag[key] = value;
  });
  return bag;
}
