import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';
import { subscribeSse } from '../helpers/sse.js';

/**
 * The `jobs` query and the `jobProgress` subscription attacked (docs/security.md): callers that are
 * no administrators, clients that leave at every moment of a stream (each place must come back,
 * or JOB_PROGRESS_MAX_PER_CALLER would lock the caller out for good), and page sizes out of range.
 */
const PROGRESS = `subscription ($id: ID!) { jobProgress(id: $id) { jobId status } }`;
const JOBS = `query ($first: Int) { jobs(first: $first) { nodes { jobId } } }`;
const JOBS_WITH_ERRORS = `{ jobs(first: 100) { nodes { jobId status error } } }`;
const PROGRESS_WITH_ERROR = `subscription ($id: ID!) { jobProgress(id: $id) { jobId status error } }`;
const ADMIN = { 'x-api-key': TEST_API_KEY };
const PASSWORD = 'Correct-horse-9';

let service: TestService;
let jobId: string;

beforeAll(async () => {
  service = await startService({ env: { JOB_PROGRESS_MAX_PER_CALLER: '2', JOB_PROGRESS_POLL_MS: '50', RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
  const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
    userGroup: 'customer',
    username: 'jobbed',
    email: 'jobbed@example.com',
    name: 'J',
  });
  const started = await service.call('POST', '/jobs/bulk-activation', [{ filter: { userId: created.body._id } }]);
  expect(started.status).toBe(202);
  jobId = started.body.jobId; // pending for good: no worker runs in this file
});
afterAll(() => service.close());

/** Opens the stream and drops the connection `after` ms later (0: as soon as the request is sent). */
function openAndDrop(after: number): Promise<void> {
  const { hostname, port } = new URL(service.url);
  const path = `/graphql?query=${encodeURIComponent(PROGRESS)}&variables=${encodeURIComponent(JSON.stringify({ id: jobId }))}`;
  return new Promise((resolve) => {
    const req = request({ hostname, port, path, headers: { accept: 'text/event-stream', ...ADMIN } });
    req.on('error', () => resolve());
    req.on('response', (res) => {
      res.on('error', () => undefined);
      setTimeout(() => {
        req.destroy();
        resolve();
      }, after);
    });
    if (after === 0) setImmediate(() => (req.destroy(), resolve()));
    req.end();
  });
}

describe('jobProgress and jobs attacked', () => {
  it('gives every place back, whenever the client drops the stream', async () => {
    for (const after of [0, 0, 0, 1, 5, 20, 100]) await openAndDrop(after);
    await expect.poll(() => service.deps.jobWatches.openFor('api-key#1'), { timeout: 3000 }).toBe(0);
    const streams = [
      await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN),
      await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN),
    ];
    for (const stream of streams) expect((await stream.next()).data.data.jobProgress.status).toBe('pending');
    streams.forEach((stream) => stream.close());
  });

  it('answers neither the list nor a stream to a user who is no administrator', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'plainuser',
      email: 'plainuser@example.com',
      name: 'P',
      password: PASSWORD,
    });
    expect(created.status).toBe(200);
    const login = await service.call('POST', '/oauth/token', { username: 'plainuser', password: PASSWORD }, { 'x-api-key': '' });
    const user = { authorization: `Bearer ${login.body.accessToken}` };
    const list = await service.graphql(JOBS, {}, { 'x-api-key': '', ...user });
    expect([list.data?.jobs ?? null, list.errors?.[0].extensions.code]).toEqual([null, 'FORBIDDEN']);
    const events = await (await subscribeSse(service.url, PROGRESS, { id: jobId }, user)).rest();
    expect(events[0]!.data.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(JSON.stringify(events)).not.toContain('pending');
    expect(service.deps.jobWatches.openFor(created.body.authUserId)).toBe(0);
  });

  it('refuses page sizes out of range, as literals and as variables', async () => {
    for (const first of [0, -1, 101, 2 ** 31 - 1]) {
      const res = await service.graphql(JOBS, { first });
      // The argument's own range, or the cost limit first for the largest (checked before execution).
      expect([res.data?.jobs ?? null, res.errors?.[0].extensions.code], String(first)).toEqual([
        null,
        expect.stringMatching(/^(INVALID_INPUT|QUERY_LIMIT_EXCEEDED)$/),
      ]);
    }
    const literal = await service.graphql('{ jobs(first: 100000) { nodes { jobId } } }');
    expect(literal.errors?.[0].extensions.code).toMatch(/^(INVALID_INPUT|QUERY_LIMIT_EXCEEDED)$/);
    const overflow = await service.call('POST', '/graphql', { query: '{ jobs(first: 99999999999) { nodes { jobId } } }' });
    expect(overflow.status).toBeLessThan(500);
    expect(overflow.body.data ?? null).toBeNull();
  });

  it('reads a forged cursor as data: a 400 or a page, never an upstream error', async () => {
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const after of [
      cursor(['not-a-date', 'x']),
      cursor(['2020-01-01T00:00:00.000Z', { $gt: '' }]),
      cursor([{ $gt: '' }, 'x']),
      cursor(['9999-12-31T23:59:59.999Z', "x' OR 1=1 --"]),
      cursor(null),
      cursor({}),
      '%%%',
    ]) {
      const res = await service.call('POST', '/graphql', { query: JOBS, variables: { first: 5, after } });
      expect(res.status, after).toBeLessThan(500);
      const code = res.body.errors?.[0]?.extensions?.code;
      expect([undefined, 'INVALID_INPUT'], after).toContain(code);
    }
  });
});

