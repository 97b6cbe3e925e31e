import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ExpirationScheduler } from '../../src/ports/expiration-scheduler.js';
import { recordingScheduler } from '../helpers/live-schedules.js';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { RoleBinder } from '../../src/ports/role-binder.js';
import type { UserStore } from '../../src/ports/user-store.js';
import { UpstreamError } from '../../src/errors.js';
import { eventuallyOn } from '../helpers/eventually.js';
import { renewalsDroppedWhile } from '../helpers/faults.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * A `DELETE /users/:id` cut short between its profile and its identity (a process that dies there,
 * or an identity provider that fails while the store cannot take the profile back) must not leave
 * an identity nobody can reach: the reconciler finishes the deletion. Every backend.
 */
type Trap =
  | 'none'
  | 'identity-delete-hangs'
  | 'identity-down-and-store-down'
  | 'roles-down'
  | 'identity-deleted-then-500'
  | 'identity-deleted-answer-lost-lookup-down'
  | 'identity-answer-lost-lookup-down'
  | 'identity-refused'
  | 'identity-fails-restore-slow'
  | 'abort-hangs'
  | 'profile-delete-fails'
  | 'sessions-fail'
  | 'abort-fails'
  | 'close-fails';
/** Schedules made and not aborted, by id (what the scheduler still holds). */
const live = new Map<string, string>();
/** With 'identity-fails-restore-slow': the profile's restore waits for this gate. */
let restoreGate: { gate: Promise<void>; waiting: boolean } | undefined;
let trap: Trap = 'none';
/** A step held until its gate opens (a request stuck there), once: a grant of roles, a profile's delete. */
type Gate = { gate: Promise<void>; waiting: boolean };
let grantGate: Gate | undefined;
let profileDeleteGate: Gate | undefined;
/** The recording of the next deletion intent waits for this gate (the job store slow, as when its renewals fail). */
let deletionIntentGate: Gate | undefined;

async function passGate(held: Gate | undefined): Promise<void> {
  if (!held || held.waiting) return;
  held.waiting = true;
  await held.gate;
}
/** Set when a request hangs at its trap: its process stands for a dead one, renewing nothing. */
let requestDead = false;
let service: TestService;
/** Leases lapse only when a test moves this clock: a slow request on a busy machine is never taken for a dead one. */
const clock = new FakeClock();
let counter = 0;

function trappedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async deleteUser(id) {
      // The process "dies" after the profile went: this request never goes on (the trap disarms
      // itself, so the reconciler's own delete goes through).
      if (trap === 'identity-delete-hangs') {
        trap = 'none';
        requestDead = true;
        return new Promise(() => undefined);
      }
      if (trap === 'identity-down-and-store-down') throw new UpstreamError('Auth0', 'DELETE /users/:id', 0, { unreachable: true });
      if (trap === 'identity-fails-restore-slow') {
        trap = 'none';
        throw new UpstreamError('Auth0', 'DELETE /users/:id', 500);
      }
      if (trap === 'identity-deleted-then-500') {
        await identity.deleteUser(id); // the provider acted, then answered an error
        throw new UpstreamError('Auth0', 'DELETE /users/:id', 500);
      }
      if (trap === 'identity-refused') {
        // The connection was refused (or the circuit open): the call never left, the provider is down.
        throw new UpstreamError('Auth0', 'DELETE /users/:id', 0, { unreachable: true, notSent: true });
      }
      if (trap === 'identity-deleted-answer-lost-lookup-down' || trap === 'identity-answer-lost-lookup-down') {
        // The provider acted (or not), its answer was lost, and it cannot be asked either.
        if (trap === 'identity-deleted-answer-lost-lookup-down') await identity.deleteUser(id);
        throw new UpstreamError('Auth0', 'DELETE /users/:id', 0, { unreachable: true });
      }
      return identity.deleteUser(id);
    },
    async getUsers(ids) {
      if (
        trap === 'identity-deleted-answer-lost-lookup-down' ||
        trap === 'identity-answer-lost-lookup-down' ||
        trap === 'identity-refused'
      ) {
        throw new UpstreamError('Auth0', 'GET /users', 0, { unreachable: true });
      }
      return identity.getUsers(ids);
    },
  };
}

/** The next search of profiles by identity answers, then waits for this gate (the reconciler's "linked elsewhere?" read). */
let linkLookupGate: Gate | undefined;

