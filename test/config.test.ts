import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { checkSharedState, perReplicaState, sharedStateWarnings } from '../src/replicas.js';
import { seedGroups } from '../src/seed.js';
import { startService } from './helpers/service.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      HTTP_PORT: 3000,
      EMBEDDED_DB_PATH: 'data/ums.sqlite',
      AUTH_HARD_DELETE: true,
      RANDOM_PWD_GEN: true,
      RANDOM_PWD_LENGTH: 8,
      JOBS_RETENTION_DAYS: 30,
    });
  });

  it('names the variable when a value is bad', () => {
    expect(() => loadConfig({ HTTP_PORT: 'eighty' })).toThrow(/HTTP_PORT/);
    expect(() => loadConfig({ AUTH_HARD_DELETE: 'yes' })).toThrow(/AUTH_HARD_DELETE/);
    expect(() => loadConfig({ RANDOM_PWD_LENGTH: '4' })).toThrow(/RANDOM_PWD_LENGTH/);
    expect(() => loadConfig({ JOBS_RETENTION_DAYS: '-1' })).toThrow(/JOBS_RETENTION_DAYS/);
    expect(() => loadConfig({ JOBS_RETENTION_DAYS: 'a month' })).toThrow(/JOBS_RETENTION_DAYS/);
    // Past 100 years the sweep's cut-off is no date: its toISOString threw in the job worker's start.
    expect(() => loadConfig({ JOBS_RETENTION_DAYS: '1e9' })).toThrow(/JOBS_RETENTION_DAYS/);
    expect(loadConfig({ JOBS_RETENTION_DAYS: '0' }).JOBS_RETENTION_DAYS).toBe(0);
  });

  it('names each variable a backend needs and is missing, with the backend that needs it', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        // One line (start-up failures are one line): "Invalid configuration: A: …; B: …".
        return (error as Error).message.replace(/^Invalid configuration: /, '').split('; ');
      }
    };
    expect(problems({ AUTH_MODULE: 'auth0' })).toEqual([
      'AUTH0_CLIENT_ID: is required with AUTH_MODULE=auth0',
      'AUTH0_CLIENT_SECRET: is required with AUTH_MODULE=auth0',
      'AUTH_CONNECTION: is required with AUTH_MODULE=auth0',
      'AUTH0_DOMAIN: is required with AUTH_MODULE=auth0 (or AUTH0_BASE_URL)',
    ]);
    expect(
      problems({ AUTH_MODULE: 'auth0', AUTH0_BASE_URL: 'http://127.0.0.1:1', AUTH0_CLIENT_ID: 'c', AUTH0_CLIENT_SECRET: 's' }),
    ).toEqual(['AUTH_CONNECTION: is required with AUTH_MODULE=auth0']);
    expect(problems({ AUTH_MODULE: 'auth0Client', AUTH_CONNECTION: 'db' })).toEqual([
      'AUTH_SERVICE: is required with AUTH_MODULE=auth0Client',
    ]);
    expect(problems({ USERS_CRUD_ENDPOINT: '/users' })).toEqual(['UMS_CONFIG_CRUD_ENDPOINT: is required when USERS_CRUD_ENDPOINT is set']);
    expect(problems({ AUTH_MODULE: 'auth0Client', AUTH_SERVICE: 'auth0-client', AUTH_CONNECTION: 'db' })).toEqual([]);
    expect(problems({ USERS_CRUD_ENDPOINT: '/users', UMS_CONFIG_CRUD_ENDPOINT: '/ums-config' })).toEqual([]);
  });

  it('reads AUTH0_JOB_POLLING_INTERVAL as the original does: milliseconds, a duration or a cron expression', () => {
    const wait = (value: string, now = Date.UTC(2026, 0, 1, 10, 0, 30)) =>
      loadConfig({ AUTH0_JOB_POLLING_INTERVAL: value }).AUTH0_JOB_POLLING_INTERVAL(now);
    expect(loadConfig({}).AUTH0_JOB_POLLING_INTERVAL(0)).toBe(10_000);
    expect(wait('5000')).toBe(5000);
    expect(wait('2 minutes')).toBe(120_000);
    expect(wait('30s')).toBe(30_000);
    // Every 2 minutes: from 10:00:30 the next tick is 10:02:00.
    expect(wait('*/2 * * * *')).toBe(90_000);
    expect(() => loadConfig({ AUTH0_JOB_POLLING_INTERVAL: 'soon' })).toThrow(/AUTH0_JOB_POLLING_INTERVAL/);
  });

  it('paces bulk change-password at 2/s with Auth0 (the GAP decided), 100/s embedded, or as set', () => {
    const auth0 = {
      AUTH_MODULE: 'auth0',
      AUTH0_DOMAIN: 't.eu.auth0.com',
      AUTH0_CLIENT_ID: 'c',
      AUTH0_CLIENT_SECRET: 's',
      AUTH_CONNECTION: 'db',
    };
    expect(loadConfig(auth0).AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND).toBe(2);
    expect(loadConfig({}).AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND).toBe(100);
    expect(
      loadConfig({ ...auth0, AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: '10' }).AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND,
    ).toBe(10);
  });
});

