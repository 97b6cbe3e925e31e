import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExpirationScheduler } from '../../src/ports/expiration-scheduler.js';
import type { UserStore } from '../../src/ports/user-store.js';
import type { JobStore } from '../../src/ports/job-store.js';
import { UpstreamError } from '../../src/errors.js';
import { eventuallyOn } from '../helpers/eventually.js';
import { renewalsDroppedWhile } from '../helpers/faults.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * A CSV import whose process dies after its rows were inserted but before their expirations were
 * scheduled must not leave users that never expire: the reconciler schedules them. Every backend.
 */
let hangSchedules = false;
/** The import's process is "dead": its request renews no intent (the reconciler, a job, still runs). */
let importDead = false;
/** The next schedule fails, and so does the delete that would take its row back. */
let scheduleAndDeleteFail = false;
/** The next schedule waits for this gate to open (a slow Timer Service, a long batch). */
let scheduleGate: Promise<void> | undefined;
/** The users each schedule was asked for, in order. */
const scheduledUsers: string[] = [];
/** The schedules made and not aborted: id → user. */
const liveSchedules = new Map<string, string>();
/** The import's process "dies" as it stores a schedule's id on its user (the schedule is made). */
let hangLink = false;
/** The next link of a schedule to its user fails, and so does the delete that would take its row back. */
let linkAndDeleteFail = false;
let service: TestService;
/** Leases lapse only when a test moves this clock: a slow request on a busy machine is never taken for a dead one. */
const clock = new FakeClock();

function trappedScheduler(scheduler: ExpirationScheduler): ExpirationScheduler {
  return {
    ...scheduler,
    start: scheduler.start?.bind(scheduler),
    stop: scheduler.stop?.bind(scheduler),
    async schedule(payload, headers) {
      scheduledUsers.push(payload.userId);
      if (scheduleGate) {
        const gate = scheduleGate;
        scheduleGate = undefined;
        await gate;
      }
      // The process "dies" at its first schedule; the trap disarms itself for the reconciler.
      if (hangSchedules) {
        hangSchedules = false;
        return new Promise(() => undefined);
      }
      if (scheduleAndDeleteFail) throw new UpstreamError('Timer', 'POST /jobs/', 500);
      const id = await scheduler.schedule(payload, headers);
      liveSchedules.set(id, payload.userId);
      return id;
    },
    async abort(id) {
      await scheduler.abort(id);
      liveSchedules.delete(id);
    },
  };
}

/** The next insert of a batch takes this long on the clock (a slow store, a long batch). */
let slowInsertMs = 0;

function trappedUsers(users: UserStore): UserStore {
  return {
    ...users,
    async insertMany(docs, scope) {
      const result = await users.insertMany(docs, scope);
      const ms = slowInsertMs;
      slowInsertMs = 0;
      if (ms > 0) await clock.advance(ms);
      return result;
    },
    async patch(id, update, options, scope) {
      if (linkAndDeleteFail && update.$set && 'expirationId' in update.$set) {
        throw new UpstreamError('CRUD', 'PATCH /users/:id', 0, { unreachable: true });
      }
      if (hangLink && update.$set && 'expirationId' in update.$set) {
        hangLink = false;
        importDead = true;
        return new Promise(() => undefined);
      }
      return users.patch(id, update, options, scope);
    },
    async delete(id, options) {
      if (linkAndDeleteFail) {
        linkAndDeleteFail = false;
        throw new UpstreamError('CRUD', 'DELETE /users/:id', 0, { unreachable: true });
      }
      if (!scheduleAndDeleteFail) return users.delete(id, options);
      scheduleAndDeleteFail = false;
      throw new UpstreamError('CRUD', 'DELETE /users/:id', 0, { unreachable: true });
    },
  };
}

/** Heartbeats that saved an import's schedules in its intent. */
let scheduleSaves = 0;
/** The next save of an import's schedules fails with the job store's own words. */
let scheduleSaveFails = false;
function countingScheduleSaves(jobs: JobStore): JobStore {
  return {
    ...jobs,
    heartbeat(jobId, by, leaseMs, progress, counters) {
      if (jobId.startsWith('user-expiry:') && progress !== undefined && scheduleSaveFails) {
        scheduleSaveFails = false;
        return Promise.reject(new Error('SQLITE_IOERR: disk I/O error'));
      }
      if (jobId.startsWith('user-expiry:') && progress !== undefined) scheduleSaves += 1;
      return jobs.heartbeat(jobId, by, leaseMs, progress, counters);
    },
  };
}

