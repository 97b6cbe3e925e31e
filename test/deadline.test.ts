import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from './helpers/service.js';

/**
 * Each request has a deadline (REQUEST_TIMEOUT_MS) that bounds the upstream calls made for it: an
 * attempt never outlives it and no retry starts past it. Times are small so the test is quick;
 * what is asserted is the outcome and the number of upstream calls, never a duration.
 */
describe('the request deadline against a hung CRUD Service', () => {
  let service: TestService;
  beforeAll(async () => {
    // An upstream timeout far longer than the deadline: only the deadline can end the wait.
    service = await startService({
      store: 'crud',
      env: { REQUEST_TIMEOUT_MS: '300', CRUD_TIMEOUT_MS: '5000', UPSTREAM_BREAKER_THRESHOLD: '0' },
    });
    await seedGroups(service);
  });
  afterAll(() => service.close());
  beforeEach(() => {
    service.crud!.hang = false;
  });
  const gets = () => service.crud!.requests.filter((r) => r.method === 'GET' && r.path === '/users/').length;

  it('answers a GET with the documented 503 once the deadline passes, after one attempt and no retry', async () => {
    service.crud!.hang = true;
    const before = gets();
    const res = await service.call('GET', '/users/');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Error while listing users: CRUD GET /users/ did not answer within the request deadline (REQUEST_TIMEOUT_MS)',
    });
    expect(gets() - before).toBe(1);
  });

  it('bounds GraphQL reads the same way', async () => {
    service.crud!.hang = true;
    const before = gets();
    const res = await service.graphql('{ users(first: 5) { nodes { id } } }');
    expect(res.errors?.[0]).toMatchObject({
      message: expect.stringContaining('CRUD GET /users/ did not answer within the request deadline'),
      extensions: { code: 'UPSTREAM_UNAVAILABLE' },
    });
    expect(gets() - before).toBe(1);
  });

  it('leaves calls made outside a request (background work) to their own timeout', async () => {
    service.crud!.hang = false;
    expect((await service.call('GET', '/users/')).status).toBe(200);
  });
});
