import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityImporter } from '../src/ports/identity-importer.js';
import { UpstreamError } from '../src/errors.js';
import { startBackground } from '../src/background.js';
import { CUSTOMER_GROUP, GUEST_GROUP, seedGroups, startService, type TestService } from './helpers/service.js';
import { REPLICATED } from './helpers/replica.js';

/** Fast polls everywhere, and no pacing of change-password requests unless a test asks for it. */
const FAST = {
  JOBS_POLL_MS: '50',
  JOBS_LEASE_MS: '500',
  AUTH0_JOB_POLLING_INTERVAL: '20',
  AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: '1000',
};

let counter = 0;
/** A prefix unique to each test, so users of different tests never collide on username or email. */
const unique = () => `b${(counter += 1)}x`;

/** A profile with no identity yet (as `PATCH /users/import` leaves them). */
async function createProfile(service: TestService, fields: Record<string, unknown>): Promise<string> {
  const res = await service.call('POST', '/users/?postponeAuthUserCreation=true', { userGroup: 'customer', name: 'N', ...fields });
  expect(res.status).toBe(200);
  return res.body._id;
}

/** `count` profiles with no identity, named `<prefix><index>`; answers their ids in order. */
async function createProfiles(service: TestService, prefix: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    ids.push(await createProfile(service, { username: `${prefix}${index}`, email: `${prefix}${index}@example.com` }));
  }
  return ids;
}

/** Runs `work` with a job worker started on the service (as main.ts starts one), stopped after. */
async function withWorker<T>(service: TestService, work: () => Promise<T>): Promise<T> {
  const stop = startBackground(service.deps);
  try {
    return await work();
  } finally {
    stop();
  }
}

/** A user with an identity (POST /users/), as stored. */
async function createActive(service: TestService, username: string) {
  const res = await service.call('POST', '/users/', { userGroup: 'customer', username, email: `${username}@example.com`, name: 'A' });
  expect(res.status).toBe(200);
  return getUser(service, res.body._id);
}