function trappedUsers(users: UserStore): UserStore {
  return {
    ...users,
    async find(filter, options) {
      const found = await users.find(filter, options);
      if ('authUserId' in filter) await passGate(linkLookupGate);
      return found;
    },
    async delete(id, options) {
      await passGate(profileDeleteGate);
      if (trap === 'profile-delete-fails') {
        trap = 'none';
        throw new UpstreamError('CRUD', 'DELETE /users/:id', 500);
      }
      return users.delete(id, options);
    },
    async insert(doc, scope) {
      if (trap === 'identity-down-and-store-down') throw new UpstreamError('CRUD', 'POST /users/', 0, { unreachable: true });
      const slow = restoreGate;
      if (slow && !slow.waiting) {
        slow.waiting = true;
        await slow.gate;
      }
      return users.insert(doc, scope);
    },
  };
}

function trappedRoles(roles: RoleBinder): RoleBinder {
  return {
    async grant(subject, ids, scope) {
      await passGate(grantGate);
      return roles.grant(subject, ids, scope);
    },
    permissionsOf: (ids, scope) => roles.permissionsOf(ids, scope),
    async revoke(subject, scope) {
      if (trap === 'roles-down') throw new UpstreamError('Rond', 'POST /revoke/bindings', 0, { unreachable: true });
      return roles.revoke(subject, scope);
    },
  };
}

/** Records the schedules still live; with 'abort-hangs' the process "dies" as it aborts one. */
function trappedScheduler(scheduler: ExpirationScheduler): ExpirationScheduler {
  return recordingScheduler(scheduler, live, () => {
    if (trap === 'abort-fails') {
      trap = 'none';
      throw new UpstreamError('Timer', 'POST /jobs/:id/abort', 500);
    }
    if (trap === 'abort-hangs') {
      trap = 'none';
      requestDead = true;
      return new Promise(() => undefined);
    }
  });
}

/** While set, the job worker's lease renewals fail (the job store unreachable from the reconciler only). */
let reconcilerCut = false;
let workerOwner: string | undefined;
/** How many times the job worker has asked for a user-deletion intent to run (again once a run ends). */
let deletionClaims = 0;

/** With 'close-fails', the close of a deletion's intent fails once (the job store down). */
function trappedJobs(jobs: JobStore): JobStore {
  return {
    ...jobs,
    async create(job) {
      if (job.type === 'user-deletion') await passGate(deletionIntentGate);
      return jobs.create(job);
    },
    async claimNext(type, owner, leaseMs) {
      if (type === 'user-deletion') [workerOwner, deletionClaims] = [owner, deletionClaims + 1];
      return jobs.claimNext(type, owner, leaseMs);
    },
    async heartbeat(jobId, by, leaseMs, progress, counters) {
      if (reconcilerCut && by === workerOwner && leaseMs > 0) throw new UpstreamError('CRUD', 'POST /jobs/:id', 0, { unreachable: true });
      return jobs.heartbeat(jobId, by, leaseMs, progress, counters);
    },
    async discard(jobId, owner) {
      if (trap !== 'close-fails' || !jobId.startsWith('user-deletion:')) return jobs.discard(jobId, owner);
      trap = 'none';
      throw new UpstreamError('CRUD', 'DELETE /jobs/:id', 0, { unreachable: true });
    },
  };
}

beforeAll(async () => {
  service = await startService({
    clock,
    env: { JOBS_LEASE_MS: '1000', JOBS_POLL_MS: '50' },
    wrap: (deps) => ({
      identity: trappedIdentity(deps.identity),
      users: trappedUsers(deps.users),
      roles: trappedRoles(deps.roles),
      scheduler: trappedScheduler(deps.scheduler),
      jobs: trappedJobs(renewalsDroppedWhile(deps.jobs, deps.replicaId, () => requestDead)),
      auth: {
        ...deps.auth,
        async endSessions(authUserId) {
          if (trap !== 'sessions-fail') return deps.auth.endSessions(authUserId);
          trap = 'none';
          throw new UpstreamError('CRUD', 'POST /sessions/', 500);
        },
      },
    }),
    background: true,
  });
  await seedGroups(service);
  const save = 'mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }';
  await service.graphql(save, { r: { roleId: 'reader', name: 'Reader', permissions: ['users.read'] } });
});
beforeEach(() => {
  trap = 'none';
  requestDead = false;
  grantGate = undefined;
  profileDeleteGate = undefined;
  deletionIntentGate = undefined;
  linkLookupGate = undefined;
  reconcilerCut = false;
});
afterAll(() => service.close());

