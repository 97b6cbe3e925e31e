import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UpstreamError } from '../src/errors.js';
import { openDatabase } from '../src/embedded/db.js';
import { EmbeddedScheduler } from '../src/embedded/scheduler.js';
import { TimerEmulator } from './emulators/timer.js';
import { FakeClock } from './helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from './helpers/service.js';

const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Expiring-pass-1';
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
let counter = 0;

async function newUser(service: TestService, extra: Record<string, unknown> = {}) {
  counter += 1;
  const username = `exp${counter}`;
  const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'E',
    password: PASSWORD,
    ...extra,
  });
  expect(res.status).toBe(200);
  return (await service.call('GET', `/users/${res.body._id}`)).body;
}

/**
 * Three users whose expiry fired (blocked by it), asked to be unblocked. A PATCH `{blocked:false}`
 * (or `$unset` of `blocked`) unblocked such a user for good: its schedule had fired, so the expired
 * account worked again with its date still behind it. It is a 409 `USER_EXPIRED` unless the same
 * PATCH moves the date into the future or unsets it (docs/decisions.md, "Expiration").
 */
async function expectExpiredStayShut(service: TestService, clock: FakeClock, users: Record<string, any>[]) {
  const [user, other, moved] = users as [Record<string, any>, Record<string, any>, Record<string, any>];
  const login = (u: Record<string, any>) => service.call('POST', '/oauth/token', { username: u.username, password: PASSWORD }, anonymous);
  const shut = async (u: Record<string, any>) => {
    expect((await service.call('GET', `/users/${u._id}`)).body.blocked).toBe(true);
    expect((await service.deps.identity.getUsers([u.authUserId]))[0]?.blocked).toBe(true);
    expect((await login(u)).status).toBe(401);
  };
  for (const body of [
    { blocked: false },
    { $set: { blocked: false } },
    { $unset: { blocked: true } },
    { $set: { blocked: false, name: 'B' } },
  ]) {
    const refused = await service.call('PATCH', `/users/${user._id}`, body);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: `user ${user._id} has expired: unblocking it needs an expirationDate in the future, or expirationDate unset, in the same request`,
    });
  }
  await shut(user);
  // A change that leaves it blocked is a change like any other.
  const renamed = await service.call('PATCH', `/users/${user._id}`, { $set: { name: 'Renamed' } });
  expect(renamed.status).toBe(200);
  expect(renamed.body).toMatchObject({ name: 'Renamed', blocked: true });
  // Moved out of PUBLIC and back, its identity stays blocked (its profile says so).
  for (const stateTo of ['DRAFT', 'PUBLIC']) {
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }])).body).toBe(1);
  }
  await shut(user);

  const later = new Date(Math.max(clock.now(), Date.now()) + 3_600_000).toISOString();
  const redated = await service.call('PATCH', `/users/${moved._id}`, { blocked: false, expirationDate: later });
  expect(redated.status).toBe(200);
  expect(redated.body.blocked).toBe(false);
  expect(redated.body.expirationId).not.toBe(moved.expirationId);
  expect((await login(moved)).status).toBe(200);

  const undated = await service.call('PATCH', `/users/${other._id}`, { $set: { blocked: false }, $unset: { expirationDate: true } });
  expect(undated.status).toBe(200);
  expect(undated.body).not.toHaveProperty('expirationDate');
  expect(undated.body.blocked).toBe(false);
  expect((await login(other)).status).toBe(200);
}

