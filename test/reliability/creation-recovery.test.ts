import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordingScheduler } from '../helpers/live-schedules.js';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { RoleBinder } from '../../src/ports/role-binder.js';
import type { UserStore } from '../../src/ports/user-store.js';
import { UpstreamError } from '../../src/errors.js';
import { eventuallyOn } from '../helpers/eventually.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { renewalsDroppedWhile } from '../helpers/faults.js';
import {
  countIdentities,
  countProfiles,
  CUSTOMER_GROUP,
  seedGroups,
  startService,
  TEST_API_KEY,
  type TestService,
} from '../helpers/service.js';

/**
 * Issue #17, part 2: a creation cut short (a lost answer, a process that stops mid-way) leaves a
 * user that the reconciler, or a retry of the same creation, makes whole, or removes. Every
 * backend. Leases lapse on a fake clock, moved by the test once a request is abandoned: a slow
 * step on a busy machine never loses a live request its intent.
 */
type Trap =
  | 'none'
  | 'insert-lost-and-store-down'
  | 'link-hangs'
  | 'grant-fails'
  | 'close-hangs'
  | 'link-lost'
  | 'link-fails-undo-slow'
  | 'insert-hangs'
  | 'expiration-link-hangs';
/** Schedules made and not aborted, by id (what the scheduler still holds), in the reconciling services. */
const live = new Map<string, string>();
/** With 'link-fails-undo-slow': the undo's delete of the profile waits for this gate. */
let undoGate: { gate: Promise<void>; waiting: boolean } | undefined;
let trap: Trap = 'none';
/** Set when a request hangs at its trap: its process stands for a dead one, renewing nothing. */
let requestDead = false;
/** Leases lapse and the reconciler polls only when a test moves this clock. */
const clock = new FakeClock();
/** Lease renewals and claims sent to the job store, not answered yet (a step of the fake clock waits for them). */
let jobCallsInFlight = 0;
/** Creation intents a reconciler claimed and has not ended yet (a step of the fake clock waits for them). */
const repairing = new Set<string>();
let service: TestService;
let counter = 0;

/** The next identity made waits for this gate before it is made (a slow identity provider). */
let identityCreateGate: { gate: Promise<void>; waiting: boolean; after?: boolean } | undefined;
/** The next link of a profile to its identity waits for this gate before it is written (the reconciler's). */
let linkGate: { gate: Promise<void>; waiting: boolean } | undefined;
/** The next read of one profile answers, then waits for this gate (the reconciler's, before its steps). */
let profileReadGate: { gate: Promise<void>; waiting: boolean } | undefined;

/** The store as an outage or a dying process would leave it. */
function trapped(users: UserStore): UserStore {
  return {
    ...users,
    async get(id, options) {
      const read = await users.get(id, options);
      const held = profileReadGate;
      if (held && !held.waiting) {
        held.waiting = true;
        await held.gate;
      }
      return read;
    },
    async insert(doc, scope) {
      if (trap === 'insert-hangs') {
        trap = 'none';
        requestDead = true;
        await users.insert(doc, scope); // stored, then the process "dies"
        return new Promise(() => undefined);
      }
      if (trap !== 'insert-lost-and-store-down') return users.insert(doc, scope);
      await users.insert(doc, scope); // the CRUD acted, then the connection broke
      throw new UpstreamError('CRUD', 'POST /users/', 0, { unreachable: true });
    },
    async delete(id, options) {
      if (trap === 'insert-lost-and-store-down') throw new UpstreamError('CRUD', 'DELETE /users/:id', 0, { unreachable: true });
      const slow = undoGate;
      if (slow && !slow.waiting) {
        slow.waiting = true;
        await slow.gate;
      }
      return users.delete(id, options);
    },
    async patch(id, expr, options, scope) {
      // The process "dies" after the identity was made: this request never goes on. Only the
      // first link hangs (the trap disarms itself there), so the repair's own link goes through.
      if (trap === 'link-hangs' && '$set' in expr && expr.$set && 'authUserId' in expr.$set) {
        trap = 'none';
        requestDead = true;
        return new Promise(() => undefined);
      }
      if (trap === 'link-fails-undo-slow' && '$set' in expr && expr.$set && 'authUserId' in expr.$set) {
        trap = 'none';
        throw new UpstreamError('CRUD', 'PATCH /users/:id', 500);
      }
      // The process "dies" once the schedule is made, before the profile points to it.
      if (trap === 'expiration-link-hangs' && '$set' in expr && expr.$set && 'expirationId' in expr.$set) {
        trap = 'none';
        requestDead = true;
        return new Promise(() => undefined);
      }
      const held = linkGate;
      if (held && !held.waiting && '$set' in expr && expr.$set && 'authUserId' in expr.$set) {
        held.waiting = true;
        await held.gate;
      }
      // The store linked the identity, then the answer was lost.
      if (trap === 'link-lost' && '$set' in expr && expr.$set && 'authUserId' in expr.$set) {
        trap = 'none';
        await users.patch(id, expr, options, scope);
        throw new UpstreamError('CRUD', 'PATCH /users/:id', 500);
      }
      return users.patch(id, expr, options, scope);
    },
  };
}

function trappedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async createUser(user) {
      const held = identityCreateGate;
      if (!held || held.waiting) return identity.createUser(user);
      held.waiting = true;
      // Before it is made, or made and its answer on the way.
      const made = held.after ? await identity.createUser(user) : undefined;
      await held.gate;
      return made ?? identity.createUser(user);
    },
  };
}

/** The next grant waits for this gate (a PATCH of the roles held after its revoke). */
let grantGate: { gate: Promise<void>; waiting: boolean } | undefined;

/** Rönd refusing grants (a 500), as an outage would. */
function trappedRoles(roles: RoleBinder): RoleBinder {
  return {
    async grant(subject, ids, scope) {
      if (trap === 'grant-fails') throw new UpstreamError('Rond', 'POST /grant/bindings', 500);
      const held = grantGate;
      if (held && !held.waiting) {
        held.waiting = true;
        await held.gate;
      }
      return roles.grant(subject, ids, scope);
    },
    revoke: (subject, scope) => roles.revoke(subject, scope),
    permissionsOf: (ids, scope) => roles.permissionsOf(ids, scope),
  };
}

/** While set, the job worker's lease renewals fail (the job store unreachable from the reconciler only). */
let reconcilerCut = false;
let workerOwner: string | undefined;
/** How many times a job worker has asked for a user-creation intent to run (again once a run ends). */
let creationClaims = 0;

function trappedJobs(jobs: JobStore, replicaId: string): JobStore {
  const renewing = renewalsDroppedWhile(jobs, replicaId, () => requestDead);
  return {
    ...renewing,
    async discard(jobId, owner) {
      if (trap === 'close-hangs' && jobId.startsWith('user-creation:')) {
        trap = 'none';
        requestDead = true;
        return new Promise(() => undefined);
      }
      repairing.delete(jobId);
      return jobs.discard(jobId, owner);
    },
    async claimNext(type, owner, leaseMs) {
      if (type === 'user-creation') [workerOwner, creationClaims] = [owner, creationClaims + 1];
      jobCallsInFlight += 1;
      try {
        const job = await jobs.claimNext(type, owner, leaseMs);
        if (job) repairing.add(job.jobId);
        return job;
      } finally {
        jobCallsInFlight -= 1;
      }
    },
    async finish(jobId, owner, outcome) {
      repairing.delete(jobId);
      return jobs.finish(jobId, owner, outcome);
    },
    async heartbeat(...args) {
      const [, by, leaseMs] = args;
      if (reconcilerCut && by === workerOwner && leaseMs > 0) throw new UpstreamError('CRUD', 'POST /jobs/:id', 0, { unreachable: true });
      jobCallsInFlight += 1;
      try {
        return await renewing.heartbeat(...args);
      } finally {
        jobCallsInFlight -= 1;
      }
    },
  };
}