async function newUser(extra: Record<string, unknown> = {}): Promise<{ _id: string; authUserId: string }> {
  counter += 1;
  const body = { userGroup: 'customer', username: `gone${counter}`, email: `gone${counter}@example.com`, name: 'G', ...extra };
  const created = await service.call('POST', '/users/', body);
  expect(created.status).toBe(200);
  const user = await service.call('GET', `/users/${created.body._id}`);
  return { _id: created.body._id, authUserId: user.body.authUserId };
}

async function identityExists(authUserId: string): Promise<boolean> {
  const [identity] = await service.deps.identity.getUsers([authUserId]);
  return identity !== undefined;
}

const eventually = eventuallyOn(clock);

/** Sends a DELETE whose client hangs up once its process is stuck deleting the identity (the profile is gone). */
async function abandonDeletionAtIdentity(userId: string): Promise<void> {
  trap = 'identity-delete-hangs';
  const client = new AbortController();
  const headers = { 'x-api-key': TEST_API_KEY };
  void fetch(`${service.url}/users/${userId}`, { method: 'DELETE', headers, signal: client.signal }).catch(() => undefined);
  await eventually(
    async () => trap,
    (state) => state === 'none',
    0,
  );
  client.abort();
}

describe('a deletion cut short', () => {
  it('after the profile went but before the identity did: the reconciler deletes the identity', async () => {
    const user = await newUser();
    await abandonDeletionAtIdentity(user._id);
    expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
    // The client's retry after its lost answer is a 404 (docs/decisions.md): its intent, recorded
    // by the first attempt, still has the reconciler finish the identity side.
    const retry = await service.call('DELETE', `/users/${user._id}`);
    expect(retry).toMatchObject({ status: 404, body: { statusCode: 404, error: 'Not Found' } });
    expect(
      await eventually(
        () => identityExists(user.authUserId),
        (exists) => !exists,
      ),
    ).toBe(false);
  });

  it('after the profile and the identity went, before its schedule was aborted: the reconciler aborts it', async () => {
    const user = await newUser({ expirationDate: new Date(clock.now() + 86_400_000).toISOString() });
    const [expirationId] = [...live.entries()].find(([, userId]) => userId === user._id)!;
    trap = 'abort-hangs';
    const client = new AbortController();
    const headers = { 'x-api-key': TEST_API_KEY };
    void fetch(`${service.url}/users/${user._id}`, { method: 'DELETE', headers, signal: client.signal }).catch(() => undefined);
    await eventually(
      async () => trap,
      (state) => state === 'none',
      0,
    );
    client.abort();
    expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
    expect(await identityExists(user.authUserId)).toBe(false);
    // No schedule is left live for a user that is gone (the deletion's intent was closed before the abort).
    expect(
      await eventually(
        async () => live.has(expirationId),
        (left) => !left,
      ),
    ).toBe(false);
  });

  it('leaves alone an identity that a newer profile links meanwhile (bulk activation matches identities by e-mail)', async () => {
    const user = await newUser();
    await abandonDeletionAtIdentity(user._id);
    // Before the lease lapses, another profile is linked to the identity the deletion left.
    const scope = { actorId: 'test', headers: {} };
    const newer = await service.deps.users.insert({ userGroup: 'customer', name: 'N', authUserId: user.authUserId }, scope);
    const open = () => service.deps.jobs.list({ types: ['user-deletion'], limit: 10 });
    expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
    expect(await identityExists(user.authUserId)).toBe(true);
    expect((await service.call('GET', `/users/${newer._id}`)).body.authUserId).toBe(user.authUserId);
  });

  it('by a reconciler repair whose renewals fail for a whole lease while a newer profile links the identity: the identity stays', async () => {
    const user = await newUser();
    await abandonDeletionAtIdentity(user._id);
    let open!: () => void;
    linkLookupGate = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: false };
    reconcilerCut = true;
    const scope = { actorId: 'test', headers: {} };
    let newer: { _id: string };
    try {
      // The dead request's lease lapses: the reconciler takes its intent, finds the profile gone and
      // no profile linking the identity, and waits there, its renewals failing.
      await eventually(
        async () => linkLookupGate!.waiting,
        (waiting) => waiting,
      );
      await clock.advanceInSteps(1500, 100);
      // Its lease lapsed: a newer profile is linked to the identity (bulk activation matches by e-mail).
      newer = await service.deps.users.insert({ userGroup: 'customer', name: 'N', authUserId: user.authUserId }, scope);
      const claims = deletionClaims;
      open();
      // The repair's run has ended once the worker asks for the next intent.
      await eventually(
        async () => deletionClaims,
        (count) => count > claims,
        0,
      );
    } finally {
      open();
      reconcilerCut = false;
    }
    const pending = () => service.deps.jobs.list({ types: ['user-deletion'], limit: 10 });
    expect(await eventually(pending, (jobs) => jobs.length === 0)).toEqual([]);
    expect(await identityExists(user.authUserId)).toBe(true);
    expect((await service.call('GET', `/users/${newer._id}`)).body.authUserId).toBe(user.authUserId);
  });

  it('when the identity provider fails and the profile cannot come back: the reconciler finishes it', async () => {
    const user = await newUser();
    trap = 'identity-down-and-store-down';
    const failed = await service.call('DELETE', `/users/${user._id}`);
    expect(failed.status).toBe(503);
    trap = 'none';
    expect(
      await eventually(
        () => identityExists(user.authUserId),
        (exists) => !exists,
      ),
    ).toBe(false);
    expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
  });

  it('when the identity provider deleted the identity but answered an error: the deletion is done, no profile left dangling', async () => {
    const user = await newUser({ roles: ['reader'] });
    trap = 'identity-deleted-then-500';
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    trap = 'none';
    expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
    expect(await identityExists(user.authUserId)).toBe(false);
    expect(await service.backend.rolesOf(user.authUserId)).toEqual([]);
  });

  for (const lost of ['identity-deleted-answer-lost-lookup-down', 'identity-answer-lost-lookup-down'] as const) {
    it(`when the identity delete's answer is lost and the look-up fails (${lost}): the profile stays gone, the reconciler finishes`, async () => {
      const user = await newUser({ roles: ['reader'] });
      trap = lost;
      const failed = await service.call('DELETE', `/users/${user._id}`);
      expect(failed.status).toBe(503);
      // Whether the identity went is unknown: putting the profile back could make it point to nothing.
      expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
      trap = 'none';
      const open = () => service.deps.jobs.list({ types: ['user-deletion'], limit: 10 });
      expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
      expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
      expect(await identityExists(user.authUserId)).toBe(false);
      expect(await service.backend.rolesOf(user.authUserId)).toEqual([]);
    });
  }

  it('when the identity delete certainly never left (connection refused, circuit open): undone at once, the profile back, 503', async () => {
    const user = await newUser({ roles: ['reader'] });
    trap = 'identity-refused';
    const failed = await service.call('DELETE', `/users/${user._id}`);
    expect(failed.status).toBe(503);
    // Nothing reached the provider: the user is whole again now, not 404 later through the reconciler.
    expect((await service.call('GET', `/users/${user._id}`)).body).toMatchObject({ _id: user._id, authUserId: user.authUserId });
    trap = 'none';
    expect(await service.deps.jobs.list({ types: ['user-deletion'], limit: 10 })).toEqual([]);
    expect(await identityExists(user.authUserId)).toBe(true);
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    expect(await identityExists(user.authUserId)).toBe(false);
  });

  it('when the identity provider fails and the restore of the profile outlasts a lease: no identity deleted under it', async () => {
    const user = await newUser();
    let release!: () => void;
    restoreGate = { gate: new Promise<void>((resolve) => (release = resolve)), waiting: false };
    trap = 'identity-fails-restore-slow';
    const deletion = service.call('DELETE', `/users/${user._id}`);
    await eventually(
      async () => restoreGate?.waiting === true,
      (waiting) => waiting,
      0,
    );
    // Three leases pass while the request, alive, puts the profile back.
    for (let step = 0; step < 30; step += 1) {
      await clock.advance(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    release();
    restoreGate = undefined;
    expect((await deletion).status).toBe(500);
    expect((await service.call('GET', `/users/${user._id}`)).status).toBe(200);
    expect(await identityExists(user.authUserId)).toBe(true);
  });

  it('takes the role bindings of the identity with it, later when Rönd is down', async () => {
    const user = await newUser({ roles: ['reader'] });
    expect(await service.backend.rolesOf(user.authUserId)).toEqual(['reader']);
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    expect(await service.backend.rolesOf(user.authUserId)).toEqual([]);

    const other = await newUser({ roles: ['reader'] });
    trap = 'roles-down';
    expect((await service.call('DELETE', `/users/${other._id}`)).status).toBe(204);
    expect(await identityExists(other.authUserId)).toBe(false);
    trap = 'none';
    expect(
      await eventually(
        () => service.backend.rolesOf(other.authUserId),
        (roles) => roles.length === 0,
      ),
    ).toEqual([]);
  });
});

describe('a DELETE whose step fails once, then retried by its client', () => {
  it.each([
    ['the profile delete (500, nothing deleted)', 'profile-delete-fails', 500, 204],
    ['the end of its sessions', 'sessions-fail', 204, 404],
    ['the abort of its schedule (a Timer 500: the schedule stays, and does nothing for a user gone)', 'abort-fails', 204, 404],
    ['the close of its intent (the job store down)', 'close-fails', 204, 404],
  ] as const)('%s: the answers, and nothing left once the reconciler ran', async (_step, failing, first, retry) => {
    const user = await newUser({ roles: ['reader'], expirationDate: new Date(clock.now() + 86_400_000).toISOString() });
    const [expirationId] = [...live.entries()].find(([, userId]) => userId === user._id)!;
    trap = failing;
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(first);
    expect(trap).toBe('none');
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(retry);
    const open = async () =>
      (await service.deps.jobs.list({ types: ['user-deletion'], limit: 100 })).filter((job) =>
        job.jobId.startsWith(`user-deletion:${user._id}:`),
      );
    expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
    expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
    expect(await identityExists(user.authUserId)).toBe(false);
    expect(await service.backend.rolesOf(user.authUserId)).toEqual([]);
    expect(live.has(expirationId)).toBe(failing === 'abort-fails');
  });
});

describe('a PATCH of the roles and a DELETE of the same user at once', () => {
  /** Sets a gate, sends `first`, and answers once it waits there (its `open`). */
  async function heldAt(set: (gate: Gate) => void, first: () => Promise<{ status: number }>) {
    let open!: () => void;
    const held: Gate = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: false };
    set(held);
    const answer = first();
    for (let waited = 0; !held.waiting && waited < 5000; waited += 25) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(held.waiting).toBe(true);
    return { answer, open };
  }

  /** No binding outlives its identity; a user still there has its profile's roles bound. */
  async function consistent(user: { _id: string; authUserId: string }): Promise<void> {
    const profile = await service.call('GET', `/users/${user._id}`);
    const identity = await identityExists(user.authUserId);
    const bound = await service.backend.rolesOf(user.authUserId);
    expect({ identity, bound }).toEqual(
      profile.status === 200 ? { identity: true, bound: profile.body.roles } : { identity: false, bound: [] },
    );
  }

  it('the PATCH first, held at its grant: the DELETE waits for it (409), no binding is left without identity', async () => {
    const user = await newUser();
    const patch = await heldAt(
      (gate) => (grantGate = gate),
      () => service.call('PATCH', `/users/${user._id}`, { roles: ['reader'] }),
    );
    let deleted: { status: number; body: { message?: string } };
    try {
      deleted = await service.call('DELETE', `/users/${user._id}`);
    } finally {
      patch.open();
    }
    expect((await patch.answer).status).toBe(200);
    await consistent(user);
    expect(deleted.status).toBe(409);
    expect(deleted.body.message).toMatch(/being changed by another request/);
    // Let go, the DELETE goes through and takes the bindings with it.
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    await consistent(user);
  });

  it('the DELETE first, held before its profile delete: the PATCH is a 409, nothing is left', async () => {
    const user = await newUser({ roles: ['reader'] });
    const deletion = await heldAt(
      (gate) => (profileDeleteGate = gate),
      () => service.call('DELETE', `/users/${user._id}`),
    );
    let patched: { status: number };
    try {
      patched = await service.call('PATCH', `/users/${user._id}`, { roles: [] });
    } finally {
      deletion.open();
    }
    expect((await deletion.answer).status).toBe(204);
    await consistent(user);
    expect(patched.status).toBe(409);
  });

  it('the DELETE first, its renewals failing for a whole lease before its profile delete: the PATCH takes the user, the DELETE is a 409', async () => {
    const user = await newUser();
    // Held as it records its deletion intent, the user's lock taken and the profile read under it.
    const deletion = await heldAt(
      (gate) => (deletionIntentGate = gate),
      () => service.call('DELETE', `/users/${user._id}`),
    );
    let patch: Awaited<ReturnType<typeof heldAt>> | undefined;
    try {
      // Its lease lapses (renewals lost), and the reconciler frees the user.
      requestDead = true;
      await clock.advanceInSteps(1500, 100);
      requestDead = false;
      // A PATCH of the roles takes the user and waits at its grant, after its revoke.
      patch = await heldAt(
        (gate) => (grantGate = gate),
        () => service.call('PATCH', `/users/${user._id}`, { roles: ['reader'] }),
      );
      deletion.open();
      const deleted = await deletion.answer;
      patch.open();
      expect((await patch.answer).status).toBe(200);
      await consistent(user);
      expect(deleted.status).toBe(409);
    } finally {
      requestDead = false;
      deletion.open();
      patch?.open();
    }
  });
});

