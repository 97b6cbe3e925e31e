import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { seedGroups, startService, type TestService } from './helpers/service.js';

/**
 * One circuit breaker per upstream: after UPSTREAM_BREAKER_THRESHOLD consecutive failed calls
 * (connection errors, timeouts, 5xx; never a 4xx) it answers 503 at once, without calling the
 * upstream, until UPSTREAM_BREAKER_HALF_OPEN_MS have passed; then one call tries the upstream again.
 * Time passes through a faked Date (the breaker's clock), timers stay real.
 */
describe('the CRUD Service behind a circuit breaker', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({
      store: 'crud',
      env: { CRUD_TIMEOUT_MS: '100', REQUEST_TIMEOUT_MS: '2000', UPSTREAM_BREAKER_THRESHOLD: '2', UPSTREAM_BREAKER_HALF_OPEN_MS: '60000' },
    });
    await seedGroups(service);
  });
  afterAll(() => service.close());
  beforeEach(() => {
    service.crud!.hang = false;
    service.crud!.failures.length = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const calls = () => service.crud!.requests.length;
  /** Lets the breaker's half-open delay pass and the CRUD answer again, closing the circuit. */
  async function recover() {
    service.crud!.hang = false;
    service.crud!.failures.length = 0;
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    expect((await service.call('GET', '/users/count')).status).toBe(200);
    vi.useRealTimers();
  }

  it('opens after consecutive timeouts and answers 503 without calling the CRUD while open', async () => {
    service.crud!.hang = true;
    expect((await service.call('GET', '/users/')).status).toBe(503);
    expect((await service.call('GET', '/users/count')).status).toBe(503);
    const before = calls();
    const res = await service.call('GET', '/users/');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Error while listing users: CRUD GET /users/ is unavailable (circuit open)',
    });
    // Writes too: the breaker is the upstream's, not a route's.
    expect((await service.call('POST', '/users/', { userGroup: 'guest', name: 'x' })).status).toBe(503);
    expect(calls()).toBe(before);
    await recover();
  });

  it('half-opens after UPSTREAM_BREAKER_HALF_OPEN_MS: one call tries again and closes it', async () => {
    service.crud!.hang = true;
    await service.call('GET', '/users/');
    await service.call('GET', '/users/');
    service.crud!.hang = false;
    const before = calls();
    expect((await service.call('GET', '/users/')).status).toBe(503);
    expect(calls()).toBe(before);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    expect((await service.call('GET', '/users/')).status).toBe(200);
    expect((await service.call('GET', '/users/count')).status).toBe(200);
    expect(calls()).toBe(before + 2);
  });

  it('counts 5xx answers as failures', async () => {
    for (let i = 0; i < 6; i += 1) service.crud!.failNext('GET', /\/users\/count/, 500);
    expect((await service.call('GET', '/users/count')).status).toBe(500);
    expect((await service.call('GET', '/users/count')).status).toBe(500);
    const before = calls();
    expect((await service.call('GET', '/users/count')).body.message).toContain('is unavailable (circuit open)');
    expect(calls()).toBe(before);
    await recover();
  });

  it('does not count 4xx answers: the caller was wrong, not the upstream', async () => {
    for (let i = 0; i < 4; i += 1) {
      service.crud!.failNext('GET', /\/users\/count/, 400, { statusCode: 400, error: 'Bad Request', message: 'bad' });
      expect((await service.call('GET', '/users/count')).status).toBe(400);
    }
    const before = calls();
    expect((await service.call('GET', '/users/count')).status).toBe(200);
    expect(calls()).toBe(before + 1);
  });

  it('closes again on a success: only consecutive failures count', async () => {
    for (let i = 0; i < 3; i += 1) {
      service.crud!.failNext('GET', /\/users\/count/, 500);
      expect((await service.call('GET', '/users/count')).status).toBe(500);
      expect((await service.call('GET', '/users/')).status).toBe(200);
    }
  });
});

describe('Auth0 behind a circuit breaker', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({
      identity: 'auth0',
      env: { UPSTREAM_BREAKER_THRESHOLD: '3', UPSTREAM_BREAKER_HALF_OPEN_MS: '60000', RANDOM_PWD_GEN: 'false' },
    });
    await seedGroups(service);
    for (let i = 0; i < 3; i += 1) {
      const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'customer',
        username: `brk${i}`,
        email: `brk${i}@example.com`,
        name: 'B',
        password: 'Breaker-pass-1',
      });
      expect(res.status).toBe(200);
    }
  });
  afterAll(() => service.close());
  const searches = () => service.auth0!.requests.filter((r) => r.method === 'GET' && r.path === '/api/v2/users').length;
  const PAGE = '{ users(first: 5) { nodes { username identity { id } } } }';

  it('stops the retries of a search that keeps answering 500, then answers without calling Auth0', async () => {
    for (let i = 0; i < 20; i += 1) service.auth0!.failNext('GET', /\/api\/v2\/users$/, 500);
    const before = searches();
    const page = await service.graphql(PAGE);
    expect(page.errors?.[0]?.message).toContain('Auth0 GET /api/v2/users is unavailable (circuit open)');
    expect(searches() - before).toBe(3);

    const again = await service.graphql(PAGE);
    expect(again.errors?.[0]).toMatchObject({
      message: expect.stringContaining('Auth0 GET /api/v2/users is unavailable (circuit open)'),
      extensions: { code: 'UPSTREAM_UNAVAILABLE' },
    });
    expect(searches() - before).toBe(3);
    service.auth0!.failures.length = 0;
  });
});
