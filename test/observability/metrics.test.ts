import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * Issue #21: `GET /-/metrics` after a workload. Each check is an exact increment between two
 * scrapes, so a request counted twice, or not at all (the fast path's), fails.
 */
const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Correct-horse-9';
const JOBS = { JOBS_POLL_MS: '50', JOBS_LEASE_MS: '500', AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: '1000' };

let service: TestService;
let authUserId: string;

beforeAll(async () => {
  service = await startService({
    env: { ...JOBS, RANDOM_PWD_GEN: 'false', LOGIN_MAX_ATTEMPTS: '3', LOGIN_IP_MAX_FAILURES: '50' },
    background: true,
  });
  await seedGroups(service);
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: 'mario',
    email: 'mario@example.com',
    name: 'Mario',
    password: PASSWORD,
  });
  authUserId = (await service.call('GET', `/users/${created.body._id}`)).body.authUserId;
});
afterAll(() => service.close());

/** The scrape as `name{labels} value` lines: the value of one series (0 when absent). */
async function scrape(target = service): Promise<(name: string, labels?: Record<string, string>) => number> {
  const response = await fetch(`${target.url}/-/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return (name, labels = {}) => {
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    const line = text.split('\n').find((candidate) => {
      const match = /^([^{ ]+)(?:\{([^}]*)\})? /.exec(candidate);
      if (!match || match[1] !== name) return false;
      const have = match[2] ? match[2].split(',') : [];
      return have.length === wanted.length && wanted.every((pair) => have.includes(pair));
    });
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
}

/** How much each series grew while `work` ran. */
async function during(work: () => Promise<unknown>, target = service) {
  const before = await scrape(target);
  await work();
  const after = await scrape(target);
  return (name: string, labels?: Record<string, string>) => after(name, labels) - before(name, labels);
}

const requests = (route: string, status: number, method = 'GET') => ({ route, method, status_code: String(status) });

describe('GET /-/metrics', () => {
  it('counts every request by route template, method and status, the fast path included', async () => {
    const grew = await during(async () => {
      for (let i = 0; i < 3; i += 1) expect((await service.call('GET', '/users/count')).status).toBe(200);
      expect((await service.call('GET', '/users/count', undefined, anonymous)).status).toBe(401);
      expect((await service.call('GET', '/users/?_l=1')).status).toBe(200);
      expect((await service.call('GET', '/users/000000000000000000000001')).status).toBe(404);
      expect((await service.call('GET', '/users/000000000000000000000002')).status).toBe(404);
      expect((await service.call('GET', '/no/such/path/42')).status).toBe(404);
      expect((await service.call('POST', '/graphql', { query: '{ usersCount }' })).status).toBe(200);
    });
    expect(grew('http_request_duration_seconds_count', requests('/users/count', 200))).toBe(3);
    expect(grew('http_request_duration_seconds_count', requests('/users/count', 401))).toBe(1);
    expect(grew('http_request_duration_seconds_count', requests('/users/', 200))).toBe(1);
    // Ids and unknown paths are no labels: one series each, whatever the path.
    expect(grew('http_request_duration_seconds_count', requests('/users/:id', 404))).toBe(2);
    expect(grew('http_request_duration_seconds_count', requests('unmatched', 404))).toBe(1);
    expect(grew('http_request_duration_seconds_count', requests('/graphql', 200, 'POST'))).toBe(1);
    expect(grew('http_request_duration_seconds_bucket', { ...requests('/users/count', 200), le: '+Inf' })).toBe(3);
    expect(grew('http_request_duration_seconds_sum', requests('/users/count', 200))).toBeGreaterThan(0);
  });

  it('counts GraphQL operations by name and outcome, and the identity calls of a page', async () => {
    const grew = await during(async () => {
      await service.graphql('query Page { users(first: 10) { nodes { username identity { blocked } } } }');
      await service.graphql('query Page { users(first: 10) { nodes { username identity { blocked } } } }');
      await service.graphql('{ usersCount }');
      await service.graphql('query Broken { nope }');
      await service.graphql('query Denied { usersCount }', undefined, anonymous);
    });
    expect(grew('ums_graphql_operations_total', { operation: 'Page', outcome: 'success' })).toBe(2);
    expect(grew('ums_graphql_operations_total', { operation: 'anonymous', outcome: 'success' })).toBe(1);
    expect(grew('ums_graphql_operations_total', { operation: 'Broken', outcome: 'invalid' })).toBe(1);
    expect(grew('ums_graphql_operations_total', { operation: 'Denied', outcome: 'error' })).toBe(1);
    // One identity read per page (the dataloader batches), observed once per page.
    expect(grew('ums_graphql_identity_calls_per_operation_count')).toBe(2);
    expect(grew('ums_graphql_identity_calls_per_operation_sum')).toBe(2);
  });

  it('counts logins by outcome and the lockouts', async () => {
    const login = (password: string) => service.call('POST', '/oauth/token', { username: 'mario', password }, anonymous);
    const grew = await during(async () => {
      expect((await login(PASSWORD)).status).toBe(200);
      for (let i = 0; i < 3; i += 1) expect((await login('Wrong-horse-1')).status).toBe(401);
      expect((await login(PASSWORD)).status).toBe(429);
    });
    expect(grew('ums_logins_total', { outcome: 'success' })).toBe(1);
    expect(grew('ums_logins_total', { outcome: 'failure' })).toBe(3);
    expect(grew('ums_logins_total', { outcome: 'locked' })).toBe(1);
    expect(grew('ums_login_lockouts_total')).toBe(1);
    await service.graphql(
      `mutation { unlockUser(id: "${(await service.call('GET', '/users/?username=mario')).body[0]._id}") { __typename } }`,
    );
  });

  it('counts import rows by outcome and jobs by kind and state', async () => {
    const form = new FormData();
    const csv =
      'userGroup,username,email,name\ncustomer,ann,ann@example.com,Ann\ncustomer,bob,bob@example.com,Bob\ncustomer,cy,cy@example.com,\n';
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
    const grew = await during(async () => {
      const imported = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
      expect(await imported.json()).toMatchObject({ inserted: [expect.any(String), expect.any(String)], invalid: [{ row: 3 }] });
      const job = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: [authUserId] });
      expect(job.status).toBe(202);
      for (let tries = 0; tries < 200; tries += 1) {
        if ((await service.call('GET', `/jobs/change-password/bulk/${job.body.jobId}`)).body.status !== 'pending') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    expect(grew('ums_import_rows_total', { outcome: 'inserted' })).toBe(2);
    expect(grew('ums_import_rows_total', { outcome: 'invalid' })).toBe(1);
    expect(grew('ums_import_rows_total', { outcome: 'updated' })).toBe(0);
    expect(grew('ums_jobs_total', { kind: 'change-password-bulk', state: 'pending' })).toBe(1);
    expect(grew('ums_jobs_total', { kind: 'change-password-bulk', state: 'completed' })).toBe(1);
  });

  it("includes Node's default process metrics", async () => {
    const text = await (await fetch(`${service.url}/-/metrics`)).text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('answers x-request-id: the one sent, or a new one', async () => {
    const sent = await service.call('GET', '/users/count', undefined, { 'x-request-id': 'req-42' });
    expect(sent.headers.get('x-request-id')).toBe('req-42');
    const made = await service.call('GET', '/-/healthz');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // A value that is no plain token (too long) is replaced.
    const long = await service.call('GET', '/users/count', undefined, { 'x-request-id': 'x'.repeat(200) });
    expect(long.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('upstream calls', () => {
  let connected: TestService;
  beforeAll(async () => {
    connected = await startService({
      store: 'crud',
      identity: 'embedded',
      env: { CRUD_TIMEOUT_MS: '100', UPSTREAM_BREAKER_THRESHOLD: '2', UPSTREAM_BREAKER_HALF_OPEN_MS: '60000' },
    });
  });
  afterAll(() => connected.close());

  it('counts each CRUD call by outcome and forwards the request id to it', async () => {
    const grew = await during(async () => {
      const answer = await connected.call('GET', '/users/count', undefined, { 'x-request-id': 'trace-7' });
      expect(answer.status).toBe(200);
      expect((await connected.call('GET', '/users/000000000000000000000009')).status).toBe(404);
    }, connected);
    expect(grew('ums_upstream_request_duration_seconds_count', { upstream: 'CRUD', outcome: 'success' })).toBe(1);
    expect(grew('ums_upstream_request_duration_seconds_count', { upstream: 'CRUD', outcome: 'client_error' })).toBe(1);
    const counted = connected.crud!.requests.filter((request) => request.path === '/users/count');
    expect(counted.at(-1)!.headers['x-request-id']).toBe('trace-7');
    const read = connected.crud!.requests.filter((request) => request.path === '/users/000000000000000000000009');
    expect(read.at(-1)!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('counts a call with no answer in time as unreachable, and one the open breaker refused as circuit_open', async () => {
    const grew = await during(async () => {
      connected.crud!.hang = true;
      // Two calls time out (retries included) and open the breaker; the next two are refused at once.
      for (let i = 0; i < 4; i += 1) expect((await connected.call('GET', '/users/count')).status).toBe(503);
      connected.crud!.hang = false;
    }, connected);
    expect(grew('ums_upstream_request_duration_seconds_count', { upstream: 'CRUD', outcome: 'unreachable' })).toBe(2);
    expect(grew('ums_upstream_request_duration_seconds_count', { upstream: 'CRUD', outcome: 'circuit_open' })).toBe(2);
    expect(grew('http_request_duration_seconds_count', requests('/users/count', 503))).toBe(2 + 2);
  });
});

describe('METRICS_ENABLED=false', () => {
  it('serves no /-/metrics', async () => {
    const off = await startService({ env: { METRICS_ENABLED: 'false' } });
    try {
      expect((await off.call('GET', '/-/metrics')).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