describe('a hard-deleted user moved back out of DELETED, cut short', () => {
  it("as its move aborts the schedule it replaced: the reconciler keeps the profile's, the retry moves it, one schedule live", async () => {
    const user = await newUser({ expirationDate: new Date(clock.now() + 86_400_000).toISOString() });
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    const schedulesOf = () => [...live].filter(([, userId]) => userId === user._id).map(([id]) => id);
    expect(schedulesOf()).toEqual([]);
    // The process "dies" as it aborts the soft delete's schedule: scheduled again and written, not yet moved.
    trap = 'abort-hangs';
    const client = new AbortController();
    const headers = { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' };
    const body = JSON.stringify([{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    void fetch(`${service.url}/users/state`, { method: 'POST', headers, body, signal: client.signal }).catch(() => undefined);
    await eventually(
      async () => trap,
      (state) => state === 'none',
      0,
    );
    client.abort();
    // Its intent's lease lapses; the reconciler finishes it.
    await eventually(
      () => service.deps.jobs.get(`user-sync:${user._id}`),
      (job) => job === undefined,
      500,
    );
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect([stored.__STATE__, stored.authUserId]).toEqual(['DELETED', undefined]);
    expect(schedulesOf()).toEqual([stored.expirationId]);
    // The client's retry moves it, scheduled once more, the one before aborted.
    const retry = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    expect([retry.status, retry.body]).toEqual([200, 1]);
    const moved = (await service.call('GET', `/users/${user._id}`)).body;
    expect([moved.__STATE__, moved.authUserId]).toEqual(['TRASH', undefined]);
    expect(schedulesOf()).toEqual([moved.expirationId]);
    expect(await identityExists(user.authUserId)).toBe(false);
  });
});

describe('a soft delete (AUTH_HARD_DELETE, the default) with Rönd down', () => {
  const open = () => service.deps.jobs.list({ types: ['user-sync'], limit: 10 });

  it('answers 204 when resumed as when first sent: the identity is gone, its bindings go later', async () => {
    const user = await newUser({ roles: ['reader'] });
    trap = 'roles-down';
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect(await identityExists(user.authUserId)).toBe(false);
    // The client's retry meets the intent the first left open (its bindings): no 503 for a done deletion.
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    trap = 'none';
    expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
    expect(await service.backend.rolesOf(user.authUserId)).toEqual([]);
  });

  it('answers the provider error when resumed while the identity provider is still down and the reconciler holds the user', async () => {
    const user = await newUser({ roles: ['reader'] });
    trap = 'identity-answer-lost-lookup-down';
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(503);
    // The reconciler takes the intent, fails as the provider is down, and keeps it claimed for its back-off.
    const held = await eventually(
      () => service.deps.jobs.get(`user-sync:${user._id}`),
      (job) => (job?.leaseUntil ?? 0) > clock.now(),
    );
    expect((held?.leaseUntil ?? 0) > clock.now()).toBe(true);
    // The identity is still there: the resumed soft delete is no more done than the first one was.
    const resumed = await service.call('POST', `/users/${user._id}/soft-delete`);
    expect(resumed).toMatchObject({ status: 503, body: { statusCode: 503 } });
    trap = 'none';
    expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
    expect(await identityExists(user.authUserId)).toBe(false);
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
  });

  it('answers 204 when resumed on a profile already DELETED whose identity was left behind', async () => {
    const user = await newUser({ roles: ['reader'] });
    const scope = { actorId: 'test', headers: {} };
    await service.deps.users.setState(user._id, 'TRASH', scope);
    await service.deps.users.setState(user._id, 'DELETED', scope);
    trap = 'roles-down';
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect(await identityExists(user.authUserId)).toBe(false);
    trap = 'none';
    expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
    expect(await service.backend.rolesOf(user.authUserId)).toEqual([]);
  });
});

describe('a soft delete with AUTH_HARD_DELETE', () => {
  let hard: TestService;
  beforeAll(async () => {
    // No background work: no reconciler takes an intent a request left open, the client's retry meets it.
    hard = await startService({
      env: { AUTH_HARD_DELETE: 'true' },
      wrap: (deps) => ({ identity: trappedIdentity(deps.identity), roles: trappedRoles(deps.roles) }),
    });
    await seedGroups(hard);
    const save = 'mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }';
    await hard.graphql(save, { r: { roleId: 'reader', name: 'Reader', permissions: ['users.read'] } });
  });
  afterAll(() => hard.close());

  async function readerUser(username: string): Promise<{ _id: string; authUserId: string }> {
    const body = { userGroup: 'customer', username, email: `${username}@example.com`, name: 'H', roles: ['reader'] };
    const created = await hard.call('POST', '/users/', body);
    const { authUserId } = (await hard.call('GET', `/users/${created.body._id}`)).body;
    expect(await hard.backend.rolesOf(authUserId)).toEqual(['reader']);
    return { _id: created.body._id, authUserId };
  }

  it('takes the role bindings of the deleted identity with it', async () => {
    const user = await readerUser('hardgone');
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await hard.deps.identity.getUsers([user.authUserId]))[0]).toBeUndefined();
    expect(await hard.backend.rolesOf(user.authUserId)).toEqual([]);
  });

  it('when the identity provider deleted the identity but answered an error: the user is DELETED, no identity left to point to', async () => {
    const user = await readerUser('hardapplied');
    trap = 'identity-deleted-then-500';
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    trap = 'none';
    expect((await hard.call('GET', `/users/${user._id}?_st=DELETED`)).status).toBe(200);
    expect((await hard.deps.identity.getUsers([user.authUserId]))[0]).toBeUndefined();
    expect(await hard.backend.rolesOf(user.authUserId)).toEqual([]);
  });

  it('when the identity delete certainly never left (connection refused): the user is moved back out of DELETED, 503', async () => {
    const user = await readerUser('hardrefused');
    await hard.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    trap = 'identity-refused';
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(503);
    trap = 'none';
    expect((await hard.call('GET', `/users/${user._id}?_st=TRASH`)).body).toMatchObject({
      __STATE__: 'TRASH',
      authUserId: user.authUserId,
    });
    expect((await hard.deps.identity.getUsers([user.authUserId]))[0]).toBeDefined();
    // The client's retry once the provider is back deletes it.
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await hard.deps.identity.getUsers([user.authUserId]))[0]).toBeUndefined();
  });

  it("when the identity delete's answer is lost and the look-up fails: the user stays DELETED, a retry finishes the identity", async () => {
    const user = await readerUser('hardlost');
    trap = 'identity-deleted-answer-lost-lookup-down';
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(503);
    trap = 'none';
    // Moved back out of DELETED, the profile would point to an identity that may be gone.
    expect((await hard.call('GET', `/users/${user._id}?_st=DELETED`)).status).toBe(200);
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await hard.deps.identity.getUsers([user.authUserId]))[0]).toBeUndefined();
    expect(await hard.backend.rolesOf(user.authUserId)).toEqual([]);
  });

  it('resumed by the client itself on the intent the first left open for its bindings (Rönd still down): 204, as the first', async () => {
    const user = await readerUser('hardbindings');
    trap = 'roles-down';
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    const intent = await hard.deps.jobs.get(`user-sync:${user._id}`);
    expect(intent?.status).toBe('running');
    // The retry repairs that intent itself (no reconciler runs here): the identity is gone, only the bindings are left.
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await hard.deps.jobs.get(`user-sync:${user._id}`))?.status).toBe('running');
    trap = 'none';
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect(await hard.deps.jobs.get(`user-sync:${user._id}`)).toBeUndefined();
    expect(await hard.backend.rolesOf(user.authUserId)).toEqual([]);
  });

  it('moved back out of DELETED while the identity provider is down: 503, still DELETED and linked; the retry unlinks and moves it', async () => {
    const user = await readerUser('hardrevived');
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    trap = 'identity-refused';
    expect((await hard.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }])).status).toBe(503);
    trap = 'none';
    const kept = (await hard.call('GET', `/users/${user._id}?_st=DELETED`)).body;
    expect([kept.__STATE__, kept.authUserId]).toEqual(['DELETED', user.authUserId]);
    const retry = await hard.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    expect([retry.status, retry.body]).toEqual([200, 1]);
    const moved = (await hard.call('GET', `/users/${user._id}?_st=TRASH`)).body;
    expect([moved.__STATE__, moved.authUserId]).toEqual(['TRASH', undefined]);
    expect(await hard.deps.jobs.get(`user-sync:${user._id}`)).toBeUndefined();
  });

  it('moved back out of DELETED while its bindings are left (Rönd down): 503 until they go, never unlinked before', async () => {
    const user = await readerUser('hardrevivedbindings');
    trap = 'roles-down';
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    // Unlinked now, the profile would let its intent's repair leave the bindings for good.
    expect((await hard.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }])).status).toBe(503);
    const kept = (await hard.call('GET', `/users/${user._id}?_st=DELETED`)).body;
    expect([kept.__STATE__, kept.authUserId]).toEqual(['DELETED', user.authUserId]);
    trap = 'none';
    const retry = await hard.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    expect([retry.status, retry.body]).toEqual([200, 1]);
    expect(await hard.backend.rolesOf(user.authUserId)).toEqual([]);
    expect((await hard.call('GET', `/users/${user._id}?_st=TRASH`)).body.authUserId).toBeUndefined();
    expect(await hard.deps.jobs.get(`user-sync:${user._id}`)).toBeUndefined();
  });

  it('resumed on a profile already DELETED (its identity left behind): the identity and its bindings go', async () => {
    const user = await readerUser('hardresumed');
    // The profile got to DELETED, the identity did not (a process stopped there, or a soft delete
    // made before AUTH_HARD_DELETE was set): the client's retry finishes it.
    const scope = { actorId: 'test', headers: {} };
    await hard.deps.users.setState(user._id, 'TRASH', scope);
    await hard.deps.users.setState(user._id, 'DELETED', scope);
    expect((await hard.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await hard.deps.identity.getUsers([user.authUserId]))[0]).toBeUndefined();
    expect(await hard.backend.rolesOf(user.authUserId)).toEqual([]);
  });
});

