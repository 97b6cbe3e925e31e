import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import { eventuallyOn } from '../helpers/eventually.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * A bulk activation links its users' identities, then grants their roles. Rönd down through every
 * attempt of the job at that grant must not leave users linked without their bindings for good:
 * the reconciler grants them once Rönd is back. Every backend.
 */
describe('a bulk activation whose grants of roles fail (Rönd down)', () => {
  const clock = new FakeClock();
  const eventually = eventuallyOn(clock);
  let service: TestService;
  /** While set, every grant of roles fails, as Rönd refusing connections would. */
  let rondDown = false;
  /** While set, a grant naming this role fails (Rönd answering 5xx for some bindings only). */
  let refusedRole: string | undefined;
  let grantsTried = 0;
  /** Of this job type, the recording after `after` more fails once, as a job store refusing the connection would. */
  let createFailsAfter: { type: string; after: number } | undefined;
  beforeAll(async () => {
    service = await startService({
      clock,
      env: { JOBS_POLL_MS: '50', JOBS_LEASE_MS: '10000', AUTH0_JOB_POLLING_INTERVAL: '20' },
      // The binder is a class (its methods on the prototype): each one is passed on by name.
      wrap: (deps) => ({
        jobs: {
          ...deps.jobs,
          async create(job) {
            const fails = createFailsAfter;
            if (fails?.type === job.type && fails.after-- === 0) {
              createFailsAfter = undefined;
              throw new UpstreamError('CRUD', 'POST /jobs/', 0, { unreachable: true });
            }
            return deps.jobs.create(job);
          },
        },
        roles: {
          revoke: (subject, scope) => deps.roles.revoke(subject, scope),
          permissionsOf: (ids, scope) => deps.roles.permissionsOf(ids, scope),
          async grant(subject, granted, scope) {
            if (rondDown) {
              grantsTried += 1;
              throw new UpstreamError('Rond', 'POST /grant/bindings', 0, { unreachable: true });
            }
            if (refusedRole !== undefined && granted.includes(refusedRole)) throw new UpstreamError('Rond', 'POST /grant/bindings', 500);
            return deps.roles.grant(subject, granted, scope);
          },
        },
      }),
      background: true,
    });
    await seedGroups(service);
  });
  afterAll(() => service.close());

  async function bare(name: string, roles: string[]): Promise<string> {
    const body = { userGroup: 'customer', username: name, email: `${name}@example.com`, name: 'R', roles };
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', body);
    expect(created.status).toBe(200);
    return created.body._id;
  }

  async function activated(userIds: string[]) {
    const started = await service.call(
      'POST',
      '/jobs/bulk-activation',
      userIds.map((userId) => ({ filter: { userId } })),
    );
    expect(started.status).toBe(202);
    return eventually(
      async () => (await service.call('GET', `/jobs/bulk-activation/${started.body.jobId}`)).body,
      (answer) => answer.status !== 'pending',
    );
  }

  const pending = (userId: string) => expect.objectContaining({ userId, errors: [expect.objectContaining({ code: 'ROLES_PENDING' })] });

  it('the users are linked, listed as ROLES_PENDING, and the reconciler binds their roles once Rönd is back', async () => {
    const reader = await bare('rond1', ['reader']);
    const writer = await bare('rond2', ['writer']);
    const none = await bare('rond3', []);
    rondDown = true;
    const job = await activated([reader, writer, none]);
    expect(grantsTried).toBeGreaterThan(0);
    // Completed: every user has its identity; those whose roles are not bound yet are listed.
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 2, inserted: 1, total: 3 } });
    expect(job.failures).toEqual([pending(reader), pending(writer)]);
    const linked = await Promise.all([reader, writer, none].map(async (id) => (await service.call('GET', `/users/${id}`)).body.authUserId));
    expect(linked.every((id) => typeof id === 'string')).toBe(true);
    // Still down: nothing bound yet.
    expect(await service.backend.rolesOf(linked[0])).toEqual([]);
    rondDown = false;
    // Rönd back: the reconciler binds each one's roles, once.
    const bound = await eventually(
      () => Promise.all(linked.map((id) => service.backend.rolesOf(id))),
      ([first, second]) => first!.length > 0 && second!.length > 0,
      1000,
    );
    expect(bound).toEqual([['reader'], ['writer'], []]);
    // And the user is not left locked: a PATCH goes through.
    expect((await service.call('PATCH', `/users/${reader}`, { name: 'R2' })).status).toBe(200);
  });

  it('Rönd failing for some bindings only: the others are bound at once, the failed ones by the reconciler once it answers', async () => {
    const reader = await bare('rond6', ['reader']);
    const writer = await bare('rond7', ['writer']);
    refusedRole = 'writer';
    const job = await activated([reader, writer]);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 1, inserted: 1, total: 2 } });
    expect(job.failures).toEqual([pending(writer)]);
    const linked = await Promise.all([reader, writer].map(async (id) => (await service.call('GET', `/users/${id}`)).body.authUserId));
    expect(await Promise.all(linked.map((id) => service.backend.rolesOf(id)))).toEqual([['reader'], []]);
    refusedRole = undefined;
    const bound = await eventually(
      () => Promise.all(linked.map((id) => service.backend.rolesOf(id))),
      ([, second]) => second!.length > 0,
      1000,
    );
    expect(bound).toEqual([['reader'], ['writer']]);
    expect((await service.call('PATCH', `/users/${writer}`, { name: 'W2' })).status).toBe(200);
  });

  it('a completion tried again (an intent not recorded) leaves its own pending bindings to the reconciler and completes', async () => {
    const first = await bare('rond4', ['reader']);
    const second = await bare('rond5', ['writer']);
    rondDown = true;
    // One user's intent is recorded, the other's recording fails: the completion is tried again,
    // and meets the intent it left (its own mark) beside Rönd still down.
    createFailsAfter = { type: 'user-sync', after: 1 };
    const job = await activated([first, second]);
    expect(createFailsAfter).toBeUndefined();
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 2, inserted: 0, total: 2 } });
    expect(job.failures).toEqual([pending(first), pending(second)]);
    const linked = await Promise.all([first, second].map(async (id) => (await service.call('GET', `/users/${id}`)).body.authUserId));
    rondDown = false;
    const bound = await eventually(
      () => Promise.all(linked.map((id) => service.backend.rolesOf(id))),
      ([a, b]) => a!.length > 0 && b!.length > 0,
      1000,
    );
    expect(bound).toEqual([['reader'], ['writer']]);
  });
});