beforeAll(async () => {
  service = await startService({
    clock,
    env: { JOBS_LEASE_MS: '1000', JOBS_POLL_MS: '50' },
    wrap: (deps) => ({ users: trapped(deps.users), roles: trappedRoles(deps.roles), jobs: trappedJobs(deps.jobs, deps.replicaId) }),
  });
  await seedGroups(service);
  const save = 'mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }';
  await service.graphql(save, { r: { roleId: 'reader', name: 'Reader', permissions: ['users.read'] } });
});
beforeEach(() => {
  trap = 'none';
  grantGate = undefined;
  requestDead = false;
  profileReadGate = undefined;
  linkGate = undefined;
  identityCreateGate = undefined;
  reconcilerCut = false;
});
afterAll(() => service.close());

/** For tests whose request gives its intent up itself (handed over, released): a lease no step outlives. */
const UNLAPSING_LEASE_MS = 60_000;
/** The lease of the reconciling services' intents, in fake time. */
const LEASE_MS = 1000;

/** A service of its own whose job worker runs (the reconciler), on the fake clock. */
async function reconcilingService(leaseMs = LEASE_MS): Promise<TestService> {
  const background = await startService({
    clock,
    env: { JOBS_LEASE_MS: String(leaseMs), JOBS_POLL_MS: '50' },
    wrap: (deps) => ({
      users: trapped(deps.users),
      identity: trappedIdentity(deps.identity),
      roles: trappedRoles(deps.roles),
      jobs: trappedJobs(deps.jobs, deps.replicaId),
      scheduler: recordingScheduler(deps.scheduler, live),
    }),
    background: true,
  });
  await seedGroups(background);
  const save = 'mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }';
  await background.graphql(save, { r: { roleId: 'reader', name: 'Reader', permissions: ['users.read'] } });
  return background;
}

/** A reconciling service whose leases never lapse unless a test moves the clock, and the role `writer`. */
async function reconcilingServiceWithWriter() {
  const background = await reconcilingService(UNLAPSING_LEASE_MS);
  await background.graphql('mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }', {
    r: { roleId: 'writer', name: 'Writer', permissions: ['users.write'] },
  });
  return background;
}

function newBody() {
  counter += 1;
  return { userGroup: 'customer', username: `crash${counter}`, email: `crash${counter}@example.com`, name: 'C' };
}

const eventually = eventuallyOn(clock);

/** Waits, no lease lapsing meanwhile, until the trapped request is stuck (the trap fired and disarmed itself). */
async function stuckAtTheTrap(): Promise<void> {
  await eventually(
    async () => trap,
    (state) => state === 'none',
    0,
  );
  expect(trap).toBe('none');
}

/** Sends a creation whose client will hang up (its process goes on, stuck): answers the hang-up. */
function abandon(target: TestService, body: object): () => void {
  const client = new AbortController();
  void fetch(`${target.url}/users/`, {
    method: 'POST',
    headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: client.signal,
  }).catch(() => undefined);
  return () => client.abort();
}

async function usersNamed(username: string) {
  return (await service.call('GET', `/users/?_st=PUBLIC,DRAFT,TRASH,DELETED&username=${username}`)).body as {
    _id: string;
    authUserId?: string;
  }[];
}

/** Whole: one profile, linked to an identity that exists and has its username. */
async function expectWhole(username: string) {
  const [user, ...others] = await usersNamed(username);
  expect(others).toEqual([]);
  expect(user?.authUserId).toEqual(expect.any(String));
  const [identity] = await service.deps.identity.getUsers([user!.authUserId!]);
  expect(identity?.username).toBe(username);
  return user!;
}

/** Whole on `target`: one profile, linked to an identity that exists and has its username. */
async function expectWholeOn(target: TestService, username: string) {
  const named = await target.call('GET', `/users/?_st=PUBLIC,DRAFT,TRASH,DELETED&username=${username}`);
  expect(named.body).toHaveLength(1);
  if (named.body.length !== 1) return;
  const [identity] = await target.deps.identity.getUsers([named.body[0].authUserId]);
  expect(identity?.username).toBe(username);
}