describe('a soft delete resumed while another holds the user (AUTH_HARD_DELETE=false: DELETED blocks)', () => {
  let soft: TestService;
  beforeAll(async () => {
    soft = await startService({ env: { AUTH_HARD_DELETE: 'false' } });
    await seedGroups(soft);
  });
  afterAll(() => soft.close());

  /** A user whose profile is DELETED, its identity blocked or not, and whose lock another replica holds. */
  async function heldDeleted(username: string, blocked: boolean): Promise<string> {
    const body = { userGroup: 'customer', username, email: `${username}@example.com`, name: 'S' };
    const created = await soft.call('POST', '/users/', body);
    const { authUserId } = (await soft.call('GET', `/users/${created.body._id}`)).body;
    const scope = { actorId: 'test', headers: {} };
    await soft.deps.users.setState(created.body._id, 'TRASH', scope);
    await soft.deps.users.setState(created.body._id, 'DELETED', scope);
    await soft.deps.identity.updateUser(authUserId, { blocked });
    const payload = { userId: created.body._id, authUserId };
    await soft.deps.jobs.create({ type: 'user-sync', jobId: `user-sync:${created.body._id}`, payload, owner: 'another', leaseMs: 60_000 });
    return created.body._id;
  }

  it('answers 204 when the identity is blocked already', async () => {
    const id = await heldDeleted('softheld1', true);
    expect((await soft.call('POST', `/users/${id}/soft-delete`)).status).toBe(204);
  });

  it('answers 409 USER_BUSY while the identity has not followed yet', async () => {
    const id = await heldDeleted('softheld2', false);
    const resumed = await soft.call('POST', `/users/${id}/soft-delete`);
    expect(resumed).toMatchObject({ status: 409, body: { statusCode: 409 } });
  });
});