/** Polls a job's status path until it is no longer pending. */
async function finished(service: TestService, path: string) {
  for (let tries = 0; tries < 500; tries += 1) {
    const res = await service.call('GET', path);
    expect(res.status).toBe(200);
    if (res.body.status !== 'pending') return res.body;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${path} still pending`);
}

async function activate(service: TestService, userIds: string[], query = '') {
  const res = await service.call(
    'POST',
    `/jobs/bulk-activation${query}`,
    userIds.map((userId) => ({ filter: { userId } })),
  );
  expect(res.status).toBe(202);
  return finished(service, `/jobs/bulk-activation/${res.body.jobId}`);
}

const getUser = async (service: TestService, id: string) => (await service.call('GET', `/users/${id}`)).body;

/** Whether the identity provider was asked for a change-password e-mail for each of these users. */
function passwordMailsRequested(service: TestService, users: { authUserId: string; email: string }[]): boolean[] {
  return users.map((user) => service.backend.passwordMails(user) > 0);
}

describe('bulk activation and bulk change-password', () => {
  let service: TestService;
  beforeAll(async () => {
    // Small body limits, so the bulk paths' own limit shows.
    // No test here waits for a lease to lapse: a long one, which a busy machine's stalls never outlast
    // (at 500 ms a job's lease lapsed mid-run and the worker started its chunk again).
    service = await startService({
      env: { ...FAST, JOBS_LEASE_MS: '30000', BODY_LIMIT_BYTES: '2048', BULK_BODY_LIMIT_BYTES: '8192' },
      background: true,
    });
    await seedGroups(service, [CUSTOMER_GROUP, GUEST_GROUP]);
  });
  afterAll(() => service.close());

  it('activates profiles: identities created, linked, blocked as the profile says; then sends their password e-mails', async () => {
    const p = unique();
    const ids = [
      await createProfile(service, { username: `${p}a`, email: `${p}a@example.com` }),
      await createProfile(service, { username: `${p}b`, email: `${p}b@example.com`, blocked: true }),
      await createProfile(service, { email: `${p}c@example.com`, roles: ['viewer'] }),
    ];
    const started = await service.call(
      'POST',
      '/jobs/bulk-activation',
      [...ids, ids[0]].map((userId) => ({ filter: { userId } })),
    );
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ jobId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'pending', jobCreatedAt: expect.any(String) });
    expect(Date.parse(started.body.jobCreatedAt)).toBeGreaterThan(Date.now() - 60_000);

    const job = await finished(service, `/jobs/bulk-activation/${started.body.jobId}`);
    expect(job).toEqual({
      status: 'completed',
      jobId: started.body.jobId,
      jobCreatedAt: started.body.jobCreatedAt,
      summary: { failed: 0, updated: 0, inserted: 3, total: 3 },
      failures: [],
    });
    const users = await Promise.all(ids.map((id) => getUser(service, id)));
    const identities = await service.deps.identity.getUsers(users.map((user) => user.authUserId));
    expect(identities.map((identity) => [identity?.email, identity?.username, identity?.blocked])).toEqual([
      [`${p}a@example.com`, `${p}a`, false],
      [`${p}b@example.com`, `${p}b`, true],
      [`${p}c@example.com`, undefined, false],
    ]);
    expect(new Set(users.map((user) => user.authUserId)).size).toBe(3);
    // Roles are granted to the new identity, as on every other way an identity is created.
    expect(await service.backend.rolesOf(users[2].authUserId)).toEqual(['viewer']);

    const mails = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: [users[0].authUserId, users[2].authUserId] });
    expect(mails.status).toBe(202);
    expect(mails.body).toEqual({ jobId: expect.any(String), status: 'pending', jobCreatedAt: expect.any(String) });
    const done = await finished(service, `/jobs/change-password/bulk/${mails.body.jobId}`);
    expect(done).toEqual({
      status: 'completed',
      jobId: mails.body.jobId,
      jobCreatedAt: mails.body.jobCreatedAt,
      summary: { failed: 0, completed: 2, total: 2 },
      completed: [{ authUserId: users[0].authUserId }, { authUserId: users[2].authUserId }],
    });
    expect(passwordMailsRequested(service, users)).toEqual([true, false, true]);
  });

  it('reports the users it cannot activate, and updates existing identities only when upserting', async () => {
    const p = unique();
    const active = await createActive(service, `${p}act`);
    const noEmail = await createProfile(service, { username: `${p}nomail` });
    const guest = (await service.call('POST', '/users/', { userGroup: 'guest', name: 'G' })).body._id;
    const fresh = await createProfile(service, { username: `${p}new`, email: `${p}new@example.com` });

    const createOnly = await activate(service, [active._id, noEmail, guest, fresh], '?upsert=false');
    expect(createOnly.summary).toEqual({ failed: 3, updated: 0, inserted: 1, total: 4 });
    expect(
      createOnly.failures.map((failure: { userId: string; errors: { code: string }[] }) => [failure.userId, failure.errors[0]!.code]),
    ).toEqual([
      [active._id, 'CONFLICT'],
      [noEmail, 'OBJECT_REQUIRED'],
      [guest, 'AUTH_USER_CREATION_DISABLED'],
    ]);
    expect(createOnly.failures[1].errors[0].message).toBe('Missing required property: email');

    // Upserting: the existing identity takes the profile's current e-mail.
    const { authUserId } = active;
    expect((await service.call('PATCH', `/users/${active._id}`, { $set: { email: `${p}moved@example.com` } })).status).toBe(200);
    await service.deps.identity.updateUser(authUserId, { email: `${p}stale@example.com` });
    const upsert = await activate(service, [active._id]);
    expect(upsert.summary).toEqual({ failed: 0, updated: 1, inserted: 0, total: 1 });
    const [identity] = await service.deps.identity.getUsers([authUserId]);
    expect(identity?.email).toBe(`${p}moved@example.com`);
    expect((await getUser(service, active._id)).authUserId).toBe(authUserId);
  });

  it('reports the rows the identity provider refuses, with its codes', async () => {
    const p = unique();
    // An identity with this e-mail exists in the provider but belongs to no profile.
    await service.deps.identity.createUser({ email: `${p}taken@example.com`, password: 'Some-pass-123' });
    const taken = await createProfile(service, { username: `${p}t`, email: `${p}taken@example.com` });
    const fine = await createProfile(service, { username: `${p}f`, email: `${p}fine@example.com` });
    const job = await activate(service, [taken, fine], '?upsert=false');
    expect(job.summary).toEqual({ failed: 1, updated: 0, inserted: 1, total: 2 });
    expect(job.failures).toEqual([{ userId: taken, errors: [{ code: 'CONFLICT', message: expect.any(String) }] }]);
    expect(await getUser(service, taken)).not.toHaveProperty('authUserId');
    expect((await getUser(service, fine)).authUserId).toEqual(expect.any(String));
  });

  it('answers 404 for a bad request, as documented, and starts nothing', async () => {
    const p = unique();
    const id = await createProfile(service, { username: `${p}x`, email: `${p}x@example.com` });
    const missing = '650000000000000000000999';
    const cases: [unknown, string, RegExp][] = [
      [{ filter: { userId: id } }, '', /body: /],
      [[], '', /body: /],
      [[{ filter: {} }], '', /body\/0\/filter\/userId/],
      [[{ filter: { userId: id } }], '?upsert=maybe', /querystring\/upsert/],
      [[{ filter: { userId: id } }, { filter: { userId: missing } }], '', new RegExp(`users not found: ${missing}`)],
    ];
    for (const [body, query, message] of cases) {
      const res = await service.call('POST', `/jobs/bulk-activation${query}`, body);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.stringMatching(message) });
    }
    const malformed = await service.call('POST', '/jobs/bulk-activation', `[{"filter": {"userId": "${id}"}`);
    expect(malformed.status).toBe(404);
    expect(malformed.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.stringMatching(/^body: /) });
    expect(await getUser(service, id)).not.toHaveProperty('authUserId');
    expect((await service.call('GET', '/jobs/bulk-activation/no-such-job')).status).toBe(404);
    const anonymous = await service.call('POST', '/jobs/bulk-activation', [{ filter: { userId: id } }], { 'x-api-key': '' });
    expect(anonymous.status).toBe(401);
  });

  it('takes bodies up to BULK_BODY_LIMIT_BYTES on the bulk paths, over BODY_LIMIT_BYTES', async () => {
    const ids = (count: number) => Array.from({ length: count }, (_, index) => `65000000000000000000${String(index).padStart(4, '0')}`);
    const body = (count: number) => ids(count).map((userId) => ({ filter: { userId } }));
    // About 4 KB: read, and refused for its unknown ids (not for its size).
    const read = await service.call('POST', '/jobs/bulk-activation', body(100));
    expect(read.status).toBe(404);
    expect(read.body.message).toMatch(/^users not found: 650000000000000000000000, .* and 90 more$/);
    expect((await service.call('POST', '/jobs/bulk-activation', body(300))).status).toBe(413);
    expect((await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ids(400) })).status).toBe(413);
    expect((await service.call('POST', '/users/', { userGroup: 'customer', name: 'x'.repeat(3000) })).status).toBe(413);
  });

  it('bulk change-password: unknown users are failures, never a failed job; bad bodies are 400', async () => {
    const p = unique();
    const { authUserId } = await createActive(service, `${p}cp`);
    const unknown = 'auth0|does-not-exist';
    // Longer than any id (18 KB percent-encoded): Auth0 and the auth0-client searched it in a query string, their 431.
    const long = 'é'.repeat(3_000);
    const res = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: [unknown, authUserId, long] });
    expect(res.status).toBe(202);
    const job = await finished(service, `/jobs/change-password/bulk/${res.body.jobId}`);
    expect(job.status).toBe('completed');
    expect(job.summary).toEqual({ failed: 2, completed: 1, total: 3 });
    expect(job.completed).toEqual([{ authUserId }]);
    expect(job.failures).toEqual([
      { authUserId: unknown, error: expect.any(String) },
      { authUserId: long, error: `identity user ${long.slice(0, 128)}… not found` },
    ]);

    for (const body of [{}, { authUsersIds: [] }, { authUsersIds: 'x' }, { authUserIds: [authUserId] }]) {
      expect((await service.call('POST', '/jobs/change-password/bulk', body)).status).toBe(400);
    }
    // Each path knows only its own jobs.
    expect((await service.call('GET', `/jobs/bulk-activation/${res.body.jobId}`)).status).toBe(404);
  });

  it('GraphQL: the same jobs through startBulkActivation and bulkActivationJob', async () => {
    const p = unique();
    const id = await createProfile(service, { username: `${p}g`, email: `${p}g@example.com` });
    const started = await service.graphql(
      `mutation($ids: [ID!]!) { startBulkActivation(userIds: $ids) { ... on MutationStartBulkActivationSuccess { data { jobId status } } } }`,
      { ids: [id] },
    );
    const { jobId, status } = started.data.startBulkActivation.data;
    expect(status).toBe('pending');
    await finished(service, `/jobs/bulk-activation/${jobId}`);
    const read = await service.graphql(
      `query($id: ID!) { bulkActivationJob(jobId: $id) { ... on QueryBulkActivationJobSuccess { data { status inserted failed total } } } }`,
      { id: jobId },
    );
    expect(read.data.bulkActivationJob.data).toEqual({ status: 'completed', inserted: 1, failed: 0, total: 1 });
    const missing = await service.graphql(`{ bulkActivationJob(jobId: "nope") { __typename } }`);
    expect(missing.data.bulkActivationJob.__typename).toBe('NotFoundError');

    const mails = await service.graphql(
      `mutation { startBulkPasswordChange(authUserIds: ["nobody"]) { ... on MutationStartBulkPasswordChangeSuccess { data { jobId } } } }`,
    );
    const mailJob = mails.data.startBulkPasswordChange.data.jobId;
    await finished(service, `/jobs/change-password/bulk/${mailJob}`);
    const mailRead = await service.graphql(
      `query($id: ID!) { passwordChangeJob(jobId: $id) { ... on QueryPasswordChangeJobSuccess { data { status total failed completed failures { authUserId } } } } }`,
      { id: mailJob },
    );
    expect(mailRead.data.passwordChangeJob.data).toEqual({
      status: 'completed',
      total: 1,
      failed: 1,
      completed: [],
      failures: [{ authUserId: 'nobody' }],
    });
  });
});

describe('bulk jobs not yet finished: at most BULK_JOBS_MAX_PENDING of each type, counted in the job store', () => {
  let service: TestService;
  beforeAll(async () => {
    // No worker: the jobs started stay pending until the test starts one.
    service = await startService({ env: { ...FAST, BULK_JOBS_MAX_PENDING: '2' } });
    await seedGroups(service, [CUSTOMER_GROUP, GUEST_GROUP]);
  });
  afterAll(() => service.close());
  const stored = async (type: string) => (await service.deps.jobs.list({ types: [type], limit: 100 })).length;
  const mails = (ids: string[]) => service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ids });
  const activation = (ids: string[]) =>
    service.call(
      'POST',
      '/jobs/bulk-activation',
      ids.map((userId) => ({ filter: { userId } })),
    );

  it('answers 429 with Retry-After (GraphQL TooManyRequestsError) beyond the bound, writing nothing, until a job finishes', async () => {
    const p = unique();
    const ids = await createProfiles(service, p, 3);
    expect((await mails(['nobody1'])).status).toBe(202);
    expect((await mails(['nobody2'])).status).toBe(202);
    const refused = await mails(['nobody3']);
    expect(refused.status).toBe(429);
    expect(refused.body.message).toContain('BULK_JOBS_MAX_PENDING');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await stored('change-password-bulk')).toBe(2);
    const graphql = await service.graphql(
      `mutation { startBulkPasswordChange(authUserIds: ["nobody4"]) { __typename ... on TooManyRequestsError { retryAfterSeconds } } }`,
    );
    expect(graphql.data.startBulkPasswordChange).toEqual({ __typename: 'TooManyRequestsError', retryAfterSeconds: expect.any(Number) });
    expect(await stored('change-password-bulk')).toBe(2);

    // Each type has its own bound: a backlog of e-mails does not stop activations.
    expect((await activation([ids[0]!])).status).toBe(202);
    expect((await activation([ids[1]!])).status).toBe(202);
    expect((await activation([ids[2]!])).status).toBe(429);
    const activating = await service.graphql(`mutation($ids: [ID!]!) { startBulkActivation(userIds: $ids) { __typename } }`, {
      ids: [ids[2]],
    });
    expect(activating.data.startBulkActivation.__typename).toBe('TooManyRequestsError');
    expect(await stored('bulk-activation')).toBe(2);

    // Once the jobs finish, their places are free again.
    await withWorker(service, async () => {
      await expect
        .poll(
          async () =>
            (await service.deps.jobs.list({ types: ['change-password-bulk'], statuses: ['pending', 'running'], limit: 10 })).length,
          {
            timeout: 5000,
          },
        )
        .toBe(0);
    });
    expect((await mails(['nobody5'])).status).toBe(202);
  });

  it('lets requests racing on one replica start no more jobs than the bound, REST and GraphQL together', async () => {
    const open = async () =>
      (await service.deps.jobs.list({ types: ['change-password-bulk'], statuses: ['pending', 'running'], limit: 100 })).length;
    const before = await open();
    // 4,000 ids: a payload over 64 KiB, whose write takes a turn of the event loop between the count and the insert.
    const ids = (n: number) => Array.from({ length: 4000 }, (_, index) => `racer-${n}-${String(index).padStart(6, '0')}`);
    const rest = Array.from({ length: 4 }, (_, n) => mails(ids(n)).then((res) => res.status));
    const graphql = Array.from({ length: 2 }, (_, n) =>
      service
        .graphql(`mutation($ids: [String!]!) { startBulkPasswordChange(authUserIds: $ids) { __typename } }`, { ids: ids(10 + n) })
        .then((res) => (res.data.startBulkPasswordChange.__typename === 'TooManyRequestsError' ? 429 : 202)),
    );
    const statuses = await Promise.all([...rest, ...graphql]);
    const started = statuses.filter((status) => status === 202).length;
    expect(statuses.filter((status) => status === 429)).toHaveLength(6 - started);
    // Two replicas (requests alternating between them) counting at once may each add one up to the bound.
    const places = Math.max(0, 2 - before);
    expect(started).toBeGreaterThanOrEqual(places);
    expect(started).toBeLessThanOrEqual(REPLICATED ? 2 * places : places);
    expect(await open()).toBe(before + started);
  });
});

describe('bulk jobs not yet finished: a running one counts as a pending one', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ env: { ...FAST, BULK_JOBS_MAX_PENDING: '1' } });
  });
  afterAll(() => service.close());

  it('answers 429 while the one job allowed runs on another replica, and 202 once it ended', async () => {
    const running = await service.deps.jobs.create({
      type: 'change-password-bulk',
      payload: { authUserIds: ['elsewhere'] },
      owner: 'another-replica',
      leaseMs: 3_600_000,
    });
    const start = () => service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ['next'] });
    expect((await start()).status).toBe(429);
    expect(await service.deps.jobs.finish(running.jobId, 'another-replica', { status: 'completed', result: {} })).toBe(true);
    expect((await start()).status).toBe(202);
  });
});

describe('bulk jobs: chunks, failures and restarts', () => {
  let service: TestService;
  let importer: IdentityImporter;
  let failNextStart = false;
  /** The next import job starts, but its answer is lost (a cut connection, a timeout). */
  let loseNextStart = false;
  let importsStarted = 0;
  /** The importer calls, in order. */
  const calls: string[] = [];
  /** When set, the next import job started reports `failed`. */
  let failNextImport = false;
  let failingImport: string | undefined;
  /** Runs once the import job is done, before the identities are linked. */
  let beforeLinking: (() => Promise<void>) | undefined;
  /** Runs before the next grant of roles reaches the binder. */
  let beforeGrant: ((subject: string) => Promise<void>) | undefined;
  /** The next identity deletion fails (the identity provider down). */
  let failNextIdentityDelete = false;
  /** The next revoke of bindings fails (Rönd down). */
  let failNextRevoke = false;
  /** Runs once an import job is seen done, before its results are read. */
  let onceImported: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    service = await startService({
      env: FAST,
      // Import jobs of 2 users, so 5 users take 3 of them; failures on demand.
      wrap: (deps) => {
        importer = deps.identityImports;
        const identity = deps.identity;
        return {
          roles: {
            async revoke(subject, scope) {
              if (!failNextRevoke) return deps.roles.revoke(subject, scope);
              failNextRevoke = false;
              throw new UpstreamError('Rönd', 'POST /revoke/bindings/resource/:type', 0, { unreachable: true });
            },
            permissionsOf: (ids, scope) => deps.roles.permissionsOf(ids, scope),
            async grant(subject, roles, scope) {
              const hook = beforeGrant;
              beforeGrant = undefined;
              await hook?.(subject);
              return deps.roles.grant(subject, roles, scope);
            },
          },
          identity: {
            ...identity,
            async deleteUser(id) {
              if (!failNextIdentityDelete) return identity.deleteUser(id);
              failNextIdentityDelete = false;
              throw new UpstreamError('Auth0', 'DELETE /api/v2/users/:id', 0, { unreachable: true });
            },
          },
          identityImports: {
            ...importer,
            maxUsersPerJob: 2,
            async startImport(users, options) {
              importsStarted += 1;
              calls.push(`start:${users.length}`);
              if (failNextStart) {
                failNextStart = false;
                throw new UpstreamError('Auth0', 'POST /api/v2/jobs/users-imports', 503);
              }
              const started = await importer.startImport(users, options);
              if (loseNextStart) {
                loseNextStart = false;
                throw new UpstreamError('Auth0', 'POST /api/v2/jobs/users-imports', 0, { unreachable: true });
              }
              if (failNextImport) [failNextImport, failingImport] = [false, started.id];
              return started;
            },
            async importJob(id) {
              calls.push('poll');
              const job = await importer.importJob(id);
              if (job.status === 'completed') await onceImported?.();
              return id === failingImport ? { ...job, status: 'failed' } : job;
            },
            async findImported(users) {
              const found = await importer.findImported(users);
              await beforeLinking?.();
              return found;
            },
          },
        };
      },
    });
    await seedGroups(service, [CUSTOMER_GROUP, GUEST_GROUP]);
  });
  afterAll(() => service.close());

  it('works in chunks of the import job size, survives an upstream failure, and runs once the worker starts', async () => {
    const p = unique();
    const ids = await createProfiles(service, p, 5);
    // No worker yet (as after a crash): the job is persisted, pending.
    const started = await service.call(
      'POST',
      '/jobs/bulk-activation',
      ids.map((userId) => ({ filter: { userId } })),
    );
    expect(started.status).toBe(202);
    expect((await service.call('GET', `/jobs/bulk-activation/${started.body.jobId}`)).body.status).toBe('pending');
    failNextStart = true;
    calls.length = 0;
    await withWorker(service, async () => {
      const job = await finished(service, `/jobs/bulk-activation/${started.body.jobId}`);
      expect(job.summary).toEqual({ failed: 0, updated: 0, inserted: 5, total: 5 });
      expect(failNextStart).toBe(false);
      // The start that failed, then two import jobs at once (Auth0's limit per tenant) before the
      // first poll; 3 chunks in all.
      expect(calls.slice(0, 4)).toEqual(['start:2', 'start:2', 'start:2', expect.stringMatching(/^poll/)]);
      expect(calls.filter((call) => call.startsWith('start'))).toEqual(['start:2', 'start:2', 'start:2', 'start:1']);
      const users = await Promise.all(ids.map((id) => getUser(service, id)));
      expect(users.every((user) => typeof user.authUserId === 'string')).toBe(true);
    });
  });

  it('resumes a job whose replica died from its saved progress, polling the import job it had started', async () => {
    const p = unique();
    const ids = await createProfiles(service, p, 4);
    // A replica claimed the job, did the first chunk, started the second chunk's import job, and died.
    const { jobs } = service.deps;
    const job = await jobs.create({ type: 'bulk-activation', payload: { userIds: ids, upsert: true } });
    expect(await jobs.claim(job.jobId, 'dead-replica', 300)).toBe(true);
    const sent = ids.slice(2);
    const importJob = await importer.startImport(
      sent.map((userId, index) => ({ email: `${p}${index + 2}@example.com`, username: `${p}${index + 2}`, userId })),
      { upsert: true },
    );
    const summary = { failed: 0, updated: 0, inserted: 2, total: 4 };
    const running = [{ importJobId: importJob.id, sent, outcome: { summary: { ...summary, inserted: 0, total: 0 }, failures: [] } }];
    expect(await jobs.heartbeat(job.jobId, 'dead-replica', 300, { next: 4, summary, failures: [], running })).toBe(true);

    const started = importsStarted;
    await withWorker(service, async () => {
      const done = await finished(service, `/jobs/bulk-activation/${job.jobId}`);
      expect(done.summary).toEqual({ failed: 0, updated: 0, inserted: 4, total: 4 });
      // No new import job: the one the dead replica started was polled and its users linked.
      expect(importsStarted).toBe(started);
      const users = await Promise.all(ids.map((id) => getUser(service, id)));
      expect(users.map((user) => user.authUserId === undefined)).toEqual([true, true, false, false]);
    });
  });

  it('resumed after its replica had linked a chunk and granted its roles, but died before saving: the roles are bound once', async () => {
    const p = unique();
    const id = await createProfile(service, { username: `${p}r`, email: `${p}r@example.com`, roles: ['viewer'] });
    const { jobs } = service.deps;
    const job = await jobs.create({ type: 'bulk-activation', payload: { userIds: [id], upsert: true } });
    expect(await jobs.claim(job.jobId, 'dead-replica', 300)).toBe(true);
    const importJob = await importer.startImport([{ email: `${p}r@example.com`, username: `${p}r`, userId: id }], { upsert: true });
    const summary = { failed: 0, updated: 0, inserted: 0, total: 1 };
    const running = [{ importJobId: importJob.id, sent: [id], outcome: { summary: { ...summary, total: 0 }, failures: [] } }];
    expect(await jobs.heartbeat(job.jobId, 'dead-replica', 300, { next: 1, summary, failures: [], running })).toBe(true);
    // What the dead replica did of that chunk before it died: the link and the grant.
    for (let tries = 0; (await importer.importJob(importJob.id)).status !== 'completed' && tries < 200; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [ref] = await importer.findImported([{ userId: id }]);
    const scope = { actorId: 'test', headers: {} };
    await service.deps.users.patch(id, { $set: { authUserId: ref!.id } }, { states: ['PUBLIC', 'DRAFT'] }, scope);
    await service.deps.roles.grant(ref!.id, ['viewer'], scope);

    await withWorker(service, async () => {
      const done = await finished(service, `/jobs/bulk-activation/${job.jobId}`);
      expect(done.failures).toEqual([]);
    });
    expect(await service.backend.rolesOf(ref!.id)).toEqual(['viewer']);
  });

  it('reports a profile deleted while its identity was imported, and links the others', async () => {
    const p = unique();
    const [gone, kept] = [
      await createProfile(service, { username: `${p}g`, email: `${p}g@example.com` }),
      await createProfile(service, { username: `${p}k`, email: `${p}k@example.com` }),
    ];
    beforeLinking = async () => {
      beforeLinking = undefined;
      expect((await service.call('DELETE', `/users/${gone}`)).status).toBe(204);
    };
    const identities = service.backend.identities();
    await withWorker(service, async () => {
      const job = await activate(service, [gone, kept]);
      expect(job.summary).toEqual({ failed: 1, updated: 0, inserted: 1, total: 2 });
      expect(job.failures).toEqual([{ userId: gone, errors: [{ code: 'USER_NOT_FOUND', message: `user ${gone} was deleted` }] }]);
      expect((await getUser(service, kept)).authUserId).toEqual(expect.any(String));
    });
    // The identity imported for the deleted profile is not left behind, reachable by nobody.
    expect(service.backend.identities()).toBe(identities + 1);
  });

  it('leaves no identity behind for a profile deleted before the import results are read', async () => {
    const p = unique();
    const [gone, kept] = [
      await createProfile(service, { username: `${p}g`, email: `${p}g@example.com` }),
      await createProfile(service, { username: `${p}k`, email: `${p}k@example.com` }),
    ];
    onceImported = async () => {
      onceImported = undefined;
      expect((await service.call('DELETE', `/users/${gone}`)).status).toBe(204);
    };
    const identities = service.backend.identities();
    await withWorker(service, async () => {
      const job = await activate(service, [gone, kept]);
      expect(job.summary).toEqual({ failed: 1, updated: 0, inserted: 1, total: 2 });
      expect(job.failures).toEqual([{ userId: gone, errors: [{ code: 'USER_NOT_FOUND', message: `user ${gone} was deleted` }] }]);
      expect((await getUser(service, kept)).authUserId).toEqual(expect.any(String));
    });
    expect(onceImported).toBeUndefined();
    expect(service.backend.identities()).toBe(identities + 1);
  });

  it.each(['', '?upsert=false'])('activates the users of an import job whose answer was lost (%s), refusing none', async (query) => {
    const p = unique();
    const ids = await createProfiles(service, p, 2);
    const identities = service.backend.identities();
    loseNextStart = true;
    await withWorker(service, async () => {
      const job = await activate(service, ids, query);
      expect(loseNextStart).toBe(false);
      expect(job.failures).toEqual([]);
      // Both identities were made by this job (its first start, whose answer was lost): inserted.
      expect(job.summary).toEqual({ failed: 0, updated: 0, inserted: 2, total: 2 });
      const users = await Promise.all(ids.map((id) => getUser(service, id)));
      expect(users.map((user) => typeof user.authUserId)).toEqual(['string', 'string']);
    });
    expect(service.backend.identities()).toBe(identities + 2);
  });

  it('leaves the identity of a deleted profile to the deletion reconciler when it cannot be deleted at once', async () => {
    const p = unique();
    const [gone, kept] = [
      await createProfile(service, { username: `${p}g`, email: `${p}g@example.com` }),
      await createProfile(service, { username: `${p}k`, email: `${p}k@example.com` }),
    ];
    onceImported = async () => {
      onceImported = undefined;
      expect((await service.call('DELETE', `/users/${gone}`)).status).toBe(204);
      failNextIdentityDelete = true;
    };
    const identities = service.backend.identities();
    await withWorker(service, async () => {
      const job = await activate(service, [gone, kept]);
      expect(job.summary).toEqual({ failed: 1, updated: 0, inserted: 1, total: 2 });
      expect(failNextIdentityDelete).toBe(false);
      for (let tries = 0; service.backend.identities() !== identities + 1 && tries < 200; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    });
    expect(service.backend.identities()).toBe(identities + 1);
  });

  const toDeleted = [
    ['POST', '/users/state', 'TRASH'],
    ['POST', '/users/state', 'DELETED'],
  ];
  it.each([
    ['deleted', [['DELETE', '/users/:id']], false],
    ['moved to DELETED (AUTH_HARD_DELETE)', toDeleted, false],
    // The move's intent not yet ended when the chunk checks its grants: the user is held.
    ['moved to DELETED (AUTH_HARD_DELETE), still held by its move,', toDeleted, true],
  ])('leaves no binding behind for a profile %s between its link and its grant', async (_, calls, held) => {
    const p = unique();
    const id = await createProfile(service, { username: `${p}d`, email: `${p}d@example.com`, roles: ['viewer'] });
    let subject = '';
    beforeGrant = async (granted) => {
      subject = granted;
      for (const [method, path, stateTo] of calls) {
        const body = stateTo ? [{ filter: { _id: id }, stateTo }] : undefined;
        expect((await service.call(method!, path!.replace(':id', id), body)).status).toBeLessThan(300);
      }
      const payload = { userId: id, authUserId: granted };
      if (held) await service.deps.jobs.create({ type: 'user-sync', jobId: `user-sync:${id}`, payload, owner: 'mover', leaseMs: 60_000 });
    };
    await withWorker(service, async () => {
      const job = await activate(service, [id]);
      expect(job.status).toBe('completed');
    });
    if (held) await service.deps.jobs.discard(`user-sync:${id}`, 'mover');
    expect(subject).not.toBe('');
    expect((await service.deps.identity.getUsers([subject]))[0]).toBeUndefined();
    expect(await service.backend.rolesOf(subject)).toEqual([]);
  });

  it('leaves the bindings of a profile deleted between its link and its grant to the deletion reconciler when they cannot be revoked at once', async () => {
    const p = unique();
    const id = await createProfile(service, { username: `${p}d`, email: `${p}d@example.com`, roles: ['viewer'] });
    let subject = '';
    beforeGrant = async (granted) => {
      subject = granted;
      expect((await service.call('DELETE', `/users/${id}`)).status).toBe(204);
      failNextRevoke = true;
    };
    await withWorker(service, async () => {
      const job = await activate(service, [id]);
      expect(job.status).toBe('completed');
      expect(failNextRevoke).toBe(false);
      for (let tries = 0; (await service.backend.rolesOf(subject)).length > 0 && tries < 200; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    });
    expect(await service.backend.rolesOf(subject)).toEqual([]);
  });

  it('ends failed when an import job fails, after linking the identities of the one running beside it', async () => {
    const p = unique();
    const ids = await createProfiles(service, p, 5);
    failNextImport = true;
    await withWorker(service, async () => {
      const started = await service.call(
        'POST',
        '/jobs/bulk-activation',
        ids.map((userId) => ({ filter: { userId } })),
      );
      const job = await finished(service, `/jobs/bulk-activation/${started.body.jobId}`);
      expect(job).toEqual({ jobId: started.body.jobId, status: 'failed', jobCreatedAt: started.body.jobCreatedAt });
      // The first chunk's import job failed; the second ran beside it and is linked; the third never started.
      const users = await Promise.all(ids.map((id) => getUser(service, id)));
      expect(users.map((user) => typeof user.authUserId === 'string')).toEqual([false, false, true, true, false]);
    });
  });
  // The pacing of change-password requests is measured on the service's clock: users-bulk-progress.test.ts.
});