beforeAll(async () => {
  service = await startService({
    clock,
    // Each test's import "dies" by hanging for good and keeps its import place, which a dead process
    // would give back with everything else: the places are not what these tests are about.
    env: { JOBS_LEASE_MS: '1000', JOBS_POLL_MS: '50', USER_IMPORT_MAX_CONCURRENT: '100' },
    background: true,
    wrap: (deps) => ({
      scheduler: trappedScheduler(deps.scheduler),
      users: trappedUsers(deps.users),
      jobs: countingScheduleSaves(renewalsDroppedWhile(deps.jobs, deps.replicaId, () => importDead)),
    }),
  });
  await seedGroups(service);
});
afterAll(() => service.close());

const eventually = eventuallyOn(clock);

describe('a CSV import cut short', () => {
  it('after its rows were inserted, before their expirations were scheduled: the reconciler schedules them', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const csv = `userGroup,username,name,expirationDate\ncustomer,impx1,A,${future}\ncustomer,impx2,B,${future}\n`;
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
    hangSchedules = true;
    importDead = true;
    const client = new AbortController();
    const headers = { 'x-api-key': TEST_API_KEY };
    void fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers, signal: client.signal }).catch(() => undefined);
    await eventually(
      async () => hangSchedules,
      (armed) => !armed,
      0,
    );
    client.abort();
    const scheduled = await eventually(
      async () =>
        (await service.call('GET', '/users/?username=impx1')).body.concat((await service.call('GET', '/users/?username=impx2')).body),
      (users: { expirationId?: string }[]) => users.length === 2 && users.every((user) => typeof user.expirationId === 'string'),
    );
    expect(scheduled.map((user: { expirationId?: string }) => typeof user.expirationId)).toEqual(['string', 'string']);
    importDead = false;
  });

  it('that runs longer than JOBS_LEASE_MS keeps its intent: no reconciler schedules its users a second time', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const form = new FormData();
    form.append('file', new Blob([`userGroup,username,name,expirationDate\ncustomer,impz1,A,${future}\n`], { type: 'text/csv' }), 'u.csv');
    let open = () => undefined as void;
    scheduleGate = new Promise<void>((resolve) => (open = resolve));
    scheduledUsers.length = 0;
    const answer = fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    // (Read as a flag: an async read answering the gate itself would wait for it to open.)
    await eventually(
      async () => scheduleGate === undefined,
      (reached) => reached,
      0,
    );
    // The batch is alive, waiting for its schedule, for three leases: the reconciler polls meanwhile.
    for (let step = 0; step < 30; step += 1) {
      await clock.advance(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    open();
    const res = await answer;
    expect(res.status).toBe(200);
    const [user] = (await service.call('GET', '/users/?username=impz1')).body;
    expect(typeof user.expirationId).toBe('string');
    expect(scheduledUsers.filter((id) => id === user._id)).toHaveLength(1);
    expect(await service.deps.jobs.list({ types: ['user-expiry'], limit: 10 })).toEqual([]);
  });

  it('whose schedule failed and whose row could not be taken back: the reconciler schedules it', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const form = new FormData();
    form.append('file', new Blob([`userGroup,username,name,expirationDate\ncustomer,impy1,A,${future}\n`], { type: 'text/csv' }), 'u.csv');
    scheduleAndDeleteFail = true;
    const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(await res.text()).toMatch(/Skipping record/);
    const scheduled = await eventually(
      async () => (await service.call('GET', '/users/?username=impy1')).body,
      (users: { expirationId?: string }[]) => typeof users[0]?.expirationId === 'string',
    );
    expect(typeof scheduled[0]?.expirationId).toBe('string');
  });

  it('whose schedule could not be linked nor its row taken back: the user is left with a live schedule', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const form = new FormData();
    form.append('file', new Blob([`userGroup,username,name,expirationDate\ncustomer,impt1,A,${future}\n`], { type: 'text/csv' }), 'u.csv');
    linkAndDeleteFail = true;
    const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(await res.text()).toMatch(/Skipping record/);
    expect(
      await eventually(
        () => service.deps.jobs.list({ types: ['user-expiry'], limit: 10 }),
        (jobs) => jobs.length === 0,
      ),
    ).toEqual([]);
    const [user] = (await service.call('GET', '/users/?username=impt1')).body as { _id: string; expirationId?: string }[];
    // The schedule it points to is one that will fire: an aborted one would never block it.
    expect(liveSchedules.get(user!.expirationId!)).toBe(user!._id);
    expect([...liveSchedules.values()].filter((userId) => userId === user!._id)).toHaveLength(1);
  });

  it("whose schedule could not be saved in its intent: the row is skipped in the service's words, not the job store's", async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const form = new FormData();
    form.append('file', new Blob([`userGroup,username,name,expirationDate\ncustomer,imps1,A,${future}\n`], { type: 'text/csv' }), 'u.csv');
    scheduleSaveFails = true;
    const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    const answer = await res.text();
    expect(answer).toMatch(/Skipping record/);
    expect(answer).not.toMatch(/SQLITE/);
    expect((await service.call('GET', '/users/?username=imps1')).body).toEqual([]);
  });

  it("after a row's schedule was made, before its user pointed to it: the reconciler links that one, no second schedule", async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const form = new FormData();
    form.append('file', new Blob([`userGroup,username,name,expirationDate\ncustomer,impw1,A,${future}\n`], { type: 'text/csv' }), 'u.csv');
    hangLink = true;
    const client = new AbortController();
    const headers = { 'x-api-key': TEST_API_KEY };
    void fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers, signal: client.signal }).catch(() => undefined);
    await eventually(
      async () => hangLink,
      (armed) => !armed,
      0,
    );
    client.abort();
    const [user] = await eventually(
      async () => (await service.call('GET', '/users/?username=impw1')).body as { _id: string; expirationId?: string }[],
      (users) => typeof users[0]?.expirationId === 'string',
    );
    importDead = false;
    expect(
      await eventually(
        () => service.deps.jobs.list({ types: ['user-expiry'], limit: 10 }),
        (jobs) => jobs.length === 0,
      ),
    ).toEqual([]);
    const ofUser = [...liveSchedules].filter(([, userId]) => userId === user!._id).map(([id]) => id);
    expect(ofUser).toEqual([user!.expirationId]);
  });

  it("after a row's schedule was made, its user deleted before the reconciler ran: that schedule is aborted", async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const form = new FormData();
    form.append('file', new Blob([`userGroup,username,name,expirationDate\ncustomer,impu1,A,${future}\n`], { type: 'text/csv' }), 'u.csv');
    hangLink = true;
    const client = new AbortController();
    const headers = { 'x-api-key': TEST_API_KEY };
    void fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers, signal: client.signal }).catch(() => undefined);
    await eventually(
      async () => hangLink,
      (armed) => !armed,
      0,
    );
    client.abort();
    const [user] = (await service.call('GET', '/users/?username=impu1')).body as { _id: string; expirationId?: string }[];
    // Its profile names no schedule yet: the deletion has none to abort.
    expect(user?.expirationId).toBeUndefined();
    expect((await service.call('DELETE', `/users/${user!._id}`)).status).toBe(204);
    expect(
      await eventually(
        () => service.deps.jobs.list({ types: ['user-expiry'], limit: 10 }),
        (jobs) => jobs.length === 0,
      ),
    ).toEqual([]);
    importDead = false;
    expect([...liveSchedules.values()].filter((userId) => userId === user!._id)).toEqual([]);
  });

  it('whose dated row was ahead when checked and has gone by once inserted: the user is scheduled, and blocked', async () => {
    // One instant decides for the row: checked ahead (so left unblocked), it must be scheduled,
    // or it is a user whose date has passed, neither blocked nor ever to be.
    const soon = new Date(clock.now() + 200).toISOString();
    const form = new FormData();
    form.append('file', new Blob([`userGroup,username,name,expirationDate\ncustomer,impr1,A,${soon}\n`], { type: 'text/csv' }), 'u.csv');
    slowInsertMs = 500;
    const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(res.status).toBe(200);
    const [user] = await eventually(
      async () => (await service.call('GET', '/users/?username=impr1')).body as { blocked?: boolean; expirationId?: string }[],
      (users) => users[0]?.blocked === true,
    );
    expect(user).toMatchObject({ blocked: true, expirationId: expect.any(String) });
  });

  it('saves the schedules of a batch of dated rows in a few job-store writes, not one per row', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const rows = Array.from({ length: 40 }, (_, index) => `customer,impv${index},A,${future}`).join('\n');
    const form = new FormData();
    form.append('file', new Blob([`userGroup,username,name,expirationDate\n${rows}\n`], { type: 'text/csv' }), 'u.csv');
    scheduleSaves = 0;
    const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
    expect(res.status).toBe(200);
    const stored = (await service.call('GET', '/users/?_l=100')).body.filter((user: { username: string }) =>
      user.username.startsWith('impv'),
    );
    expect(stored.filter((user: { expirationId?: string }) => typeof user.expirationId === 'string')).toHaveLength(40);
    expect(scheduleSaves).toBeGreaterThan(0);
    expect(scheduleSaves).toBeLessThanOrEqual(4);
  });
});