describe('embedded scheduler', () => {
  let service: TestService;
  /** The service's clock: a user expires when the test moves it. */
  const clock = new FakeClock();
  const at = (ms: number) => new Date(clock.now() + ms).toISOString();
  beforeAll(async () => {
    service = await startService({ clock, background: true, env: { SCHEDULER_POLL_MS: '100', RANDOM_PWD_GEN: 'false' } });
    await seedGroups(service);
  });
  afterAll(() => service.close());
  const schedules = () =>
    (service.deps as unknown as { db: import('better-sqlite3').Database }).db.prepare('SELECT id, status FROM schedules').all() as {
      id: string;
      status: string;
    }[];

  it('blocks the user once its expirationDate passes: no login, no refresh', async () => {
    const user = await newUser(service, { expirationDate: at(2500) });
    expect(user.expirationId).toEqual(expect.any(String));
    const login = await service.call('POST', '/oauth/token', { username: user.username, password: PASSWORD }, anonymous);
    expect(login.status).toBe(200);
    await clock.advance(2400);
    expect((await service.call('GET', `/users/${user._id}`)).body.blocked).toBeUndefined();
    // Blocked at the scheduler's first poll (every 100 ms) after the instant.
    await clock.advance(200);
    await expect.poll(async () => (await service.call('GET', `/users/${user._id}`)).body.blocked).toBe(true);
    const blocked = (await service.call('GET', `/users/${user._id}`)).body;
    // The write that blocked it is stamped updatedAt, on the service's clock.
    expect(Date.parse(blocked.updatedAt) - Date.parse(user.expirationDate)).toBeLessThanOrEqual(100);
    expect(Date.parse(blocked.updatedAt)).toBeGreaterThanOrEqual(Date.parse(user.expirationDate));
    expect((await service.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(true);
    expect((await service.call('POST', '/oauth/token', { username: user.username, password: PASSWORD }, anonymous)).status).toBe(401);
    const refresh = await service.call(
      'POST',
      '/refreshtoken',
      { refreshToken: login.body.refreshToken },
      { ...anonymous, authorization: `Bearer ${login.body.accessToken}` },
    );
    expect(refresh.status).toBe(401);
    expect(schedules().find((s) => s.id === user.expirationId)?.status).toBe('done');
  });

  it('reschedules on a new date, aborts when unset, on delete and on soft delete', async () => {
    const user = await newUser(service, { expirationDate: at(60_000) });
    const moved = await service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate: at(120_000) } });
    expect(moved.body.expirationId).not.toBe(user.expirationId);
    expect(schedules().find((s) => s.id === user.expirationId)?.status).toBe('aborted');
    const unset = await service.call('PATCH', `/users/${user._id}`, { $unset: { expirationDate: true } });
    expect(unset.body).not.toHaveProperty('expirationId');
    expect(schedules().find((s) => s.id === moved.body.expirationId)?.status).toBe('aborted');

    const doomed = await newUser(service, { expirationDate: at(60_000) });
    await service.call('DELETE', `/users/${doomed._id}`);
    expect(schedules().find((s) => s.id === doomed.expirationId)?.status).toBe('aborted');
    const soft = await newUser(service, { expirationDate: at(60_000) });
    await service.call('POST', `/users/${soft._id}/soft-delete`);
    expect(schedules().find((s) => s.id === soft.expirationId)?.status).toBe('aborted');
  });

  it('schedules a soft-deleted user again when it is moved back out of DELETED: it still expires at its date', async () => {
    const user = await newUser(service, { expirationDate: at(2500) });
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect(schedules().find((s) => s.id === user.expirationId)?.status).toBe('aborted');
    // The first move out fails after its schedule and unlink were written: the retry schedules once more.
    const setState = vi.spyOn(service.deps.users, 'setState').mockRejectedValueOnce(new UpstreamError('CRUD', 'POST /users/state', 500));
    try {
      expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }])).status).toBe(500);
    } finally {
      setState.mockRestore();
    }
    for (const stateTo of ['TRASH', 'DRAFT', 'PUBLIC']) {
      expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }])).body).toBe(1);
    }
    const revived = (await service.call('GET', `/users/${user._id}`)).body;
    // One live schedule, the profile's: the ones made by the failed move and replaced are aborted.
    const userSchedules = (service.deps as unknown as { db: import('better-sqlite3').Database }).db
      .prepare("SELECT id FROM schedules WHERE user_id = ? AND status = 'pending'")
      .all(user._id);
    expect(userSchedules).toEqual([{ id: revived.expirationId }]);
    await clock.advance(2600);
    await expect.poll(async () => (await service.call('GET', `/users/${user._id}`)).body.blocked).toBe(true);
  });

  it.each([
    ['with an identity', {}],
    ['without identity', { password: undefined, username: undefined }],
  ])('a soft delete %s, raced by a PATCH of the date between its read and its lock, aborts the schedule stored then', async (_, extra) => {
    const user = await newUser(service, { expirationDate: at(60_000), ...extra });
    // The soft delete's first read answers, then waits while the PATCH reschedules the user.
    let reached!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const get = service.deps.users.get.bind(service.deps.users);
    let armed = true;
    const spy = vi.spyOn(service.deps.users, 'get').mockImplementation(async (id, options) => {
      const read = await get(id, options);
      if (armed && id === user._id) {
        armed = false;
        reached();
        await gate;
      }
      return read;
    });
    try {
      const softDelete = service.call('POST', `/users/${user._id}/soft-delete`);
      await arrived;
      const patched = await service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate: at(120_000) } });
      expect(patched.status).toBe(200);
      release();
      expect((await softDelete).status).toBe(204);
    } finally {
      release();
      spy.mockRestore();
    }
    const stored = (await service.call('GET', `/users/${user._id}?_st=DELETED`)).body;
    expect(stored.__STATE__).toBe('DELETED');
    const pending = (service.deps as unknown as { db: import('better-sqlite3').Database }).db
      .prepare("SELECT id FROM schedules WHERE user_id = ? AND status = 'pending'")
      .all(user._id);
    expect(pending).toEqual([]);
  });

  /** The first call of `method` for this user waits for `open`, having `read` answered (a read) or before it is made. */
  function holdFirst(target: 'users' | 'scheduler', method: 'get' | 'patch' | 'schedule', userId: string, after: boolean) {
    let arrive!: () => void;
    let open!: () => void;
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    const gate = new Promise<void>((resolve) => (open = resolve));
    const adapter = service.deps[target] as unknown as Record<'get' | 'patch' | 'schedule', (...args: unknown[]) => Promise<unknown>>;
    const real = adapter[method].bind(adapter);
    let armed = true;
    const spy = vi.spyOn(adapter, method).mockImplementation(async (...args: unknown[]) => {
      const first = args[0];
      const mine = armed && (first === userId || (first as { userId?: string }).userId === userId);
      if (mine) armed = false;
      if (mine && !after) {
        arrive();
        await gate;
      }
      const answer = await real(...args);
      if (mine && after) {
        arrive();
        await gate;
      }
      return answer;
    });
    return { reached, open: () => (open(), spy.mockRestore()) };
  }
  /**
   * A PATCH of the user's email held before its profile write (the user busy), and the expiry's
   * reads of the user counted from then on (`firings`); `release` lets the PATCH go.
   */
  async function heldByAPatch(user: { _id: string; username: string }, email: string) {
    const write = holdFirst('users', 'patch', user._id, false);
    const patch = service.call('PATCH', `/users/${user._id}`, { $set: { email } });
    const reads = vi.spyOn(service.deps.users, 'get');
    await write.reached;
    reads.mockClear();
    return {
      patch,
      reads,
      firings: () => reads.mock.calls.filter(([id]) => id === user._id).length,
      release: () => {
        write.open();
        reads.mockRestore();
      },
    };
  }
  async function expectUnblocked(user: { _id: string; authUserId: string }, expirationDate: string) {
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect({ blocked: stored.blocked, expirationDate: stored.expirationDate }).toEqual({ blocked: false, expirationDate });
    expect((await service.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(false);
    expect(schedules().find((s) => s.id === stored.expirationId)?.status).toBe('pending');
  }

  it('an expiry raced by a PATCH moving the date into the future between its read and its block: the user keeps the new date, unblocked', async () => {
    const user = await newUser(service, { expirationDate: at(2500) });
    const read = holdFirst('users', 'get', user._id, true);
    const expirationDate = at(3_600_000);
    try {
      await clock.advance(2600);
      await read.reached;
      const patched = await service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate, blocked: false } });
      expect(patched.status).toBe(200);
    } finally {
      read.open();
    }
    await expect.poll(() => schedules().find((s) => s.id === user.expirationId)?.status).toBe('done');
    await expectUnblocked(user, expirationDate);
  });

  it('an expiry due while a PATCH of the date holds the user: it fails and fires again later, then finds the new date', async () => {
    const user = await newUser(service, { expirationDate: at(2500) });
    const scheduling = holdFirst('scheduler', 'schedule', user._id, false);
    const expirationDate = at(3_600_000);
    const patch = service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate, blocked: false } });
    try {
      await scheduling.reached;
      await clock.advance(2600);
      // Not a silent success: the schedule is left firing, for another poll once its back-off ends.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(schedules().find((s) => s.id === user.expirationId)?.status).toBe('firing');
    } finally {
      scheduling.open();
    }
    expect((await patch).status).toBe(200);
    await clock.advance(60_100);
    await expect.poll(() => schedules().find((s) => s.id === user.expirationId)?.status).toBe('done');
    await expectUnblocked(user, expirationDate);
  });

  it('an expiry due while another write holds the user fires again within seconds, backing off while it stays held, once at a time', async () => {
    const user = await newUser(service, { expirationDate: at(2500) });
    const { patch, firings, release } = await heldByAPatch(user, `moved-${user.username}@example.com`);
    try {
      await clock.advance(2600);
      await expect.poll(firings).toBe(1);
      // Busy: fired again 2 s later (not once the 60 s claim lapses), then 4 s after that.
      await clock.advance(1900);
      expect(firings()).toBe(1);
      await clock.advance(200);
      await expect.poll(firings).toBe(2);
      await clock.advance(3800);
      expect(firings()).toBe(2);
    } finally {
      release();
    }
    expect((await patch).status).toBe(200);
    const stored = () => schedules().find((s) => s.id === user.expirationId)?.status;
    expect(stored()).toBe('firing');
    await clock.advance(300);
    await expect.poll(stored).toBe('done');
    const blocked = (await service.call('GET', `/users/${user._id}`)).body;
    expect({ blocked: blocked.blocked, email: blocked.email }).toEqual({ blocked: true, email: `moved-${user.username}@example.com` });
    expect((await service.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(true);
  });

  it('keeps an expired user blocked: unblocking it needs a new date or none in the same PATCH (409 USER_EXPIRED)', async () => {
    const users = [await newUser(service, { expirationDate: at(2500) }), await newUser(service, { expirationDate: at(2500) })];
    users.push(await newUser(service, { expirationDate: at(2500) }));
    await clock.advance(2600);
    for (const user of users) await expect.poll(async () => (await service.call('GET', `/users/${user._id}`)).body.blocked).toBe(true);
    await expectExpiredStayShut(service, clock, users);
  });

  it('takes a user as expired from its expirationDate itself on: an unblock at that very millisecond is the 409 USER_EXPIRED', async () => {
    const user = await newUser(service, { expirationDate: at(2500) });
    expect((await service.call('PATCH', `/users/${user._id}`, { blocked: true })).status).toBe(200);
    await clock.advance(2500);
    expect(clock.now()).toBe(Date.parse(user.expirationDate));
    await expect.poll(() => schedules().find((s) => s.id === user.expirationId)?.status).not.toBe('firing');
    const refused = await service.call('PATCH', `/users/${user._id}`, { blocked: false });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('has expired');
    expect((await service.call('GET', `/users/${user._id}`)).body.blocked).toBe(true);
  });

  it('an expiry whose user stays held is tried again at least every 60 s, and from 2 s again once it failed otherwise', async () => {
    const user = await newUser(service, { expirationDate: at(2500) });
    // As after ten busy answers in a row (about 17 minutes of them).
    const db = (service.deps as unknown as { db: import('better-sqlite3').Database }).db;
    db.prepare('UPDATE schedules SET busy_tries = 10 WHERE id = ?').run(user.expirationId);
    const { patch, reads, firings, release } = await heldByAPatch(user, `held-${user.username}@example.com`);
    try {
      await clock.advance(2600);
      await expect.poll(firings).toBe(1);
      // Busy again: the back-off is the claim's 60 s, not 2 s × 2¹⁰.
      await clock.advance(59_800);
      expect(firings()).toBe(1);
      await clock.advance(300);
      await expect.poll(firings).toBe(2);
      // The next try fails otherwise (its read): left for its whole claim, then busy again, which is
      // the first busy answer in a row: tried again 2 s later.
      reads.mockRejectedValueOnce(new UpstreamError('CRUD', 'GET /users/', 500));
      await clock.advance(60_100);
      await expect.poll(firings).toBe(3);
      await clock.advance(60_100);
      await expect.poll(firings).toBe(4);
      await clock.advance(2100);
      await expect.poll(firings).toBe(5);
    } finally {
      release();
    }
    expect((await patch).status).toBe(200);
    await clock.advance(4100);
    await expect.poll(() => schedules().find((s) => s.id === user.expirationId)?.status).toBe('done');
    expect((await service.call('GET', `/users/${user._id}`)).body.blocked).toBe(true);
  });

  it('refuses an expirationDate in the past and a client-set expirationId', async () => {
    const user = await newUser(service);
    expect((await service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate: '2000-01-01T00:00:00Z' } })).status).toBe(400);
    expect((await service.call('PATCH', `/users/${user._id}`, { $set: { expirationId: 'x' } })).status).toBe(400);
  });
});

