import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { ExpirationScheduler } from '../../src/ports/expiration-scheduler.js';
import type { UserStore } from '../../src/ports/user-store.js';
import { UpstreamError } from '../../src/errors.js';
import { TimerEmulator } from '../emulators/timer.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * The Timer Service calls back once. A process that dies while it blocks an expired user must not
 * leave that user able to log in for good: the reconciler blocks it. Every backend.
 */
let hangBlocking = false;
/** The identity provider fails the next block (a 503 once), then answers again. */
let failBlocking = false;
/** The job store refuses new jobs (the CRUD collection of JOBS_CRUD_ENDPOINT down). */
let jobsDown = false;
/** A call held until the test opens it: the first one matching, once armed. */
interface Gate {
  reached: Promise<void>;
  open: () => void;
  arrive: () => void;
  gate: Promise<void>;
}
function gate(): Gate {
  let arrive!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  const held = new Promise<void>((resolve) => (open = resolve));
  return { reached, open, arrive, gate: held };
}
/** The next read of this user answers, then waits (the expiry's first read). */
let heldRead: (Gate & { userId: string }) | undefined;
/** The next patch of this user that blocks it is stored, then its answer waits (a slow store). */
let heldBlock: (Gate & { userId: string }) | undefined;
/** The next identity made with this username waits before it is made (a registration's). */
let heldCreate: (Gate & { username: string }) | undefined;
/** The next schedule of this user waits before it is made (a PATCH of the date, holding the user's lock). */
let heldSchedule: (Gate & { userId: string }) | undefined;
/** Who recorded the last user lock (`user-sync`), and the holders that "died": their renewals are dropped. */
let lockOwner: string | undefined;
const deadOwners = new Set<string>();
let timer: TimerEmulator;
let service: TestService;
let clock: FakeClock;

function trappedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async createUser(user) {
      const held = heldCreate;
      if (held && held.username === user.username) {
        heldCreate = undefined;
        held.arrive();
        await held.gate;
      }
      return identity.createUser(user);
    },
    async updateUser(id, changes) {
      // The process "dies" while blocking; the trap disarms itself for the reconciler.
      if (failBlocking && changes.blocked === true) {
        failBlocking = false;
        throw new UpstreamError('Auth', 'PATCH /users', 503);
      }
      if (hangBlocking && changes.blocked === true) {
        hangBlocking = false;
        if (lockOwner) deadOwners.add(lockOwner);
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
      if (job.type === 'user-sync') lockOwner = job.owner;
      return jobs.create(job);
    },
    async heartbeat(jobId, owner, leaseMs, progress, counters) {
      // A process that died renews nothing: the user's lock it held lapses, for the reconciler.
      if (deadOwners.has(owner) && leaseMs > 0) return false;
      return jobs.heartbeat(jobId, owner, leaseMs, progress, counters);
    },
  };
}

function trappedUsers(users: UserStore): UserStore {
  return Object.assign(Object.create(users) as UserStore, {
    async patch(...args: Parameters<UserStore['patch']>) {
      const patched = await users.patch(...args);
      const held = heldBlock;
      if (held?.userId === args[0] && JSON.stringify(args[1]).includes('"blocked":true')) {
        heldBlock = undefined;
        held.arrive();
        await held.gate;
      }
      return patched;
    },
    async get(...args: Parameters<UserStore['get']>) {
      const read = await users.get(...args);
      const held = heldRead;
      if (held?.userId === args[0]) {
        heldRead = undefined;
        held.arrive();
        await held.gate;
      }
      return read;
    },
  });
}

function trappedScheduler(scheduler: ExpirationScheduler): ExpirationScheduler {
  return Object.assign(Object.create(scheduler) as ExpirationScheduler, {
    async schedule(...args: Parameters<ExpirationScheduler['schedule']>) {
      const held = heldSchedule;
      if (held?.userId === args[0].userId) {
        heldSchedule = undefined;
        held.arrive();
        await held.gate;
      }
      return scheduler.schedule(...args);
    },
  });
}

