import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './helpers/service.js';

/**
 * `/-/ready` probes each backend with its own short timeout (READINESS_TIMEOUT_MS), whatever the
 * upstream's call timeout, and covers the identity provider as well as the profile store.
 * CRUD_TIMEOUT_MS and AUTH0_TIMEOUT_MS are a minute here: a probe that waited for them would
 * outlast the test's timeout.
 */
const SLOW = { CRUD_TIMEOUT_MS: '60000', AUTH0_TIMEOUT_MS: '60000', READINESS_TIMEOUT_MS: '100', READINESS_CACHE_MS: '0' };

describe('/-/ready with a hung CRUD Service', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ store: 'crud', identity: 'embedded', env: SLOW });
  });
  afterAll(() => service.close());

  it('reports the store not ready after READINESS_TIMEOUT_MS, one probe, no retry', { timeout: 5000 }, async () => {
    service.crud!.hang = true;
    const probes = () => service.crud!.requests.filter((r) => r.path === '/-/healthz').length;
    const before = probes();
    const ready = await service.call('GET', '/-/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'KO',
      name: 'user-manager-service',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      checks: [
        { name: 'CRUD', ok: false, detail: 'CRUD GET /-/healthz did not answer within READINESS_TIMEOUT_MS (100 ms)' },
        { name: 'embedded identity', ok: true },
      ],
    });
    expect(probes() - before).toBe(1);
    service.crud!.hang = false;
    expect((await service.call('GET', '/-/ready')).status).toBe(200);
  });
});

describe('/-/ready flooded', () => {
  let service: TestService;
  beforeAll(async () => {
    // A window no slow run can outlast (the default is 1 s).
    service = await startService({ store: 'crud', identity: 'embedded', env: { READINESS_CACHE_MS: '60000' } });
  });
  afterAll(() => service.close());

  it('asks the CRUD Service once for 40 probes at once, and not again within READINESS_CACHE_MS', async () => {
    const probes = () => service.crud!.requests.filter((r) => r.path === '/-/healthz').length;
    const before = probes();
    const answers = await Promise.all(Array.from({ length: 40 }, () => service.call('GET', '/-/ready')));
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 40 }, () => 200));
    expect((await service.call('GET', '/-/check-up')).status).toBe(200);
    expect(probes() - before).toBe(1);
  });
});

describe('/-/ready covers the identity provider', () => {
  it('embedded: always ready', async () => {
    const service = await startService({ store: 'embedded', identity: 'embedded' });
    try {
      const ready = await service.call('GET', '/-/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.checks).toEqual([
        { name: 'embedded store', ok: true },
        { name: 'embedded identity', ok: true },
      ]);
    } finally {
      await service.close();
    }
  });

  it('Auth0: not ready while the tenant hangs, ready when it answers', { timeout: 5000 }, async () => {
    const service = await startService({ store: 'embedded', identity: 'auth0', env: SLOW });
    try {
      expect((await service.call('GET', '/-/ready')).body.checks).toContainEqual({ name: 'Auth0', ok: true });
      service.auth0!.hang = true;
      const ready = await service.call('GET', '/-/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toContainEqual({
        name: 'Auth0',
        ok: false,
        detail: 'Auth0 GET /.well-known/jwks.json did not answer within READINESS_TIMEOUT_MS (100 ms)',
      });
    } finally {
      service.auth0!.hang = false;
      await service.close();
    }
  });

  it('auth0-client: not ready while it hangs, ready when it answers', { timeout: 5000 }, async () => {
    const service = await startService({ store: 'embedded', identity: 'auth0Client', env: SLOW });
    try {
      expect((await service.call('GET', '/-/ready')).body.checks).toContainEqual({ name: 'auth0-client', ok: true });
      service.auth0Client!.hang = true;
      const ready = await service.call('GET', '/-/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toContainEqual({
        name: 'auth0-client',
        ok: false,
        detail: 'auth0-client GET /-/healthz did not answer within READINESS_TIMEOUT_MS (100 ms)',
      });
    } finally {
      service.auth0Client!.hang = false;
      await service.close();
    }
  });
});

describe('/.well-known/jwks.json flooded, with Auth0', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ store: 'embedded', identity: 'auth0' });
  });
  afterAll(() => service.close());

  // Anonymous too, and it relayed every request to the tenant: a flood of it filled the calls to
  // Auth0 that may run at once (AUTH0_MAX_CONCURRENCY), which logins and user changes wait for.
  it('asks the tenant once for 40 requests at once, and not again for the next', async () => {
    const fetched = () => service.auth0!.requests.filter((r) => r.path === '/.well-known/jwks.json').length;
    const before = fetched();
    const anonymous = { 'x-api-key': '' };
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => service.call('GET', '/.well-known/jwks.json', undefined, anonymous)),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 40 }, () => 200));
    expect(answers[0]!.body.keys.length).toBeGreaterThan(0);
    expect((await service.call('GET', '/.well-known/jwks.json', undefined, anonymous)).body).toEqual(answers[0]!.body);
    expect(fetched() - before).toBe(1);
  });
});