describe('embedded schedules across restarts and processes', () => {
  it('fires schedules that came due while stopped, once, with two processes on one file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ums-sched-')), 'ums.sqlite');
    const logger = pino({ level: 'silent' });
    const clock = new FakeClock();
    const first = new EmbeddedScheduler(openDatabase(file), logger, 50, clock);
    for (let index = 0; index < 20; index += 1)
      await first.schedule({ userId: `u${index}`, expirationDate: new Date(clock.now() - 1000).toISOString() });
    const fired: string[] = [];
    const fire = async (payload: { userId: string }) => {
      fired.push(payload.userId);
    };
    const a = new EmbeddedScheduler(openDatabase(file), logger, 50, clock.replica());
    const b = new EmbeddedScheduler(openDatabase(file), logger, 50, clock.replica());
    a.start(fire);
    b.start(fire);
    await clock.advance(100);
    expect(fired.length).toBe(20);
    // Both keep polling for a while: none fires one again.
    await clock.advance(300);
    a.stop();
    b.stop();
    expect(new Set(fired).size).toBe(20);
    expect(fired).toHaveLength(20);
  });
});

describe('Timer Service (TIMER_SERVICE set)', () => {
  let timer: TimerEmulator;
  let service: TestService;
  /**
   * The clock of the service and of the Timer Service: a timer fires when the test moves it. Made
   * here, at the wall time: an expirationDate must be in the future by the wall clock too (inputs.ts).
   */
  let clock: FakeClock;
  beforeAll(async () => {
    clock = new FakeClock();
    timer = await new TimerEmulator(clock).start();
    service = await startService({ clock, env: { TIMER_SERVICE: timer.url, TIMER_SERVICE_HEADERS: 'x-tenant', RANDOM_PWD_GEN: 'false' } });
    await seedGroups(service);
  });
  afterAll(async () => {
    await service.close();
    await timer.stop();
  });
  afterEach(() => {
    timer.failures.length = 0;
  });

  it('schedules a REST callback to this service, which blocks the user when it fires', async () => {
    // Due 5 s ahead of both clocks: it must also be in the future by the wall clock, which has
    // moved on since the fake clock was made (800 ms ahead of the fake clock was refused once on a
    // busy machine), and the tests after this one date their users by the wall clock.
    const due = Math.max(clock.now(), Date.now()) + 5_000;
    const user = await newUser(service, { expirationDate: new Date(due).toISOString() });
    const scheduled = timer.timers.get(user.expirationId)!;
    expect(scheduled.outputMode).toMatchObject({
      type: 'rest',
      method: 'post',
      protocol: 'http',
      hostname: '127.0.0.1',
      path: '/internal/expirations',
    });
    expect(scheduled.outputMode.headers?.['x-ums-timer-secret']).toEqual(expect.any(String));
    expect(scheduled.payload).toEqual({ userId: user._id, expirationDate: user.expirationDate });
    await clock.advance(due - clock.now() - 100);
    await new Promise((resolve) => setTimeout(resolve, 100)); // two polls of the emulator: nothing is due yet
    expect(timer.timers.get(user.expirationId)?.status).toBe(0);
    await clock.advance(100);
    await expect.poll(() => timer.timers.get(user.expirationId)?.callbackStatus).toBe(204);
    expect((await service.call('GET', `/users/${user._id}`)).body.blocked).toBe(true);
    expect((await service.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(true);
  });

  it('forwards the TIMER_SERVICE_HEADERS of the request', async () => {
    const res = await service.call(
      'POST',
      '/users/?sendResetPwdEmail=false',
      { userGroup: 'customer', username: 'hdr', email: 'hdr@example.com', name: 'H', expirationDate: inMs(60_000) },
      { 'x-tenant': 't-7' },
    );
    const user = (await service.call('GET', `/users/${res.body._id}`)).body;
    expect(timer.timers.get(user.expirationId)?.outputMode.headers?.['x-tenant']).toBe('t-7');
  });

  it('refuses a callback without the secret, and a second call for the same expiry does nothing', async () => {
    const user = await newUser(service, { expirationDate: inMs(60_000) });
    const payload = { userId: user._id, expirationDate: user.expirationDate };
    expect((await service.call('POST', '/internal/expirations', payload, anonymous)).status).toBe(401);
    expect((await service.call('POST', '/internal/expirations', payload, { ...anonymous, 'x-ums-timer-secret': 'guess' })).status).toBe(
      401,
    );
    expect((await service.call('GET', `/users/${user._id}`)).body.blocked).toBeUndefined();

    const secret = timer.timers.get(user.expirationId)!.outputMode.headers!['x-ums-timer-secret']!;
    // Early: the date has not come yet, so nothing happens.
    expect((await service.call('POST', '/internal/expirations', payload, { ...anonymous, 'x-ums-timer-secret': secret })).status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}`)).body.blocked).toBeUndefined();
  });

  it('aborts on reschedule, unset and delete, ignoring Timer errors on delete', async () => {
    const user = await newUser(service, { expirationDate: inMs(60_000) });
    const moved = await service.call('PATCH', `/users/${user._id}`, { $set: { expirationDate: inMs(90_000) } });
    expect(timer.requests.some((r) => r.path === '/abort' && (r.body as { expirationId: string }).expirationId === user.expirationId)).toBe(
      true,
    );
    expect(timer.timers.get(moved.body.expirationId)?.status).toBe(0);
    timer.failures.push({ path: '/abort', status: 500 });
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
  });

  it('answers 500 and creates nothing when the Timer Service refuses the schedule', async () => {
    timer.failures.push({ path: '/schedule', status: 500 });
    const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'nosched',
      email: 'nosched@example.com',
      name: 'N',
      expirationDate: inMs(60_000),
    });
    expect(res.status).toBe(500);
    expect(res.body.message).toBe('Error while creating user: Timer POST /schedule responded with a 500 status code');
    expect((await service.call('GET', '/users/count?username=nosched')).body).toBe(0);
  });
});

describe('a CRUD store, which keeps expirationDate as a Date', () => {
  let timer: TimerEmulator;
  let service: TestService;
  let clock: FakeClock;
  beforeAll(async () => {
    clock = new FakeClock();
    timer = await new TimerEmulator(clock).start();
    service = await startService({ store: 'crud', clock, env: { TIMER_SERVICE: timer.url, RANDOM_PWD_GEN: 'false' } });
    await seedGroups(service);
  });
  afterAll(async () => {
    await service.close();
    await timer.stop();
  });

  it('blocks a user whose expirationDate was written without milliseconds or with an offset', async () => {
    // Whole seconds, 5 s ahead of both clocks: the CRUD answers it back as `….000Z`.
    const due = Math.ceil((Math.max(clock.now(), Date.now()) + 5_000) / 1000) * 1000;
    const plain = await newUser(service, { expirationDate: new Date(due).toISOString().replace('.000Z', 'Z') });
    const local = new Date(due + 2 * 3_600_000).toISOString().replace('.000Z', '+02:00');
    const offset = await newUser(service, { expirationDate: local });
    expect([plain.expirationDate, offset.expirationDate]).toEqual([new Date(due).toISOString(), new Date(due).toISOString()]);
    await clock.advance(due - clock.now() + 100);
    for (const user of [plain, offset]) {
      await expect.poll(() => timer.timers.get(user.expirationId)?.callbackStatus).toBe(204);
      expect((await service.call('GET', `/users/${user._id}`)).body.blocked).toBe(true);
      expect((await service.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(true);
    }
  });

  it('keeps an expired user blocked: unblocking it needs a new date or none in the same PATCH (409 USER_EXPIRED)', async () => {
    const due = new Date(Math.max(clock.now(), Date.now()) + 5_000).toISOString();
    const users = [await newUser(service, { expirationDate: due }), await newUser(service, { expirationDate: due })];
    users.push(await newUser(service, { expirationDate: due }));
    await clock.advance(Date.parse(due) - clock.now() + 100);
    for (const user of users) await expect.poll(() => timer.timers.get(user.expirationId)?.callbackStatus).toBe(204);
    await expectExpiredStayShut(service, clock, users);
  });
});
