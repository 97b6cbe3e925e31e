import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { type Logger, pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { GroupConfig } from '../../src/clients/ports.js';
import type { Deps } from '../../src/context.js';
import { createEmbeddedDeps } from '../../src/deps.js';

export interface TestService {
  url: string;
  deps: Deps;
  close: () => Promise<void>;
  /** fetch relative to the service, JSON in and out, as an administrator (the test API key); a header set to '' is not sent. */
  call: (
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; body: any; headers: Headers }>;
  /** A GraphQL request; answers `{data, errors}`. */
  graphql: (
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) => Promise<{ data?: any; errors?: any[] }>;
}

export const TEST_API_KEY = 'test-api-key-0123456789';

export interface ServiceOptions {
  env?: Record<string, string>;
  /** Where logs go (silent by default). */
  logger?: Logger;
  /** Replace or wrap adapters (e.g. to inject a failure). */
  wrap?: (deps: Deps) => Partial<Deps>;
}

/** The real app on embedded adapters (in-memory SQLite), listening on 127.0.0.1. */
export async function startService(options: ServiceOptions = {}): Promise<TestService> {
  const config = loadConfig({
    EMBEDDED_DB_PATH: ':memory:',
    LOG_LEVEL: 'silent',
    API_KEYS: TEST_API_KEY,
    COOKIE_SECURE: 'false',
    ...options.env,
  });
  const base = createEmbeddedDeps(config, options.logger ?? pino({ level: 'silent' }));
  const deps: Deps = { ...base, ...options.wrap?.(base) };
  const server: Server = await new Promise((resolve) => {
    const listening = buildApp(deps).listen(0, '127.0.0.1', () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call: TestService['call'] = async (method, path, body, headers = {}) => {
    const sent = { 'x-api-key': TEST_API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers };
    const response = await fetch(url + path, {
      method,
      headers: Object.fromEntries(Object.entries(sent).filter(([, value]) => value !== '')),
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
  return {
    url,
    deps,
    call,
    graphql: async (query, variables, headers) => (await call('POST', '/graphql', { query, variables }, headers)).body,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          base.db.close();
          resolve();
        });
      }),
  };
}

/** A group whose users need a name and may have an age. */
export const CUSTOMER_GROUP = {
  userGroup: 'customer',
  label: 'Customer',
  authUserCreationDisabled: false,
  crudSchema: {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 }, tags: { type: 'array', items: { type: 'string' } } },
    required: ['name'],
  },
};

/** A group of profile-only users. */
export const GUEST_GROUP = {
  userGroup: 'guest',
  label: 'Guest',
  authUserCreationDisabled: true,
  crudSchema: { type: 'object', properties: { name: { type: 'string' } } },
};

export async function seedGroups(service: TestService, groups: GroupConfig[] = [CUSTOMER_GROUP, GUEST_GROUP]): Promise<void> {
  for (const group of groups) await service.deps.groups.saveGroup(group, { actorId: 'test', headers: {} });
}
