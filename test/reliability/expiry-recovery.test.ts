import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import type { JobStore } from '../../src/ports/job-store.js';
import { UpstreamError } from '../../src/errors.js';
import { TimerEmulator } from '../emulators/timer.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * The Timer Service calls back once. A process that dies while it blocks an expired user must not
 * leave that user able to log in for good: the reconciler blocks it. Every backend.
 */
let hangBlocking = false;
/** The job store refuses new jobs (the CRUD collection of JOBS_CRUD_ENDPOINT down). */
let jobsDown = false;
let timer: TimerEmulator;
let service: TestService;
let clock: FakeClock;

function trappedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async updateUser(id, changes) {
      // The process "dies" while blocking; the trap disarms itself for the reconciler.
      if (hangBlocking && changes.blocked === true) {
        hangBlocking = false;
        return new Promise(() => undefined);
      }
      return identity.updateUser(id, changes);
    },
  };
}

function trappedJobs(jobs: JobStore): JobStore {
  return {
    ...jobs,
    async create(job) {
      if (jobsDown) throw new UpstreamError('CRUD', 'POST /jobs/', 0, { unreachable: true });
      return jobs.create(job);
    },
  };
}

beforeAll(async () => {
  clock = new FakeClock();
  timer = await new TimerEmulator(clock).start();
  service = await startService({
    clock,
    background: true,
    env: { TIMER_SERVICE: timer.url, RANDOM_PWD_GEN: 'false', JOBS_LEASE_MS: '300', JOBS_POLL_MS: '50' },
    wrap: (deps) => ({ identity: trappedIdentity(deps.identity), jobs: trappedJobs(deps.jobs) }),
  });
  await seedGroups(service);
});
afterAll(async () => {
  // The Timer first: its callback to the "dead" process is cut, so the service can close.
  await timer.stop();
  await service.close();
});

describe('an expiry cut short', () => {
  it('while the identity was being blocked: the reconciler blocks the user on both sides', async () => {
    const body = { userGroup: 'customer', username: 'expx', email: 'expx@example.com', name: 'E', password: 'Expiry-pass-1' };
    // In the future by the wall clock too (inputs.ts), which ran ahead of the fake one during the set-up.
    const expiresAt = Math.max(clock.now(), Date.now()) + 800;
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      ...body,
      expirationDate: new Date(expiresAt).toISOString(),
    });
    expect(created.body).toEqual({ _id: expect.any(String) });
    const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
    hangBlocking = true;
    await clock.advance(expiresAt - clock.now() + 200);
    await expect.poll(() => hangBlocking).toBe(false);
    // The lease of the dead callback's intent lapses; the reconciler's poll comes.
    for (let step = 0; step < 20; step += 1) await clock.advance(100);
    await expect.poll(async () => (await service.deps.identity.getUsers([authUserId]))[0]?.blocked).toBe(true);
    expect((await service.call('GET', `/users/${created.body._id}`)).body.blocked).toBe(true);
  });

  it('with the job store down when the Timer calls: the user is blocked all the same (the Timer calls once)', async () => {
    const body = { userGroup: 'customer', username: 'expy', email: 'expy@example.com', name: 'E', password: 'Expiry-pass-1' };
    const expiresAt = Math.max(clock.now(), Date.now()) + 800;
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      ...body,
      expirationDate: new Date(expiresAt).toISOString(),
    });
    expect(created.body).toEqual({ _id: expect.any(String) });
    const { authUserId, expirationId } = (await service.call('GET', `/users/${created.body._id}`)).body;
    jobsDown = true;
    try {
      await clock.advance(expiresAt - clock.now() + 200);
      await expect.poll(() => timer.timers.get(expirationId)?.callbackStatus).toBeDefined();
    } finally {
      jobsDown = false;
    }
    expect((await service.deps.identity.getUsers([authUserId]))[0]?.blocked).toBe(true);
    expect((await service.call('GET', `/users/${created.body._id}`)).body.blocked).toBe(true);
  });
});
