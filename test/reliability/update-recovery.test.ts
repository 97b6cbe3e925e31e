import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import type { ExpirationScheduler } from '../../src/ports/expiration-scheduler.js';
import { recordingScheduler } from '../helpers/live-schedules.js';
import type { RoleBinder } from '../../src/ports/role-binder.js';
import type { UserStore } from '../../src/ports/user-store.js';
import type { JobStore } from '../../src/ports/job-store.js';
import { UpstreamError } from '../../src/errors.js';
import { eventuallyOn } from '../helpers/eventually.js';
import { renewalsDroppedWhile } from '../helpers/faults.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * A `PATCH /users/:id` or a state change whose steps fail part-way, or whose process dies between
 * them, ends with the identity following the profile as stored, and no schedule of its own left
 * behind: every backend. Leases lapse on a fake clock, moved by the test once a request is abandoned.
 */
type Trap =
  'none' | 'identity-update-fails' | 'identity-update-lost' | 'patch-hangs' | 'patch-lost' | 'state-hangs' | 'grant-hangs' | 'abort-hangs';
let trap: Trap = 'none';
/** Set when a request hangs at its trap: its process stands for a dead one, renewing nothing. */
let requestDead = false;
/** Every abort of the scheduler fails (a Timer Service that refuses them). */
let abortsFail = false;
let service: TestService;
/** Leases lapse only when a test moves this clock: a slow request on a busy machine is never taken for a dead one. */
const clock = new FakeClock();
let counter = 0;
/** Schedules made and not aborted, by id (what the scheduler still holds). */
const live = new Map<string, string>();

function recordedScheduler(scheduler: ExpirationScheduler): ExpirationScheduler {
  return recordingScheduler(scheduler, live, () => {
    if (trap === 'abort-hangs') {
      trap = 'none';
      requestDead = true;
      return new Promise(() => undefined);
    }
    if (abortsFail) throw new UpstreamError('Timer', 'POST /jobs/:id/abort', 500);
  });
}

/** After an 'identity-update-lost', the next identity change (the request's own repair) waits for this gate. */
let slowFollow: { gate: Promise<void>; waiting: boolean } | undefined;

/** The next change of this identity lands, then its answer waits to be released (a request slowed after that step). */
let changedThenHeld: { id: string; reached: () => void; release: Promise<void> } | undefined;

/** The next identity lookup waits for this gate (the reconciler's, held between its profile read and its steps). */
let heldLookup: { gate: Promise<void>; waiting: boolean } | undefined;

function trappedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async getUsers(ids) {
      const held = heldLookup;
      if (held && !held.waiting) {
        held.waiting = true;
        await held.gate;
      }
      return identity.getUsers(ids);
    },
    async updateUser(id, changes) {
      if (trap === 'identity-update-fails') throw new UpstreamError('Auth0', 'PATCH /users/:id', 500);
      if (trap === 'identity-update-lost') {
        trap = 'none';
        await identity.updateUser(id, changes); // the provider acted, then answered an error
        throw new UpstreamError('Auth0', 'PATCH /users/:id', 500);
      }
      const after = changedThenHeld;
      if (after?.id === id) {
        changedThenHeld = undefined;
        await identity.updateUser(id, changes);
        after.reached();
        await after.release;
        return;
      }
      const slow = slowFollow;
      if (slow && !slow.waiting) {
        slow.waiting = true;
        await slow.gate;
        slowFollow = undefined;
      }
      return identity.updateUser(id, changes);
    },
  };
}

/** The process "dies" at a hung step (the trap disarms itself, so the reconciler's own calls go through). */
/** Holds the next profile write of this e-mail until released (two requests that interleave). */
let hold: { email: string; release: Promise<void> } | undefined;

/** The next profile write of this user waits to be released (a live request whose step outlasts leases). */
let heldWrite: { id: string; reached: () => void; release: Promise<void> } | undefined;

/** Holds the next profile write of `id` until `open()`; `reached` resolves once a request waits there. */
function holdWrite(id: string): { reached: Promise<void>; open: () => void } {
  let reached!: () => void;
  let open!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  heldWrite = { id, reached, release: new Promise<void>((resolve) => (open = resolve)) };
  return { reached: arrived, open };
}

