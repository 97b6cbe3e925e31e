import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityImporter } from '../src/ports/identity-importer.js';
import { FakeClock } from './helpers/fake-clock.js';
import { CUSTOMER_GROUP, seedGroups, startService, type TestService } from './helpers/service.js';

/**
 * Bulk jobs on the service's own clock (a FakeClock): how far a pending job got, as the status
 * paths show it beside the documented fields, and the pacing of change-password requests. Time
 * moves only when the test says so.
 */
describe('bulk jobs while they run', () => {
  const clock = new FakeClock();
  let service: TestService;
  /** Import jobs reported `processing` for as long as their id is in here. */
  const held = new Set<string>();
  const started: string[] = [];
  beforeAll(async () => {
    service = await startService({
      clock,
      background: true,
      env: {
        JOBS_POLL_MS: '50',
        JOBS_LEASE_MS: '5000',
        AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: '2',
        // Import jobs polled every 250 ms of the service's clock at most.
        AUTH0_JOB_POLLING_INTERVAL: '250',
      },
      // One user per import job, so two users make two chunks; the second import job is held on demand.
      wrap: (deps) => {
        const importer: IdentityImporter = deps.identityImports;
        return {
          identityImports: {
            ...importer,
            maxUsersPerJob: 1,
            async startImport(users, options) {
              const job = await importer.startImport(users, options);
              started.push(job.id);
              if (started.length === 2) held.add(job.id);
              return job;
            },
            async importJob(id) {
              const job = await importer.importJob(id);
              return held.has(id) ? { ...job, status: 'processing' } : job;
            },
          },
        };
      },
    });
    await seedGroups(service, [CUSTOMER_GROUP]);
  });
  afterAll(() => service.close());

  const read = async (path: string) => (await service.call('GET', path)).body;

  /** Reads until `done`, moving the service's clock by a poll of the import jobs (250 ms) in between. */
  async function advancing<T>(readOnce: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    for (let round = 0; round < 50; round += 1) {
      const value = await readOnce();
      if (done(value)) return value;
      await clock.advance(250);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return readOnce();
  }

  it('bulk change-password: shows total, processed and failed while pending, and paces its requests on the service clock', async () => {
    const sentAt: number[] = [];
    const original = service.deps.auth.requestPasswordChange;
    service.deps.auth.requestPasswordChange = async (authUserId) => {
      sentAt.push(clock.now());
      return original.call(service.deps.auth, authUserId);
    };
    try {
      const start = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ['u1', 'u2', 'u3', 'u4', 'u5'] });
      expect(start.status).toBe(202);
      const { jobId, jobCreatedAt } = start.body;
      const path = `/jobs/change-password/bulk/${jobId}`;
      // 2 a second: the first window goes at once, the next one a second later on the service's clock.
      await expect.poll(async () => (await read(path)).processed).toBe(2);
      expect(await read(path)).toEqual({ jobId, status: 'pending', jobCreatedAt, total: 5, processed: 2, failed: 2 });
      await clock.advance(990);
      expect(sentAt).toHaveLength(2);
      await clock.advance(10);
      await expect.poll(async () => (await read(path)).processed).toBe(4);
      await clock.advance(1000);
      await expect.poll(async () => (await read(path)).status).toBe('completed');
      expect(sentAt.map((at) => at - sentAt[0]!)).toEqual([0, 0, 1000, 1000, 2000]);
      // Once completed, the documented answer only.
      const done = await read(path);
      expect(Object.keys(done).sort()).toEqual(['failures', 'jobCreatedAt', 'jobId', 'status', 'summary']);
      expect(done.summary).toEqual({ failed: 5, completed: 0, total: 5 });
    } finally {
      service.deps.auth.requestPasswordChange = original;
    }
  });

  it('bulk activation: shows the users done while an import job still runs', async () => {
    const ids: string[] = [];
    for (const name of ['prog1', 'prog2']) {
      const res = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
        userGroup: 'customer',
        username: name,
        email: `${name}@example.com`,
        name: 'P',
      });
      ids.push(res.body._id);
    }
    const start = await service.call(
      'POST',
      '/jobs/bulk-activation',
      ids.map((userId) => ({ filter: { userId } })),
    );
    expect(start.status).toBe(202);
    const { jobId, jobCreatedAt } = start.body;
    const path = `/jobs/bulk-activation/${jobId}`;
    // Auth0's import jobs take a moment: the job polls them on the service's clock, which moves here.
    const answer = await advancing(
      () => read(path),
      (body) => body.processed === 1,
    );
    expect(answer).toEqual({ jobId, status: 'pending', jobCreatedAt, total: 2, processed: 1, failed: 0 });
    held.clear();
    expect(
      (
        await advancing(
          () => read(path),
          (body) => body.status === 'completed',
        )
      ).status,
    ).toBe('completed');
    expect((await read(path)).summary).toEqual({ failed: 0, updated: 0, inserted: 2, total: 2 });
  });
});

describe('finished bulk jobs past JOBS_RETENTION_DAYS', () => {
  const clock = new FakeClock();
  let service: TestService;
  beforeAll(async () => {
    // 0.0001 days: 8.64 s of the service's clock, swept every second.
    service = await startService({ clock, background: true, env: { JOBS_RETENTION_DAYS: '0.0001', JOBS_POLL_MS: '1000' } });
    // The CRUD stamps when a job ended: on the service's clock, which the retention compares it with.
    if (service.crud) service.crud.now = () => clock.now();
  });
  afterAll(() => service.close());

  it('answers 404 for a job that ended longer ago, as for one that never was; a younger or a running job is still answered', async () => {
    const old = (await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ['gone1'] })).body.jobId;
    const path = (jobId: string) => `/jobs/change-password/bulk/${jobId}`;
    await expect.poll(async () => (await service.call('GET', path(old))).body.status).toBe('completed');
    // A job another replica runs (its lease held for an hour), as old as the first.
    const running = await service.deps.jobs.create({
      type: 'change-password-bulk',
      payload: { authUserIds: ['r1'] },
      owner: 'another-replica',
      leaseMs: 3_600_000,
    });
    await clock.advance(5_000);
    const young = (await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ['young1'] })).body.jobId;
    await expect.poll(async () => (await service.call('GET', path(young))).body.status).toBe('completed');
    await clock.advance(5_000);

    const gone = await service.call('GET', path(old));
    const never = await service.call('GET', path('00000000-0000-4000-8000-000000000000'));
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ ...never.body, message: never.body.message.replace('00000000-0000-4000-8000-000000000000', old) });
    expect((await service.call('GET', path(young))).body).toMatchObject({ jobId: young, status: 'completed' });
    expect((await service.call('GET', path(running.jobId))).body).toMatchObject({ jobId: running.jobId, status: 'pending' });
  });
});