beforeAll(async () => {
  clock = new FakeClock();
  timer = await new TimerEmulator(clock).start();
  service = await startService({
    clock,
    background: true,
    env: { TIMER_SERVICE: timer.url, RANDOM_PWD_GEN: 'false', JOBS_LEASE_MS: '300', JOBS_POLL_MS: '50' },
    wrap: (deps) => ({
      identity: trappedIdentity(deps.identity),
      jobs: trappedJobs(deps.jobs),
      users: trappedUsers(deps.users),
      scheduler: trappedScheduler(deps.scheduler),
    }),
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

describe('an expiry whose identity block fails once', () => {
  // The step failed, the lock's intent makes the identity follow the stored profile at once and
  // lets the user go: left held, the user was USER_BUSY for a whole lease (and could still log in).
  it('blocks the identity at once from the blocked profile, and lets the user go: the next PATCH is not a 409', async () => {
    const expiresAt = Math.max(clock.now(), Date.now()) + 800;
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'expf',
      email: 'expf@example.com',
      name: 'E',
      password: 'Expiry-pass-1',
      expirationDate: new Date(expiresAt).toISOString(),
    });
    expect(created.body).toEqual({ _id: expect.any(String) });
    const { authUserId, expirationId } = (await service.call('GET', `/users/${created.body._id}`)).body;
    failBlocking = true;
    try {
      await clock.advance(expiresAt - clock.now() + 200);
      await expect.poll(() => timer.timers.get(expirationId)?.callbackStatus).toBeDefined();
    } finally {
      failBlocking = false;
    }
    expect((await service.deps.identity.getUsers([authUserId]))[0]?.blocked).toBe(true);
    expect((await service.call('PATCH', `/users/${created.body._id}`, { $set: { name: 'F' } })).status).toBe(200);
    expect((await service.call('GET', `/users/${created.body._id}`)).body).toMatchObject({ blocked: true, name: 'F' });
  });
});

describe('an expiry raced by a registration', () => {
  // A registration linked the identity it made without the user's lock, then made it follow the
  // profile it found blocked, unless another write held the user: the expiry did, and acted on the
  // profile it had read without identity, so nothing blocked the identity made meanwhile. A
  // registration now holds the user's lock from before its identity is made: the expiry meeting it
  // is a 409, run again by the reconciler once the user is linked, and blocks both sides.
  it('of a user without identity being registered meanwhile (the registration holding the user): the identity is blocked too', async () => {
    const expiresAt = Math.max(clock.now(), Date.now()) + 800;
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'expreg',
      email: 'expreg@example.com',
      name: 'E',
      expirationDate: new Date(expiresAt).toISOString(),
    });
    expect(created.body).toEqual({ _id: expect.any(String) });
    const { expirationId } = (await service.call('GET', `/users/${created.body._id}`)).body;
    heldCreate = { ...gate(), username: 'expreg' };
    const creating = heldCreate;
    const registered = service.call('POST', '/users/register?sendResetPwdEmail=false', {
      _id: created.body._id,
      password: 'Expiry-pass-1',
    });
    try {
      await creating.reached;
      await clock.advance(expiresAt - clock.now() + 200);
      await expect.poll(() => timer.timers.get(expirationId)?.callbackStatus).toBeDefined();
      expect(timer.timers.get(expirationId)?.callbackStatus).toBe(409);
      creating.open();
      expect((await registered).status).toBe(204);
    } finally {
      creating.open();
    }
    const open = () => service.deps.jobs.list({ types: ['user-expire'], limit: 10 });
    for (let step = 0; step < 40 && (await open()).length > 0; step += 1) await clock.advance(500);
    expect(await open()).toEqual([]);
    const stored = (await service.call('GET', `/users/${created.body._id}`)).body;
    expect(stored.blocked).toBe(true);
    expect((await service.deps.identity.getUsers([stored.authUserId]))[0]?.blocked).toBe(true);
  });
});