/** The next profile write of this user lands, then its answer waits to be released (a request slowed after its write). */
let writtenThenHeld: { id: string; reached: () => void; release: Promise<void> } | undefined;

/** The next read of this user answers, then waits to be released (a request that read it before another's write). */
let staleRead: { id: string; reached: boolean; release: Promise<void> } | undefined;

function trappedUsers(users: UserStore): UserStore {
  return {
    ...users,
    async get(id, options) {
      const read = await users.get(id, options);
      const gate = staleRead;
      if (gate?.id === id && !gate.reached) {
        gate.reached = true;
        await gate.release;
      }
      return read;
    },
    async patch(id, expr, options, scope) {
      const held = heldWrite;
      if (held?.id === id) {
        heldWrite = undefined;
        held.reached();
        await held.release;
      }
      const gate = hold;
      if (gate && (expr.$set as Record<string, unknown> | undefined)?.email === gate.email) {
        hold = undefined;
        await gate.release;
      }
      if (trap === 'patch-hangs') {
        trap = 'none';
        requestDead = true;
        return new Promise(() => undefined);
      }
      const after = writtenThenHeld;
      if (after?.id === id) {
        writtenThenHeld = undefined;
        const written = await users.patch(id, expr, options, scope);
        after.reached();
        await after.release;
        return written;
      }
      if (trap !== 'patch-lost') return users.patch(id, expr, options, scope);
      trap = 'none';
      await users.patch(id, expr, options, scope); // the store acted, then the connection broke
      throw new UpstreamError('CRUD', 'PATCH /users/:id', 0, { unreachable: true });
    },
    async setState(id, stateTo, scope) {
      if (trap !== 'state-hangs') return users.setState(id, stateTo, scope);
      trap = 'none';
      requestDead = true;
      return new Promise(() => undefined);
    },
  };
}

/** The process "dies" between the revoke and the grant of a roles change. */
function trappedRoles(roles: RoleBinder): RoleBinder {
  return {
    revoke: (subject, scope) => roles.revoke(subject, scope),
    permissionsOf: (ids, scope) => roles.permissionsOf(ids, scope),
    async grant(subject, ids, scope) {
      if (trap !== 'grant-hangs') return roles.grant(subject, ids, scope);
      trap = 'none';
      requestDead = true;
      return new Promise(() => undefined);
    },
  };
}

/** While set, the job worker's lease renewals fail (the job store unreachable from the reconciler only). */
let reconcilerCut = false;
let workerOwner: string | undefined;
/** How many times the job worker has asked for a user-sync intent to run (again once a run ends). */
let syncClaims = 0;

function watchedWorker(jobs: JobStore): JobStore {
  return {
    ...jobs,
    async claimNext(type, owner, leaseMs) {
      if (type === 'user-sync') [workerOwner, syncClaims] = [owner, syncClaims + 1];
      return jobs.claimNext(type, owner, leaseMs);
    },
    async heartbeat(jobId, by, leaseMs, progress, counters) {
      if (reconcilerCut && by === workerOwner && leaseMs > 0) throw new UpstreamError('CRUD', 'POST /jobs/:id', 0, { unreachable: true });
      return jobs.heartbeat(jobId, by, leaseMs, progress, counters);
    },
  };
}

beforeAll(async () => {
  service = await startService({
    clock,
    env: { RANDOM_PWD_GEN: 'false', JOBS_LEASE_MS: '1000', JOBS_POLL_MS: '50' },
    background: true,
    wrap: (deps) => ({
      scheduler: recordedScheduler(deps.scheduler),
      identity: trappedIdentity(deps.identity),
      users: trappedUsers(deps.users),
      roles: trappedRoles(deps.roles),
      jobs: watchedWorker(renewalsDroppedWhile(deps.jobs, deps.replicaId, () => requestDead)),
    }),
  });
  await seedGroups(service);
  const save = 'mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }';
  for (const roleId of ['reader', 'writer']) await service.graphql(save, { r: { roleId, name: roleId, permissions: ['users.read'] } });
});
beforeEach(() => {
  trap = 'none';
  requestDead = false;
  abortsFail = false;
});
afterAll(() => service.close());