describe('REPLICAS=shared', () => {
  const auth0 = {
    AUTH_MODULE: 'auth0',
    AUTH0_DOMAIN: 't.eu.auth0.com',
    AUTH0_CLIENT_ID: 'c',
    AUTH0_CLIENT_SECRET: 's',
    AUTH_CONNECTION: 'db',
  };
  const upstream = {
    ...auth0,
    USERS_CRUD_ENDPOINT: '/users',
    UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
    SESSIONS_CRUD_ENDPOINT: '/sessions',
    JOBS_CRUD_ENDPOINT: '/jobs',
    TIMER_SERVICE: 'timer-service',
    TIMER_CALLBACK_SECRET: 'a-secret-of-sixteen-chars',
    ROND_ENABLED: 'true',
    REPLICAS: 'shared',
  };

  it('is off by default: one process may keep its state in its embedded file', () => {
    expect(loadConfig({}).REPLICAS).toBe('single');
    expect(() => checkSharedState(loadConfig({}))).not.toThrow();
    expect(() => loadConfig({ REPLICAS: 'many' })).toThrow(/REPLICAS/);
  });

  it('starts when every piece of state is upstream, with Auth0 or with the auth0-client (its own sessions)', () => {
    expect(perReplicaState(loadConfig(upstream))).toEqual([]);
    const { SESSIONS_CRUD_ENDPOINT: _sessions, ...withoutSessions } = upstream;
    const auth0Client = { ...withoutSessions, AUTH_MODULE: 'auth0Client', AUTH_SERVICE: 'auth0-client' };
    expect(() => checkSharedState(loadConfig(auth0Client))).not.toThrow();
  });

  it.each([
    ['SESSIONS_CRUD_ENDPOINT', 'website sessions'],
    ['JOBS_CRUD_ENDPOINT', 'bulk jobs'],
    ['TIMER_SERVICE', 'expiration schedules'],
    ['TIMER_CALLBACK_SECRET', 'the Timer callback secret'],
    ['ROND_ENABLED', 'roles and bindings'],
    ['USERS_CRUD_ENDPOINT', 'profiles and user groups'],
  ])('refuses to start without %s, in one line that names it and the state it moves', (variable, state) => {
    const env: Record<string, string> = { ...upstream };
    delete env[variable];
    if (variable === 'USERS_CRUD_ENDPOINT') delete env.UMS_CONFIG_CRUD_ENDPOINT;
    expect(() => checkSharedState(loadConfig(env))).toThrow(
      `REPLICAS=shared, but this state would stay in each replica: ${state} (set ${variable}`,
    );
    expect(() => checkSharedState(loadConfig(env))).toThrow(/^[^\n]+$/);
  });

  it('warns when the Timer Service would call expirations back at a loopback UMS_BASE_URL (its default)', () => {
    expect(sharedStateWarnings(loadConfig(upstream))).toEqual([
      expect.stringMatching(/^REPLICAS=shared .*UMS_BASE_URL is http:\/\/localhost:3000/),
    ]);
    expect(sharedStateWarnings(loadConfig({ ...upstream, UMS_BASE_URL: 'http://127.0.0.1:8080' }))).toHaveLength(1);
    expect(sharedStateWarnings(loadConfig({ ...upstream, UMS_BASE_URL: 'http://user-manager-service' }))).toEqual([]);
    const { TIMER_SERVICE: _timer, ...withoutTimer } = upstream;
    expect(sharedStateWarnings(loadConfig(withoutTimer))).toEqual([]);
    expect(sharedStateWarnings(loadConfig({ TIMER_SERVICE: 'timer-service' }))).toEqual([]);
  });

  it('names the identity provider and the mail outbox with the embedded provider, every problem in the same line', () => {
    const { AUTH_MODULE: _module, ...embedded } = upstream;
    expect(perReplicaState(loadConfig(embedded))).toEqual([
      'identities, tokens and lockouts (set AUTH_MODULE=auth0 or auth0Client)',
      'the mail outbox (set SMTP_URL)',
    ]);
    // Website sessions go with the identities there: seven problems, not eight.
    expect(perReplicaState(loadConfig({ REPLICAS: 'shared' }))).toHaveLength(7);
  });
});

describe('UMS_CONFIG_FILE', () => {
  it('upserts the groups of the file and refuses a schema that does not compile', async () => {
    const service = await startService();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'ums-'));
      const good = join(dir, 'groups.json');
      writeFileSync(good, JSON.stringify([{ userGroup: 'staff', label: 'Staff', crudSchema: { type: 'object', required: ['badge'] } }]));
      expect(await seedGroups(service.deps, good)).toBe(1);
      expect((await service.call('POST', '/users/', { userGroup: 'staff', username: 'st' })).status).toBe(400);
      expect((await service.call('POST', '/users/', { userGroup: 'staff', username: 'st', badge: 7 })).status).toBe(200);

      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify([{ userGroup: 'x', label: 'X', crudSchema: { type: 'nope' } }]));
      await expect(seedGroups(service.deps, bad)).rejects.toThrow(/group "x"/);
      writeFileSync(bad, '{not json');
      await expect(seedGroups(service.deps, bad)).rejects.toThrow(/UMS_CONFIG_FILE/);
    } finally {
      await service.close();
    }
  });
});

describe('random passwords', () => {
  it('are RANDOM_PWD_LENGTH long with every character class', async () => {
    const { randomPassword } = await import('../src/resolvers/random-password.js');
    const seen = new Set<string>();
    for (let index = 0; index < 50; index += 1) {
      const password = randomPassword(12);
      expect(password).toHaveLength(12);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/[^A-Za-z0-9]/);
      seen.add(password);
    }
    expect(seen.size).toBe(50);
  });
});