describe('an expiry raced by a PATCH that moves the date into the future (and unblocks)', () => {
  async function expiringUser(username: string) {
    const expiresAt = Math.max(clock.now(), Date.now()) + 800;
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username,
      email: `${username}@example.com`,
      name: 'E',
      password: 'Expiry-pass-1',
      expirationDate: new Date(expiresAt).toISOString(),
    });
    expect(created.body).toEqual({ _id: expect.any(String) });
    return { ...(await service.call('GET', `/users/${created.body._id}`)).body, expiresAt };
  }
  const later = () => new Date(Math.max(clock.now(), Date.now()) + 3_600_000).toISOString();
  async function expectUnblocked(user: { _id: string; authUserId: string }, expirationDate: string) {
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect({ blocked: stored.blocked, expirationDate: stored.expirationDate }).toEqual({ blocked: false, expirationDate });
    expect((await service.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(false);
    expect(timer.timers.get(stored.expirationId)?.status).toBe(0);
  }

  it('landing between the read of the callback and its block: the user keeps its new date, unblocked', async () => {
    const user = await expiringUser('expr1');
    heldRead = { ...gate(), userId: user._id };
    const read = heldRead;
    await clock.advance(user.expiresAt - clock.now() + 200);
    await read.reached;
    const expirationDate = later();
    try {
      const patched = await service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate, blocked: false } });
      expect(patched.status).toBe(200);
    } finally {
      read.open();
    }
    await expect.poll(() => timer.timers.get(user.expirationId)?.callbackStatus).toBeDefined();
    await expectUnblocked(user, expirationDate);
  });

  // The expiry's lock is checked after the profile's block: one whose renewals failed for a whole
  // lease while that write was answered went on after the PATCH had taken the user, and blocked the
  // identity of a user unblocked with a future date.
  it('taking the user after the expiry lost its lock (renewals failed during the block): the identity stays unblocked', async () => {
    const user = await expiringUser('expr3');
    heldBlock = { ...gate(), userId: user._id };
    const blocking = heldBlock;
    const expirationDate = later();
    try {
      await clock.advance(user.expiresAt - clock.now() + 200);
      await blocking.reached;
      // The expiry's lock lapses (its renewals lost); the reconciler may run meanwhile.
      if (lockOwner) deadOwners.add(lockOwner);
      await clock.advanceInSteps(1500, 100);
      const patched = await service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate, blocked: false } });
      expect(patched.status).toBe(200);
    } finally {
      blocking.open();
    }
    await expect.poll(() => timer.timers.get(user.expirationId)?.callbackStatus).toBeDefined();
    await expectUnblocked(user, expirationDate);
  });

  it('holding the lock of the user when the Timer calls: the callback fails (not a silent 204), the reconciler finds the new date', async () => {
    const user = await expiringUser('expr2');
    heldSchedule = { ...gate(), userId: user._id };
    const scheduling = heldSchedule;
    const expirationDate = later();
    const patch = service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate, blocked: false } });
    try {
      await scheduling.reached;
      await clock.advance(user.expiresAt - clock.now() + 200);
      await expect.poll(() => timer.timers.get(user.expirationId)?.callbackStatus).toBeDefined();
      expect(timer.timers.get(user.expirationId)?.callbackStatus).toBe(409);
    } finally {
      scheduling.open();
    }
    expect((await patch).status).toBe(200);
    // The callback's intent, given back, is run again by the reconciler: the user has another date by now.
    const open = () => service.deps.jobs.list({ types: ['user-expire'], limit: 10 });
    for (let step = 0; step < 20 && (await open()).length > 0; step += 1) await clock.advance(100);
    expect(await open()).toEqual([]);
    await expectUnblocked(user, expirationDate);
  });
});