async function newUser(extra: Record<string, unknown> = {}): Promise<{ _id: string; email: string; authUserId: string }> {
  counter += 1;
  const email = `upd${counter}@example.com`;
  const body = { userGroup: 'customer', username: `upd${counter}`, email, name: 'U', password: 'Update-pass-1', ...extra };
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', body);
  expect(created.body).toEqual({ _id: expect.any(String) });
  const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
  return { _id: created.body._id, email, authUserId };
}

async function identityOf(authUserId: string) {
  const [identity] = await service.deps.identity.getUsers([authUserId]);
  return identity!;
}

/** Sends a request whose client hangs up once its process is stuck at the trapped step. */
async function abandonAtTrap(method: string, path: string, body: unknown): Promise<void> {
  const client = new AbortController();
  const headers = { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' };
  void fetch(`${service.url}${path}`, { method, headers, body: JSON.stringify(body), signal: client.signal }).catch(() => undefined);
  await eventually(
    async () => trap,
    (state) => state === 'none',
    0,
  );
  client.abort();
}

const eventually = eventuallyOn(clock);

const schedulesOf = (userId: string) => [...live.values()].filter((owner) => owner === userId).length;
const inADay = () => new Date(Date.now() + 86_400_000).toISOString();

describe('an update whose identity step fails', () => {
  it('with an e-mail another identity has: 409, and the new expiration schedule is aborted', async () => {
    const [user, other] = [await newUser(), await newUser()];
    const res = await service.call('PATCH', `/users/${user._id}`, { email: other.email, expirationDate: inADay() });
    expect(res.status).toBe(409);
    expect(schedulesOf(user._id)).toBe(0);
    expect((await service.call('GET', `/users/${user._id}`)).body).not.toHaveProperty('expirationDate');
  });

  it('with the identity provider failing: an error, and the new expiration schedule is aborted', async () => {
    const user = await newUser();
    trap = 'identity-update-fails';
    const res = await service.call('PATCH', `/users/${user._id}`, { name: 'V', email: `moved-${user.email}`, expirationDate: inADay() });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(schedulesOf(user._id)).toBe(0);
    expect((await service.call('GET', `/users/${user._id}`)).body).toMatchObject({ name: 'U', email: user.email });
  });
});

describe('an update or a state change cut short between the identity and the profile', () => {
  it('a PATCH whose process dies there: the reconciler puts the identity back to the profile', async () => {
    const user = await newUser();
    trap = 'patch-hangs';
    await abandonAtTrap('PATCH', `/users/${user._id}`, { email: `new-${user.email}`, expirationDate: inADay() });
    expect((await service.call('GET', `/users/${user._id}`)).body.email).toBe(user.email);
    expect(
      await eventually(
        async () => (await identityOf(user.authUserId)).email,
        (email) => email === user.email,
      ),
    ).toBe(user.email);
    expect(
      await eventually(
        async () => schedulesOf(user._id),
        (count) => count === 0,
      ),
    ).toBe(0);
  });

  it('a PATCH whose answer from the store is lost: the identity and the schedule follow the stored profile', async () => {
    const user = await newUser();
    trap = 'patch-lost';
    const res = await service.call('PATCH', `/users/${user._id}`, { email: `lost-${user.email}`, expirationDate: inADay() });
    expect(res.status).toBe(503);
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect(stored.email).toBe(`lost-${user.email}`);
    expect((await identityOf(user.authUserId)).email).toBe(stored.email);
    expect(live.get(stored.expirationId)).toBe(user._id);
  });

  it('a state change whose process dies there: the reconciler unblocks the identity of a profile still PUBLIC', async () => {
    const user = await newUser();
    trap = 'state-hangs';
    await abandonAtTrap('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('PUBLIC');
    expect(
      await eventually(
        async () => (await identityOf(user.authUserId)).blocked,
        (blocked) => !blocked,
      ),
    ).toBe(false);
  });

  it('a roles change whose process dies between the revoke and the grant: the reconciler grants the profile roles', async () => {
    const user = await newUser({ roles: ['reader'] });
    trap = 'grant-hangs';
    await abandonAtTrap('PATCH', `/users/${user._id}`, { roles: ['writer'] });
    expect(await service.backend.rolesOf(user.authUserId)).toEqual([]);
    expect(
      await eventually(
        () => service.backend.rolesOf(user.authUserId),
        (roles) => roles.length > 0,
      ),
    ).toEqual(['writer']);
  });
});

describe('a new expirationDate whose process dies before the replaced schedule is aborted', () => {
  it('the reconciler aborts the schedule the profile no longer points to', async () => {
    const user = await newUser({ expirationDate: inADay() });
    expect(schedulesOf(user._id)).toBe(1);
    trap = 'abort-hangs';
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    await abandonAtTrap('PATCH', `/users/${user._id}`, { expirationDate: later });
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect(stored.expirationDate).toBe(later);
    expect(
      await eventually(
        async () => schedulesOf(user._id),
        (count) => count === 1,
      ),
    ).toBe(1);
    expect(live.get(stored.expirationId)).toBe(user._id);
  });
});

describe('a user without identity moved out of DELETED whose process dies at its profile write', () => {
  it('the reconciler aborts the schedule the move made, which the profile never pointed to', async () => {
    counter += 1;
    const body = { userGroup: 'customer', username: `upd${counter}`, email: `upd${counter}@example.com`, name: 'U' };
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', { ...body, expirationDate: inADay() });
    const id = created.body._id as string;
    expect((await service.call('POST', `/users/${id}/soft-delete`)).status).toBe(204);
    const before = (await service.call('GET', `/users/${id}?_st=DELETED`)).body;
    expect(before).toMatchObject({ __STATE__: 'DELETED' });
    const leftBefore = schedulesOf(id);
    trap = 'patch-hangs';
    await abandonAtTrap('POST', '/users/state', [{ filter: { _id: id }, stateTo: 'TRASH' }]);
    // Made before the profile write that never came: the intent names it, and its repair aborts it.
    expect(schedulesOf(id)).toBe(leftBefore + 1);
    expect(
      await eventually(
        async () => schedulesOf(id),
        (count) => count === leftBefore,
      ),
    ).toBe(leftBefore);
    const stored = (await service.call('GET', `/users/${id}?_st=DELETED`)).body;
    expect(stored.expirationId).toBe(before.expirationId);
  });
});

describe('a repair whose schedule abort fails', () => {
  it('still makes the identity follow the profile (the abort error is logged, not retried)', async () => {
    const user = await newUser();
    trap = 'patch-hangs';
    await abandonAtTrap('PATCH', `/users/${user._id}`, { email: `abort-${user.email}`, expirationDate: inADay() });
    abortsFail = true;
    expect(
      await eventually(
        async () => (await identityOf(user.authUserId)).email,
        (email) => email === user.email,
      ),
    ).toBe(user.email);
  });
});

describe('a PATCH whose own repair of a failure outlasts a lease', () => {
  it('keeps the user until it ends: no reconciler nor other write interleaves with it, both sides agree', async () => {
    const user = await newUser();
    let release!: () => void;
    slowFollow = { gate: new Promise<void>((resolve) => (release = resolve)), waiting: false };
    trap = 'identity-update-lost';
    const first = service.call('PATCH', `/users/${user._id}`, { email: `x-${user.email}` });
    await eventually(
      async () => slowFollow?.waiting === true,
      (waiting) => waiting,
      0,
    );
    // Three leases pass while the request, alive, puts the identity back to its profile.
    for (let step = 0; step < 30; step += 1) {
      await clock.advance(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const second = await service.call('PATCH', `/users/${user._id}`, { email: `y-${user.email}` });
    release();
    expect((await first).status).toBe(500);
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect((await identityOf(user.authUserId)).email).toBe(stored.email);
    expect(second.status).toBe(409);
  });
});

describe("a PATCH's own repair whose renewals fail for a whole lease while another write takes the user", () => {
  it('stops before its next step: the identity keeps the values of the write that took the user', async () => {
    const user = await newUser();
    let open!: () => void;
    heldLookup = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: false };
    trap = 'identity-update-lost';
    try {
      // The identity step acts but answers an error: the request's own repair reads the profile
      // (the old e-mail) and waits at its identity lookup, its renewals dropped.
      const first = service.call('PATCH', `/users/${user._id}`, { email: `x-${user.email}` });
      await eventually(
        async () => heldLookup!.waiting,
        (waiting) => waiting,
        0,
      );
      requestDead = true;
      await clock.advanceInSteps(1500, 100);
      requestDead = false;
      // Its lease lapsed: another write takes the user (after the reconciler, if it came first).
      const second = await eventually(
        () => service.call('PATCH', `/users/${user._id}`, { email: `y-${user.email}` }),
        (answer) => answer.status === 200,
        0,
      );
      expect(second.status).toBe(200);
      expect((await identityOf(user.authUserId)).email).toBe(`y-${user.email}`);
      open();
      expect((await first).status).toBe(500);
    } finally {
      open();
      heldLookup = undefined;
    }
    expect((await service.call('GET', `/users/${user._id}`)).body.email).toBe(`y-${user.email}`);
    expect((await identityOf(user.authUserId)).email).toBe(`y-${user.email}`);
  });
});

describe('a PATCH of the roles whose renewals fail for a whole lease after its profile write, while another write takes the user', () => {
  it('is a 409 before its revoke and grant: the bindings are those of the write that took the user', async () => {
    const user = await newUser({ roles: ['reader'] });
    let reached!: () => void;
    let open!: () => void;
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    writtenThenHeld = { id: user._id, reached, release: new Promise<void>((resolve) => (open = resolve)) };
    try {
      const first = service.call('PATCH', `/users/${user._id}`, { roles: ['writer'] });
      await arrived;
      requestDead = true;
      await clock.advanceInSteps(1500, 100);
      requestDead = false;
      // Its lease lapsed: another write takes the user (after the reconciler, if it came first).
      const second = await eventually(
        () => service.call('PATCH', `/users/${user._id}`, { roles: ['reader'] }),
        (answer) => answer.status === 200,
        0,
      );
      expect(second.status).toBe(200);
      open();
      const answer = await first;
      expect((await service.call('GET', `/users/${user._id}`)).body.roles).toEqual(['reader']);
      expect(await service.backend.rolesOf(user.authUserId)).toEqual(['reader']);
      expect(answer.status).toBe(409);
      expect(answer.body.message).toMatch(/being changed by another request/);
    } finally {
      open();
      writtenThenHeld = undefined;
    }
  });
});

describe('a state change whose renewals fail for a whole lease after its identity step, while another write takes the user', () => {
  it('is a 409 before its profile step: the user is not left TRASH with its identity unblocked', async () => {
    const user = await newUser();
    let reached!: () => void;
    let open!: () => void;
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    changedThenHeld = { id: user.authUserId, reached, release: new Promise<void>((resolve) => (open = resolve)) };
    try {
      const first = service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
      await arrived;
      requestDead = true;
      await clock.advanceInSteps(1500, 100);
      requestDead = false;
      // Its lease lapsed: another write takes the user, its identity following the profile (PUBLIC).
      const second = await eventually(
        () => service.call('PATCH', `/users/${user._id}`, { email: `s-${user.email}` }),
        (answer) => answer.status === 200,
        0,
      );
      expect(second.status).toBe(200);
      expect((await identityOf(user.authUserId)).blocked).toBe(false);
      open();
      const answer = await first;
      const stored = (await service.call('GET', `/users/${user._id}?_st=PUBLIC,DRAFT,TRASH`)).body;
      expect(stored.__STATE__).toBe('PUBLIC');
      expect((await identityOf(user.authUserId)).blocked).toBe(false);
      expect(answer.status).toBe(409);
    } finally {
      open();
      changedThenHeld = undefined;
    }
  });
});

describe('a live write whose profile step outlasts three leases, the reconciler running', () => {
  async function leasesGoBy(): Promise<void> {
    for (let step = 0; step < 30; step += 1) {
      await clock.advance(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('a PATCH of its expirationDate: 200, and the profile points to a live schedule, the only one', async () => {
    const user = await newUser({ expirationDate: inADay() });
    const gate = holdWrite(user._id);
    const answer = service.call('PATCH', `/users/${user._id}`, { expirationDate: new Date(Date.now() + 2 * 86_400_000).toISOString() });
    await gate.reached;
    await leasesGoBy();
    gate.open();
    expect((await answer).status).toBe(200);
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect([...live].filter(([, owner]) => owner === user._id).map(([id]) => id)).toEqual([stored.expirationId]);
  });

  it('a move out of DELETED: 200, and the profile points to a live schedule, the only one', async () => {
    const user = await newUser({ expirationDate: inADay() });
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    const gate = holdWrite(user._id);
    const answer = service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    await gate.reached;
    await leasesGoBy();
    gate.open();
    expect((await answer).status).toBe(200);
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect(stored.__STATE__).toBe('TRASH');
    expect([...live].filter(([, owner]) => owner === user._id).map(([id]) => id)).toEqual([stored.expirationId]);
  });
});

describe('a reconciler repair whose renewals fail for a whole lease while a write takes the user', () => {
  it('stops before its next step: the bindings stay those of the write that took the user', async () => {
    const user = await newUser({ roles: ['reader'] });
    trap = 'grant-hangs';
    await abandonAtTrap('PATCH', `/users/${user._id}`, { roles: ['writer'] });
    let open!: () => void;
    heldLookup = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: false };
    reconcilerCut = true;
    try {
      // The dead request's lease lapses: the reconciler takes its intent, reads the profile (writer)
      // and waits at its identity lookup, its renewals failing.
      await eventually(
        async () => heldLookup!.waiting,
        (waiting) => waiting,
      );
      await clock.advanceInSteps(1500, 100);
      // Its lease lapsed: a write finishes the stale intent and takes the user.
      const patched = await service.call('PATCH', `/users/${user._id}`, { roles: ['reader'] });
      expect(patched.status).toBe(200);
      expect(await service.backend.rolesOf(user.authUserId)).toEqual(['reader']);
      const claims = syncClaims;
      open();
      // The repair's run has ended once the worker asks for the next intent.
      await eventually(
        async () => syncClaims,
        (count) => count > claims,
        0,
      );
    } finally {
      open();
      reconcilerCut = false;
      heldLookup = undefined;
    }
    expect((await service.call('GET', `/users/${user._id}`)).body.roles).toEqual(['reader']);
    expect(await service.backend.rolesOf(user.authUserId)).toEqual(['reader']);
  });
});

describe('two PATCHes of one user at once', () => {
  it('of its expirationDate, the second having read the user before the first wrote: no schedule left that nothing points to', async () => {
    const user = await newUser({ expirationDate: inADay() });
    let release!: () => void;
    staleRead = { id: user._id, reached: false, release: new Promise<void>((resolve) => (release = resolve)) };
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const second = service.call('PATCH', `/users/${user._id}`, { expirationDate: later });
    await eventually(
      async () => staleRead?.reached,
      (reached) => reached === true,
      0,
    );
    const first = await service.call('PATCH', `/users/${user._id}`, {
      expirationDate: new Date(Date.now() + 3 * 86_400_000).toISOString(),
    });
    expect(first.status).toBe(200);
    release();
    staleRead = undefined;
    const answer = await second;
    // Either the second sees the user changed under it (409, try again) or it replaces the first's schedule.
    expect([200, 409]).toContain(answer.status);
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    const ofUser = [...live].filter(([, owner]) => owner === user._id).map(([id]) => id);
    expect(ofUser).toEqual([stored.expirationId]);
  });

  it('the second is a 409 while the first is between the identity and the profile; both sides agree', async () => {
    const user = await newUser();
    let open!: () => void;
    hold = { email: `a-${user.email}`, release: new Promise<void>((resolve) => (open = resolve)) };
    const first = service.call('PATCH', `/users/${user._id}`, { email: `a-${user.email}` });
    await eventually(
      async () => hold,
      (gate) => gate === undefined,
      0,
    );
    const second = await service.call('PATCH', `/users/${user._id}`, { email: `b-${user.email}` });
    open();
    expect((await first).status).toBe(200);
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(/being changed/);
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect(stored.email).toBe(`a-${user.email}`);
    expect((await identityOf(user.authUserId)).email).toBe(stored.email);
  });
});