describe('a creation cut short', () => {
  it('after a lost insert answer with the store down: the retry of the same creation succeeds', async () => {
    const body = newBody();
    const profiles = await countProfiles(service);
    trap = 'insert-lost-and-store-down';
    const failed = await service.call('POST', '/users/', body);
    expect(failed.status).toBe(503);
    expect(failed.body.message).not.toMatch(/E11000|duplicate key/);
    trap = 'none';
    await clock.advance(1); // a lease given up has ended by the next millisecond
    const retried = await service.call('POST', '/users/', body);
    expect(retried.status).toBe(200);
    const user = await expectWhole(body.username);
    expect(user._id).toBe(retried.body._id);
    expect(await countProfiles(service)).toBe(profiles + 1);
  });

  it('after a lost insert answer with the store down: the reconciler removes the profile when nobody retries', async () => {
    // The request hands its intent over (lease given up), so no lapse is waited for: a lease no
    // step outlives. At 300 ms, a busy machine's last creation outlived it, was taken over and got a 500.
    const background = await reconcilingService(UNLAPSING_LEASE_MS);
    try {
      trap = 'insert-lost-and-store-down';
      const body = newBody();
      expect((await background.call('POST', '/users/', body)).status).toBe(503);
      trap = 'none';
      const left = await eventually(
        () => countProfiles(background),
        (count) => count === 0,
      );
      expect(left).toBe(0);
      expect((await background.call('POST', '/users/', body)).status).toBe(200);
    } finally {
      await background.close();
    }
  });

  it('after the identity was made but before the profile pointed to it: the reconciler links them', async () => {
    const background = await reconcilingService();
    try {
      const identities = countIdentities(background);
      trap = 'link-hangs';
      const body = newBody();
      const hangUp = abandon(background, body);
      await stuckAtTheTrap();
      hangUp();
      const linked = await eventually(
        async () => (await background.call('GET', `/users/?username=${body.username}`)).body[0],
        (user) => typeof user?.authUserId === 'string',
      );
      expect(linked.authUserId).toEqual(expect.any(String));
      expect(countIdentities(background)).toBe(identities + 1);
      const [identity] = await background.deps.identity.getUsers([linked.authUserId]);
      expect(identity?.username).toBe(body.username);
    } finally {
      trap = 'none';
      await background.close();
    }
  });

  it('after the identity was made but before the profile pointed to it: the retry gets the same user, whole', async () => {
    const body = newBody();
    const identities = countIdentities(service);
    trap = 'link-hangs';
    const hangUp = abandon(service, body);
    await stuckAtTheTrap();
    hangUp();
    // While the first request still holds its intent, the same creation is a conflict.
    expect((await service.call('POST', '/users/', body)).status).toBe(409);
    const retried = await eventually(
      () => service.call('POST', '/users/', body),
      (res) => res.status === 200,
    );
    expect(retried.status).toBe(200);
    expect((await expectWhole(body.username))._id).toBe(retried.body._id);
    expect(countIdentities(service)).toBe(identities + 1);
  });

  it('by a reconciler repair whose renewals fail for a whole lease while the retry finishes it and a PATCH changes the roles: the PATCH stands', async () => {
    const background = await reconcilingService();
    await background.graphql('mutation ($r: RoleInput!) { saveRole(input: $r) { __typename } }', {
      r: { roleId: 'writer', name: 'Writer', permissions: ['users.write'] },
    });
    let open!: () => void;
    try {
      const body = { ...newBody(), roles: ['reader'] };
      trap = 'link-hangs';
      const hangUp = abandon(background, body);
      await stuckAtTheTrap();
      hangUp();
      profileReadGate = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: false };
      reconcilerCut = true;
      // The dead request's lease lapses: the reconciler takes its intent, reads the profile (not
      // linked yet, `reader`) and waits there, its renewals failing.
      await eventually(
        async () => profileReadGate!.waiting,
        (waiting) => waiting,
      );
      await clock.advanceInSteps(1500, 100);
      // Its lease lapsed: the client's retry finishes the creation, then a PATCH changes the roles.
      const retried = await background.call('POST', '/users/', body);
      expect(retried.status).toBe(200);
      const patched = await background.call('PATCH', `/users/${retried.body._id}`, { roles: ['writer'] });
      expect(patched.status).toBe(200);
      const claims = creationClaims;
      open();
      // The repair's run has ended once the worker asks for the next intent.
      await eventually(
        async () => creationClaims,
        (count) => count > claims,
        0,
      );
      reconcilerCut = false;
      const pending = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
      expect(await eventually(pending, (jobs) => jobs.length === 0)).toEqual([]);
      const [user] = (await background.call('GET', `/users/?username=${body.username}`)).body;
      expect(user.roles).toEqual(['writer']);
      expect(await background.backend.rolesOf(user.authUserId)).toEqual(['writer']);
    } finally {
      open?.();
      trap = 'none';
      reconcilerCut = false;
      profileReadGate = undefined;
      await background.close();
    }
  });

  it('by a reconciler repair, a PATCH of the roles and of blocked landing between its profile read and its steps: the PATCH stands', async () => {
    // Released at once after the failed grant (the user linked, no roles): nothing waits for a lapse.
    const background = await reconcilingServiceWithWriter();
    let open!: () => void;
    try {
      const body = { ...newBody(), roles: ['reader'] };
      profileReadGate = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: true };
      trap = 'grant-fails';
      expect((await background.call('POST', '/users/', body)).status).toBe(500);
      trap = 'none';
      // The reconciler takes the intent given up, reads the profile (linked, `reader`, unblocked) and waits there.
      profileReadGate.waiting = false;
      await eventually(
        async () => profileReadGate!.waiting,
        (waiting) => waiting,
      );
      const [found] = (await background.call('GET', `/users/?username=${body.username}`)).body;
      const patched = await background.call('PATCH', `/users/${found._id}`, { roles: ['writer'], blocked: true });
      expect(patched.status).toBe(200);
      open();
      const pending = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
      expect(await eventually(pending, (jobs) => jobs.length === 0)).toEqual([]);
      const [user] = (await background.call('GET', `/users/?username=${body.username}`)).body;
      expect({ roles: user.roles, blocked: user.blocked }).toEqual({ roles: ['writer'], blocked: true });
      expect.soft(await background.backend.rolesOf(user.authUserId)).toEqual(['writer']);
      expect.soft((await background.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(true);
    } finally {
      open?.();
      trap = 'none';
      profileReadGate = undefined;
      await background.close();
    }
  });

  it.each(['create', 'register'])(
    'after the identity was made (%s), a DELETE of its profile as the reconciler links it is a 409; once linked, its retry takes the identity too',
    async (kind) => {
      const background = await reconcilingService();
      let open!: () => void;
      try {
        const body = { ...newBody(), roles: ['reader'] };
        let userId: string | undefined;
        if (kind === 'register') {
          const postponed = await background.call('POST', '/users/?postponeAuthUserCreation=true', body);
          expect(postponed.status).toBe(200);
          userId = postponed.body._id;
        }
        const identities = countIdentities(background);
        trap = 'link-hangs';
        const hangUp =
          kind === 'create'
            ? abandon(background, body)
            : (() => {
                const client = new AbortController();
                void fetch(`${background.url}/users/register`, {
                  method: 'POST',
                  headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
                  body: JSON.stringify({ _id: userId }),
                  signal: client.signal,
                }).catch(() => undefined);
                return () => client.abort();
              })();
        await stuckAtTheTrap();
        hangUp();
        expect(countIdentities(background)).toBe(identities + 1);
        // The dead request's lease lapses: the reconciler finds the identity it made and links it, held there.
        linkGate = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: false };
        await eventually(
          async () => linkGate!.waiting,
          (waiting) => waiting,
        );
        // A profile without identity is deleted under the user's lock too, which the repair holds as it links.
        const named = () => background.call('GET', `/users/?_st=PUBLIC,DRAFT,TRASH,DELETED&username=${body.username}`);
        const [found] = (await named()).body;
        expect((await background.call('DELETE', `/users/${found._id}`)).status).toBe(409);
        open();
        const pending = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
        expect(await eventually(pending, (jobs) => jobs.length === 0)).toEqual([]);
        expect((await background.call('DELETE', `/users/${found._id}`)).status).toBe(204);
        expect((await named()).body).toEqual([]);
        expect(countIdentities(background)).toBe(identities);
      } finally {
        open?.();
        trap = 'none';
        linkGate = undefined;
        await background.close();
      }
    },
  );

  it.each([
    ['before it is made: the reconciler finishes it, the request undoes nothing of it', false, 1],
    ["once made: the reconciler's own is refused as a duplicate, the request undoes its creation", true, 0],
  ])('whose renewals fail for a whole lease while its identity is being made, %s', async (_, after, left) => {
    const background = await reconcilingService();
    let open!: () => void;
    try {
      const body = newBody();
      const identities = countIdentities(background);
      identityCreateGate = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: false, after };
      const creation = background.call('POST', '/users/', body);
      await eventually(
        async () => identityCreateGate!.waiting,
        (waiting) => waiting,
        0,
      );
      // The job store unreachable from the request's replica: its lease lapses, the reconciler
      // takes the creation over (an identity of its own, or refused as a duplicate of the request's).
      requestDead = true;
      const pending = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
      expect(await eventually(pending, (jobs) => jobs.length === 0)).toEqual([]);
      requestDead = false;
      open();
      expect((await creation).status).not.toBe(200);
      // Whole (the reconciler's identity), or absent: never a profile or an identity alone.
      expect.soft(countIdentities(background)).toBe(identities + left);
      if (left) await expectWholeOn(background, body.username);
      else expect((await background.call('GET', `/users/?_st=PUBLIC,DRAFT,TRASH,DELETED&username=${body.username}`)).body).toEqual([]);
    } finally {
      open?.();
      requestDead = false;
      identityCreateGate = undefined;
      await background.close();
    }
  });

  // The repair holds the user's lock while it makes the identity: the identity follows a profile
  // changed meanwhile through the repair itself (`attachIdentity`'s follow), not through a second
  // hold of the lock, which it would find taken (its own) and leave the identity as first read.
  it('by a reconciler repair making its identity, a PATCH of blocked on the profile meanwhile: the identity follows it', async () => {
    const background = await reconcilingService();
    let open!: () => void;
    try {
      identityCreateGate = { gate: new Promise<void>((resolve) => (open = resolve)), waiting: false };
      trap = 'insert-hangs';
      const body = newBody();
      const hangUp = abandon(background, body);
      await stuckAtTheTrap();
      hangUp();
      // The request "died" after its insert; the reconciler makes the identity and waits there.
      await eventually(
        async () => identityCreateGate!.waiting,
        (waiting) => waiting,
      );
      const [found] = (await background.call('GET', `/users/?username=${body.username}`)).body;
      expect((await background.call('PATCH', `/users/${found._id}`, { $set: { blocked: true } })).status).toBe(200);
      open();
      const pending = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
      expect(await eventually(pending, (jobs) => jobs.length === 0)).toEqual([]);
      const [user] = (await background.call('GET', `/users/?username=${body.username}`)).body;
      expect(user.blocked).toBe(true);
      expect((await background.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(true);
    } finally {
      open?.();
      trap = 'none';
      identityCreateGate = undefined;
      await background.close();
    }
  });

  // The repair waits for the user's lock: without it, a repair coming while a PATCH of the roles
  // held the user (between its revoke and its grant) revoked and granted the same roles beside it,
  // and the PATCH's grant then bound them a second time.
  it('by a reconciler repair, a PATCH of the roles holding the user meanwhile: the repair waits, the roles are bound once', async () => {
    const background = await reconcilingServiceWithWriter();
    let openRead!: () => void;
    let openGrant!: () => void;
    try {
      const body = { ...newBody(), roles: ['reader'] };
      profileReadGate = { gate: new Promise<void>((resolve) => (openRead = resolve)), waiting: true };
      trap = 'grant-fails';
      expect((await background.call('POST', '/users/', body)).status).toBe(500);
      trap = 'none';
      const [found] = (await background.call('GET', `/users/?username=${body.username}`)).body;
      // The PATCH takes the user and waits at its grant, after its revoke.
      grantGate = { gate: new Promise<void>((resolve) => (openGrant = resolve)), waiting: false };
      const patched = background.call('PATCH', `/users/${found._id}`, { roles: ['writer'] });
      await eventually(
        async () => grantGate!.waiting,
        (waiting) => waiting,
        0,
      );
      // The reconciler takes the intent given up, reads the profile, and goes on.
      profileReadGate.waiting = false;
      await eventually(
        async () => profileReadGate!.waiting,
        (waiting) => waiting,
      );
      const claims = creationClaims;
      openRead();
      // Its run over (the worker polls again): it waited for the user, or acted beside the PATCH.
      await eventually(
        async () => creationClaims,
        (count) => count > claims + 1,
      );
      openGrant();
      expect((await patched).status).toBe(200);
      const pending = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
      expect(await eventually(pending, (jobs) => jobs.length === 0)).toEqual([]);
      const [user] = (await background.call('GET', `/users/?username=${body.username}`)).body;
      expect(user.roles).toEqual(['writer']);
      expect(await background.backend.rolesOf(user.authUserId)).toEqual(['writer']);
    } finally {
      openRead?.();
      openGrant?.();
      trap = 'none';
      profileReadGate = undefined;
      grantGate = undefined;
      await background.close();
    }
  });

  it('when its roles cannot be granted: an error, and the retry at once gets the same user with its roles', async () => {
    const body = { ...newBody(), roles: ['reader'] };
    trap = 'grant-fails';
    const failed = await service.call('POST', '/users/', body);
    expect(failed.status).toBe(500);
    trap = 'none';
    // No reconciler runs here: the retry finds the creation handed over and finishes it itself,
    // rather than a 409 for as long as the failed request's lease (JOBS_LEASE_MS) would hold it.
    await clock.advance(1); // a lease given up has ended by the next millisecond
    const retried = await service.call('POST', '/users/', body);
    expect(retried.status).toBe(200);
    const user = await expectWhole(body.username);
    expect(user._id).toBe(retried.body._id);
    expect(await service.backend.rolesOf(user.authUserId!)).toEqual(['reader']);
  });

  it('of a profile for an existing identity (with-id), whose roles could not be granted: the reconciler grants them', async () => {
    // Released at once after the failed grant: nothing waits for a lapse.
    const background = await reconcilingService(UNLAPSING_LEASE_MS);
    try {
      const body = newBody();
      const identity = await background.deps.identity.createUser({ ...body, password: 'Aa1!aaaaaaaa', blocked: false });
      trap = 'grant-fails';
      const failed = await background.call('POST', '/users/with-id', {
        userGroup: 'customer',
        name: 'W',
        authUserId: identity.id,
        roles: ['reader'],
      });
      expect(failed.status).toBe(500);
      trap = 'none';
      const roles = await eventually(
        () => background.backend.rolesOf(identity.id),
        (granted) => granted.length > 0,
      );
      expect(roles).toEqual(['reader']);
    } finally {
      trap = 'none';
      await background.close();
    }
  });

  it('as it closed its intent, its roles granted: the reconciler leaves the user with its roles once', async () => {
    // A lease no step of a request outlives on a busy machine: a lapsed one is taken for a dead
    // request, and a reconciler taking it over while the request still grants binds the roles twice.
    const background = await reconcilingService(2000);
    try {
      const body = { ...newBody(), roles: ['reader'] };
      trap = 'close-hangs';
      const hangUp = abandon(background, body);
      await stuckAtTheTrap();
      hangUp();
      const open = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
      expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
      const [user] = (await background.call('GET', `/users/?username=${body.username}`)).body;
      expect(await background.backend.rolesOf(user.authUserId)).toEqual(['reader']);
    } finally {
      trap = 'none';
      await background.close();
    }
  });

  it('a registration whose link was stored but answered an error: the profile points to no deleted identity, the retry registers', async () => {
    const body = newBody();
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', body);
    expect(created.status).toBe(200);
    const identities = countIdentities(service);
    trap = 'link-lost';
    expect((await service.call('POST', '/users/register', { _id: created.body._id })).status).toBe(500);
    const [user] = await usersNamed(body.username);
    expect(user?.authUserId).toBeUndefined();
    expect(countIdentities(service)).toBe(identities);
    expect((await service.call('POST', '/users/register', { _id: created.body._id })).status).toBe(204);
    await expectWhole(body.username);
  });

  it('whose undo of a failed link outlasts a lease: no identity made by the reconciler meanwhile is left behind', async () => {
    const background = await reconcilingService();
    try {
      const identities = countIdentities(background);
      let release!: () => void;
      undoGate = { gate: new Promise<void>((resolve) => (release = resolve)), waiting: false };
      trap = 'link-fails-undo-slow';
      const body = newBody();
      const creation = background.call('POST', '/users/', body);
      await eventually(
        async () => undoGate?.waiting === true,
        (waiting) => waiting,
        0,
      );
      // Five leases pass while the request, alive, takes its profile back. Each renewal it sends
      // lands before the clock moves on, as on a machine never too slow for its lease; a repair
      // the reconciler started (had the lease lapsed) runs to its end before the undo goes on.
      for (let step = 0; step < 15; step += 1) {
        await clock.advance(LEASE_MS / 3);
        await eventually(
          async () => jobCallsInFlight + repairing.size,
          (pending) => pending === 0,
          0,
        );
      }
      release();
      undoGate = undefined;
      expect((await creation).status).toBe(500);
      const open = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
      expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
      expect((await background.call('GET', `/users/?username=${body.username}`)).body).toEqual([]);
      expect(countIdentities(background)).toBe(identities);
    } finally {
      trap = 'none';
      undoGate = undefined;
      await background.close();
    }
  });

  it('whose group was deleted while it was stored (the request died before it checked again): the reconciler removes it', async () => {
    const background = await reconcilingService();
    try {
      const identities = countIdentities(background);
      await background.deps.groups.saveGroup({ ...CUSTOMER_GROUP, userGroup: 'ephemeral' }, { actorId: 'test', headers: {} });
      trap = 'insert-hangs';
      const body = { ...newBody(), userGroup: 'ephemeral' };
      const hangUp = abandon(background, body);
      await stuckAtTheTrap();
      hangUp();
      // The state a group deletion racing the creation leaves (it counted before the insert).
      expect(await background.deps.groups.deleteGroup('ephemeral')).toBe(true);
      const open = () => background.deps.jobs.list({ types: ['user-creation'], limit: 10 });
      expect(await eventually(open, (jobs) => jobs.length === 0)).toEqual([]);
      expect((await background.call('GET', `/users/?username=${body.username}`)).body).toEqual([]);
      expect(countIdentities(background)).toBe(identities);
    } finally {
      trap = 'none';
      await background.close();
    }
  });

  it('after its schedule was made, before the profile pointed to it: the reconciler links that schedule, none left over', async () => {
    const background = await reconcilingService();
    try {
      trap = 'expiration-link-hangs';
      const body = { ...newBody(), expirationDate: new Date(Date.now() + 86_400_000).toISOString() };
      const hangUp = abandon(background, body);
      await stuckAtTheTrap();
      hangUp();
      const user = await eventually(
        async () => (await background.call('GET', `/users/?username=${body.username}`)).body[0],
        (found) => typeof found?.expirationId === 'string',
      );
      const schedules = [...live.entries()].filter(([, userId]) => userId === user._id).map(([id]) => id);
      expect(schedules).toEqual([user.expirationId]);
    } finally {
      trap = 'none';
      await background.close();
    }
  });

  it('a real duplicate is still a 409, in the service own words', async () => {
    const body = newBody();
    expect((await service.call('POST', '/users/', body)).status).toBe(200);
    const again = await service.call('POST', '/users/', body);
    expect(again.status).toBe(409);
    expect(again.body.message).not.toMatch(/E11000|index:|dup key/);
  });
});