/**
 * Where a failed job's error is kept is the job store's (embedded or CRUD): the identity provider
 * and the jit shadow add nothing but 4 s of retries per project, so the embedded and crud projects
 * run it.
 */
const JOB_STORES_ONLY = process.env.UMS_TEST_IDENTITY === undefined && process.env.GRAPHQL_JIT_SHADOW === undefined;
describe.runIf(JOB_STORES_ONLY)('a job that fails on an unexpected error', () => {
  const BACKEND_WORDS = 'SQLITE_IOERR: disk I/O error reading /var/lib/ums/ums.sqlite';
  let failing: TestService;
  /**
   * The identity provider's imports break: every attempt at the job's chunk fails as a whole. (An
   * upsert of a user with an identity no longer does: a failed update fails that user alone, and
   * leaves it to the reconciler.)
   */
  let broken = false;
  beforeAll(async () => {
    failing = await startService({
      background: true,
      // Retries come a lease apart (at most 1 s): 5 attempts well within the poll's 15 s, and a
      // lease long enough not to lapse on a loaded machine mid-attempt.
      env: { JOBS_POLL_MS: '50', JOBS_LEASE_MS: '1000' },
      wrap: (deps) => ({
        identityImports: {
          ...deps.identityImports,
          maxUsersPerJob: deps.identityImports.maxUsersPerJob,
          startImport: (...args) => (broken ? Promise.reject(new Error(BACKEND_WORDS)) : deps.identityImports.startImport(...args)),
        },
      }),
    });
    await seedGroups(failing);
  });
  afterAll(() => failing.close());

  it('shows the service words as its error, never the backend text', async () => {
    // A profile alone: its activation makes its identity through an import.
    const created = await failing.call('POST', '/users/?sendResetPwdEmail=false&postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'unlucky',
      email: 'unlucky@example.com',
      name: 'U',
    });
    expect(created.status).toBe(200);
    broken = true;
    const started = await failing.call('POST', '/jobs/bulk-activation', [{ filter: { userId: created.body._id } }]);
    expect(started.status).toBe(202);
    const view = async () =>
      (await failing.graphql(JOBS_WITH_ERRORS, {})).data.jobs.nodes.find((job: { jobId: string }) => job.jobId === started.body.jobId);
    await expect.poll(async () => (await view())?.status, { timeout: 15_000, interval: 100 }).toBe('failed');
    const events = await (await subscribeSse(failing.url, PROGRESS_WITH_ERROR, { id: started.body.jobId }, ADMIN)).rest();
    expect(events[0]!.data.data.jobProgress).toMatchObject({ status: 'failed', error: 'an unexpected error occurred' });
    // The list shows the same error as the stream.
    expect((await view()).error).toBe('an unexpected error occurred');
    expect(JSON.stringify([await view(), events])).not.toContain('SQLITE');
    expect(JSON.stringify((await failing.call('GET', `/jobs/bulk-activation/${started.body.jobId}`)).body)).not.toContain('SQLITE');
  });
});
