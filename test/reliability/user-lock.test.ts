import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import { recordingScheduler } from '../helpers/live-schedules.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { UserStore } from '../../src/ports/user-store.js';
import { UpstreamError } from '../../src/errors.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';
import { FakeClock } from '../helpers/fake-clock.js';

/**
 * The user-sync intent is also the user's lock (409 USER_BUSY): a client that retries a failed
 * write must not find its user locked by that failure; and what the intents cost in job-store
 * calls. No background work: nothing but the requests touches the intents.
 */
let identityDown = false;
let service: TestService;
let counter = 0;
/** Job-store calls by method, since the last reset. */
const calls = new Map<string, number>();
/** Identity changes held until their gate opens (a request stuck at that step), by authUserId. */
const gates = new Map<string, Promise<void>>();
const held = new Set<string>();
/** Runs once an intent is discarded (another request that takes the user at that moment). */
let afterDiscard: ((jobId: string) => Promise<void>) | undefined;
/** The next job created is stored, but its answer is lost (a cut connection to the job store). */
let loseCreateAnswer = false;
/** Runs once, before the next job is created (another request that finishes between a read and the lock). */
let beforeCreate: (() => Promise<void>) | undefined;

function trappedIdentity(identity: IdentityProvider): IdentityProvider {
  const down = () => new UpstreamError('Auth0', 'users', 0, { unreachable: true });
  return {
    ...identity,
    async updateUser(id, changes) {
      if (identityDown) throw down();
      const gate = gates.get(id);
      if (gate) {
        gates.delete(id);
        held.add(id);
        await gate;
        held.delete(id);
      }
      return identity.updateUser(id, changes);
    },
    async getUsers(ids) {
      if (identityDown) throw down();
      return identity.getUsers(ids);
    },
  };
}

/** A state write of that user held until its gate opens (a move stuck between its read and its write), by _id. */
const stateGates = new Map<string, Promise<void>>();
const heldStates = new Set<string>();

function gatedStates(users: UserStore): UserStore {
  return {
    ...users,
    async setState(id, stateTo, scope) {
      const gate = stateGates.get(id);
      if (gate) {
        stateGates.delete(id);
        heldStates.add(id);
        await gate;
        heldStates.delete(id);
      }
      return users.setState(id, stateTo, scope);
    },
  };
}

function countedJobs(jobs: JobStore): JobStore {
  const counted = {} as Record<string, unknown>;
  for (const method of ['create', 'get', 'head', 'list', 'claim', 'claimNext', 'heartbeat', 'finish', 'discard', 'deleteEnded'] as const) {
    counted[method] = async (...args: unknown[]) => {
      if (method === 'create' && beforeCreate) {
        const before = beforeCreate;
        beforeCreate = undefined;
        await before();
      }
      calls.set(method, (calls.get(method) ?? 0) + 1);
      const answer = (jobs[method] as (...a: unknown[]) => Promise<unknown>).apply(jobs, args);
      if (method === 'create' && loseCreateAnswer) {
        loseCreateAnswer = false;
        return answer.then(() => Promise.reject(new UpstreamError('CRUD', 'POST /jobs/', 0, { unreachable: true })));
      }
      return method === 'discard' && afterDiscard ? answer.then(async (done) => (await afterDiscard!(args[0] as string), done)) : answer;
    };
  }
  return counted as unknown as JobStore;
}

/** Schedules made and not aborted: schedule id -> user id. */
const live = new Map<string, string>();

const jobCalls = () => [...calls.values()].reduce((sum, count) => sum + count, 0);

beforeAll(async () => {
  service = await startService({
    env: { JOBS_LEASE_MS: '60000' },
    wrap: (deps) => ({
      identity: trappedIdentity(deps.identity),
      jobs: countedJobs(deps.jobs),
      users: gatedStates(deps.users),
      scheduler: recordingScheduler(deps.scheduler, live),
    }),
  });
  await seedGroups(service);
});
beforeEach(() => {
  identityDown = false;
  afterDiscard = undefined;
  beforeCreate = undefined;
  calls.clear();
});
afterAll(() => service.close());

async function newUser(extra: Record<string, unknown> = {}): Promise<{ _id: string; email: string; authUserId: string }> {
  counter += 1;
  const email = `lock${counter}@example.com`;
  const body = { userGroup: 'customer', username: `lock${counter}`, email, name: 'L', ...extra };
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', body);
  expect(created.status).toBe(200);
  const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
  calls.clear();
  return { _id: created.body._id, email, authUserId };
}

describe('a write that failed with its upstream down', () => {
  it('leaves the user free: once the upstream is back, the retry is a 200, not a 409 for JOBS_LEASE_MS', async () => {
    const user = await newUser();
    identityDown = true;
    expect((await service.call('PATCH', `/users/${user._id}`, { email: `a-${user.email}` })).status).toBe(503);
    // The retry finds the intent the failure left; the upstream is still down, so its repair fails.
    expect((await service.call('PATCH', `/users/${user._id}`, { email: `a-${user.email}` })).status).toBe(503);
    identityDown = false;
    const retried = await service.call('PATCH', `/users/${user._id}`, { email: `a-${user.email}` });
    expect(retried.body).toMatchObject({ email: `a-${user.email}` });
    expect(retried.status).toBe(200);
  });
});

describe('a write that failed with its upstream down, retried at the same instant', () => {
  // A clock that does not move: the retry comes in the very millisecond the failed repair gave the
  // intent's lease back (a lease ending now is still held for that millisecond).
  let frozen: TestService;
  beforeAll(async () => {
    frozen = await startService({ clock: new FakeClock(), wrap: (deps) => ({ identity: trappedIdentity(deps.identity) }) });
    await seedGroups(frozen);
  });
  afterAll(() => frozen.close());

  it('leaves the user free: the retry once the upstream is back is a 200, not a 409', async () => {
    const body = { userGroup: 'customer', username: 'frozen1', email: 'frozen1@example.com', name: 'F' };
    const created = await frozen.call('POST', '/users/?sendResetPwdEmail=false', body);
    expect(created.status).toBe(200);
    identityDown = true;
    expect((await frozen.call('PATCH', `/users/${created.body._id}`, { email: 'f2@example.com' })).status).toBe(503);
    expect((await frozen.call('PATCH', `/users/${created.body._id}`, { email: 'f2@example.com' })).status).toBe(503);
    identityDown = false;
    const retried = await frozen.call('PATCH', `/users/${created.body._id}`, { email: 'f2@example.com' });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ email: 'f2@example.com' });
  });
});

describe('a write whose intent was stored but whose answer was lost', () => {
  it('leaves the user free: the retry at once is a 200, not a 409 for JOBS_LEASE_MS', async () => {
    const user = await newUser();
    loseCreateAnswer = true;
    expect((await service.call('PATCH', `/users/${user._id}`, { email: `l-${user.email}` })).status).toBe(503);
    const retried = await service.call('PATCH', `/users/${user._id}`, { email: `l-${user.email}` });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ email: `l-${user.email}` });
  });
});

/** Waits (25 ms steps, 5 s at most) until `done`. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 5000; waited += 25) await new Promise((resolve) => setTimeout(resolve, 25));
}

describe('a write that finishes a stale intent while another request takes the user', () => {
  it('is a 409 USER_BUSY in the service words, not the job store error', async () => {
    const user = await newUser();
    identityDown = true;
    expect((await service.call('PATCH', `/users/${user._id}`, { email: `s-${user.email}` })).status).toBe(503);
    identityDown = false;
    // The stale intent is repaired and discarded; another request takes the user at that moment.
    afterDiscard = async (jobId) => {
      afterDiscard = undefined;
      await service.deps.jobs.create({ type: 'user-sync', payload: { userId: user._id }, jobId, owner: 'other', leaseMs: 60_000 });
    };
    const res = await service.call('PATCH', `/users/${user._id}`, { email: `s-${user.email}` });
    expect(res.status).toBe(409);
    expect(res.body.message).toBe(`user ${user._id} is being changed by another request: try again`);
  });
});

describe('a user whose lock is an intent that ended (another release wrote it)', () => {
  /** An intent of that id recorded and ended by another process, as a release that fails its intents would leave it. */
  async function ended(jobId: string, type: string, status: 'failed' | 'completed', userId: string): Promise<void> {
    await service.deps.jobs.create({ type, jobId, payload: { userId }, owner: 'older-release', leaseMs: 60_000 });
    expect(await service.deps.jobs.finish(jobId, 'older-release', { status, result: { error: 'gave up' } })).toBe(true);
  }

  it('a PATCH of a user whose user-sync intent ended failed is a 200, not a 409 until the retention sweep', async () => {
    const user = await newUser();
    await ended(`user-sync:${user._id}`, 'user-sync', 'failed', user._id);
    const res = await service.call('PATCH', `/users/${user._id}`, { email: `f-${user.email}` });
    expect(res.body).toMatchObject({ email: `f-${user.email}` });
    expect(res.status).toBe(200);
    expect(await service.deps.jobs.head(`user-sync:${user._id}`)).toBeUndefined();
  });

  it('a DELETE of a user whose user-sync intent ended completed is a 204', async () => {
    const user = await newUser();
    await ended(`user-sync:${user._id}`, 'user-sync', 'completed', user._id);
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
  });

  it('a registration of a user whose user-creation intent ended failed is a 204, the user linked and free', async () => {
    counter += 1;
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: `lock${counter}`,
      email: `lock${counter}@example.com`,
      name: 'L',
    });
    const id = created.body._id as string;
    await ended(`user-creation:${id}`, 'user-creation', 'failed', id);
    const res = await service.call('POST', '/users/register?sendResetPwdEmail=false', { _id: id, password: 'Lock-pass-1' });
    expect(res.status).toBe(204);
    expect(typeof (await service.call('GET', `/users/${id}`)).body.authUserId).toBe('string');
    expect(await service.deps.jobs.head(`user-creation:${id}`)).toBeUndefined();
  });

  it('a live holder stays the only one: a second write while the first holds the freed lock is a 409', async () => {
    const user = await newUser();
    await ended(`user-sync:${user._id}`, 'user-sync', 'failed', user._id);
    gates.set(user.authUserId, new Promise<void>((resolve) => (release = resolve)));
    const first = service.call('PATCH', `/users/${user._id}`, { email: `g-${user.email}` });
    await until(() => held.has(user.authUserId));
    const second = await service.call('PATCH', `/users/${user._id}`, { email: `h-${user.email}` });
    expect(second.status).toBe(409);
    expect(second.body.message).toBe(`user ${user._id} is being changed by another request: try again`);
    release();
    expect((await first).status).toBe(200);
    expect((await service.call('GET', `/users/${user._id}`)).body.email).toBe(`g-${user.email}`);
  });
});

let release: () => void = () => undefined;

describe('a write whose lease lapsed (its renewals lost) while another request of the same replica took the user', () => {
  // Intents were owned by the replica: the first write, going on after its lease lapsed, closed the
  // intent the second had opened meanwhile, and a third write took the user while the second held it.
  const clock = new FakeClock();
  let partitioned = false;
  let shared: TestService;
  beforeAll(async () => {
    shared = await startService({
      clock,
      env: { JOBS_LEASE_MS: '1000' },
      wrap: (deps) => ({
        identity: trappedIdentity(deps.identity),
        jobs: {
          ...deps.jobs,
          heartbeat: (jobId, owner, leaseMs, ...rest) =>
            partitioned && leaseMs > 0 ? Promise.resolve(false) : deps.jobs.heartbeat(jobId, owner, leaseMs, ...rest),
        },
      }),
    });
    await seedGroups(shared);
  });
  afterAll(() => shared.close());

  /** Holds the next identity change of `authUserId`; resolves once a request waits there. */
  async function heldAt(authUserId: string, send: () => Promise<unknown>): Promise<{ answer: Promise<unknown>; open: () => void }> {
    let open!: () => void;
    gates.set(authUserId, new Promise<void>((resolve) => (open = resolve)));
    const answer = send();
    // The gate is taken off once a request waits at it.
    await until(() => !gates.has(authUserId));
    return { answer, open };
  }

  it('keeps the second write its lock: a third is a 409 until the second ends', async () => {
    const body = { userGroup: 'customer', username: 'owned1', email: 'owned1@example.com', name: 'O' };
    const id = (await shared.call('POST', '/users/?sendResetPwdEmail=false', body)).body._id as string;
    const { authUserId } = (await shared.call('GET', `/users/${id}`)).body;
    partitioned = true;
    const first = await heldAt(authUserId, () => shared.call('PATCH', `/users/${id}`, { email: 'owned1-a@example.com' }));
    await clock.advance(1500);
    partitioned = false;
    // The first one's lease has lapsed: the second finishes its intent and takes the user.
    const second = await heldAt(authUserId, () => shared.call('PATCH', `/users/${id}`, { email: 'owned1-b@example.com' }));
    try {
      first.open();
      // Its lease may have lapsed: it stops before its profile write (409), leaving the user to the second.
      expect(((await first.answer) as { status: number }).status).toBe(409);
      expect(await shared.deps.jobs.get(`user-sync:${id}`)).toBeDefined();
      const third = await shared.call('PATCH', `/users/${id}`, { email: 'owned1-c@example.com' });
      expect(third.status).toBe(409);
    } finally {
      second.open();
    }
    expect(((await second.answer) as { status: number }).status).toBe(200);
    const stored = (await shared.call('GET', `/users/${id}`)).body;
    expect(stored.email).toBe('owned1-b@example.com');
    expect((await shared.deps.identity.getUsers([authUserId]))[0]?.email).toBe(stored.email);
  });
});

describe('a bulk state change that meets a user being changed', () => {
  it('answers only once every user it started to move is moved: nothing moves after the answer', async () => {
    const [busy, slow] = [await newUser(), await newUser()];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    gates.set(busy.authUserId, gate);
    const patch = service.call('PATCH', `/users/${busy._id}`, { email: `busy-${busy.email}` });
    await until(() => held.has(busy.authUserId));
    gates.set(slow.authUserId, gate);
    // One filter for both (`_id` itself takes an id only: the CRUD's body schema types it).
    const body = [{ filter: { $or: [{ _id: busy._id }, { _id: slow._id }] }, stateTo: 'TRASH' }];
    const answer = service.call('POST', '/users/state', body).then((res) => ({ res }));
    // The slow user's block is held until the answer comes, or 150 ms at most.
    await until(() => held.has(slow.authUserId));
    const opened = setTimeout(release, 150);
    const { res } = await answer;
    const atAnswer = (await service.call('GET', `/users/${slow._id}`)).body.__STATE__;
    release();
    clearTimeout(opened);
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/being changed/);
    expect(atAnswer).toBe('TRASH');
    expect((await patch).status).toBe(200);
  });
});

describe('two bulk state changes of one user at once', () => {
  // The move read the user before its lock: a DRAFT user moved to TRASH (no identity step, no lock)
  // whose write came after a move to PUBLIC had unblocked the identity left it TRASH and unblocked.
  it('leave its identity blocked as its final state says: the later one acts on the user as read under the lock', async () => {
    const user = await newUser();
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }])).status).toBe(200);
    let release!: () => void;
    stateGates.set(user._id, new Promise<void>((resolve) => (release = resolve)));
    const toTrash = service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    await until(() => heldStates.has(user._id));
    let toPublic;
    try {
      toPublic = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'PUBLIC' }]);
    } finally {
      release();
    }
    const trashed = await toTrash;
    expect([200, 409]).toContain(toPublic.status);
    expect(trashed.status).toBe(200);
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    const [identity] = await service.deps.identity.getUsers([user.authUserId]);
    expect({ state: stored.__STATE__, blocked: identity?.blocked }).toEqual({ state: 'TRASH', blocked: true });
  });
});

describe('a bulk state change whose user another request moves between its read and its lock', () => {
  it('moves and counts it only if it is still in a state the change moves from (DRAFT to PUBLIC, found TRASH)', async () => {
    const user = await newUser();
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }])).status).toBe(200);
    beforeCreate = async () => {
      const trashed = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
      expect([trashed.status, trashed.body]).toEqual([200, 1]);
    };
    const toPublic = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'PUBLIC' }]);
    expect([toPublic.status, toPublic.body]).toEqual([200, 0]);
    const stored = (await service.call('GET', `/users/${user._id}?_st=TRASH`)).body;
    const [identity] = await service.deps.identity.getUsers([user.authUserId]);
    expect({ state: stored.__STATE__, blocked: identity?.blocked }).toEqual({ state: 'TRASH', blocked: true });
    // Its lock went with it: the next move of the user is not a 409.
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }])).body).toBe(1);
  });

  it('is a 409 (USER_BUSY) when the user was moved into DELETED meanwhile (PUBLIC to TRASH, found DELETED)', async () => {
    const user = await newUser();
    beforeCreate = async () => {
      expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    };
    const toTrash = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    expect([toTrash.status, toTrash.body]).toEqual([
      409,
      { statusCode: 409, error: 'Conflict', message: `user ${user._id} is being changed by another request: try again` },
    ]);
    expect((await service.call('GET', `/users/${user._id}?_st=DELETED`)).body.__STATE__).toBe('DELETED');
    // The lock went with the answer: the client's retry moves it out of DELETED.
    const retried = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    expect([retried.status, retried.body]).toEqual([200, 1]);
  });
});

describe('a DELETE or a soft delete whose user another request changes between its read and its lock', () => {
  it('a DELETE acts on the user read under the lock: a new expirationDate written meanwhile leaves no live schedule', async () => {
    const user = await newUser({ expirationDate: new Date(Date.now() + 86_400_000).toISOString() });
    beforeCreate = async () => {
      const expirationDate = new Date(Date.now() + 2 * 86_400_000).toISOString();
      expect((await service.call('PATCH', `/users/${user._id}`, { expirationDate })).status).toBe(200);
    };
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    expect([...live.values()].filter((owner) => owner === user._id)).toEqual([]);
  });

  it('a DELETE of a user whose identity is gone, its lock left stale by a failed write, is a 204', async () => {
    const user = await newUser();
    identityDown = true;
    expect((await service.call('PATCH', `/users/${user._id}`, { email: `g-${user.email}` })).status).toBe(503);
    identityDown = false;
    await service.deps.identity.deleteUser(user.authUserId);
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}?_st=PUBLIC,DRAFT,TRASH,DELETED`)).status).toBe(404);
    expect(await service.deps.jobs.get(`user-sync:${user._id}`)).toBeUndefined();
  });

  it('a soft delete aborts the schedule of the user read under the lock: a new expirationDate written meanwhile is not left live', async () => {
    const user = await newUser({ expirationDate: new Date(Date.now() + 86_400_000).toISOString() });
    beforeCreate = async () => {
      const expirationDate = new Date(Date.now() + 2 * 86_400_000).toISOString();
      expect((await service.call('PATCH', `/users/${user._id}`, { expirationDate })).status).toBe(200);
    };
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}?_st=DELETED`)).body.__STATE__).toBe('DELETED');
    expect([...live.values()].filter((owner) => owner === user._id)).toEqual([]);
  });

  it('a soft delete finding its user moved (PUBLIC, found DRAFT) is a 409 that moves nothing; its retry deletes it', async () => {
    const user = await newUser();
    beforeCreate = async () => {
      const drafted = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }]);
      expect([drafted.status, drafted.body]).toEqual([200, 1]);
    };
    const softDeleted = await service.call('POST', `/users/${user._id}/soft-delete`);
    expect([softDeleted.status, softDeleted.body.message]).toEqual([
      409,
      `user ${user._id} is being changed by another request: try again`,
    ]);
    expect((await service.call('GET', `/users/${user._id}?_st=DRAFT`)).body.__STATE__).toBe('DRAFT');
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}?_st=DELETED`)).body.__STATE__).toBe('DELETED');
  });
});

/** A user without identity (its identity postponed), PUBLIC. */
async function profileOnlyUser(extra: Record<string, unknown> = {}): Promise<{ _id: string }> {
  counter += 1;
  const body = { userGroup: 'customer', name: 'P', email: `alone${counter}@example.com`, ...extra };
  const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', body);
  expect(created.status).toBe(200);
  calls.clear();
  return { _id: created.body._id };
}

/** Holds the next state write of `userId` until the answer of `meanwhile` has come; answers both. */
async function heldMove<T>(userId: string, move: () => Promise<T>, meanwhile: () => Promise<T>): Promise<[T, T]> {
  let release!: () => void;
  stateGates.set(userId, new Promise<void>((resolve) => (release = resolve)));
  const moving = move();
  await until(() => heldStates.has(userId));
  let other: T;
  try {
    other = await meanwhile();
  } finally {
    release();
  }
  return [await moving, other];
}

describe('a user without identity changed by two requests at once', () => {
  // Its DELETE and its state changes took no lock: they acted on the profile read first.
  it('a DELETE acts on the user read under the lock: a new expirationDate written meanwhile leaves no live schedule', async () => {
    const user = await profileOnlyUser({ expirationDate: new Date(Date.now() + 86_400_000).toISOString() });
    beforeCreate = async () => {
      const expirationDate = new Date(Date.now() + 2 * 86_400_000).toISOString();
      expect((await service.call('PATCH', `/users/${user._id}`, { expirationDate })).status).toBe(200);
    };
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    expect([...live.values()].filter((owner) => owner === user._id)).toEqual([]);
  });

  it('a DELETE coming while a bulk state change moves it is a 409; the change moves and counts it', async () => {
    const user = await profileOnlyUser();
    const [moved, deleted] = await heldMove(
      user._id,
      () => service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]),
      () => service.call('DELETE', `/users/${user._id}`),
    );
    expect([moved.status, moved.body]).toEqual([200, 1]);
    expect([deleted.status, deleted.body.message]).toEqual([409, `user ${user._id} is being changed by another request: try again`]);
    expect((await service.call('GET', `/users/${user._id}?_st=TRASH`)).body.__STATE__).toBe('TRASH');
    // The lock went with the move: the client's retry deletes it.
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
  });

  it('two bulk state changes at once: the later is a 409, never the refused transition of a user moved under it', async () => {
    const user = await profileOnlyUser();
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }])).status).toBe(200);
    const [toPublic, toTrash] = await heldMove(
      user._id,
      () => service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'PUBLIC' }]),
      () => service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]),
    );
    expect([toPublic.status, toPublic.body]).toEqual([200, 1]);
    expect(toTrash.status).toBe(409);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('PUBLIC');
  });
});

describe('what the intents cost in job-store calls', () => {
  it('a PATCH of profile fields only: none; of the e-mail: create and discard', async () => {
    const user = await newUser();
    expect((await service.call('PATCH', `/users/${user._id}`, { name: 'M' })).status).toBe(200);
    expect(jobCalls()).toBe(0);
    expect((await service.call('PATCH', `/users/${user._id}`, { email: `m-${user.email}` })).status).toBe(200);
    expect(Object.fromEntries(calls)).toEqual({ create: 1, discard: 1 });
  });

  it('a PATCH with a new expirationDate: create, a heartbeat saving the schedule, discard', async () => {
    const user = await newUser();
    const expirationDate = new Date(Date.now() + 86_400_000).toISOString();
    expect((await service.call('PATCH', `/users/${user._id}`, { expirationDate })).status).toBe(200);
    expect(Object.fromEntries(calls)).toEqual({ create: 1, heartbeat: 1, discard: 1 });
  });

  it('a state change of a linked user: create and discard per user, whether it blocks or not (DRAFT to TRASH)', async () => {
    const user = await newUser();
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }])).status).toBe(200);
    expect(Object.fromEntries(calls)).toEqual({ create: 1, discard: 1 });
    calls.clear();
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }])).status).toBe(200);
    expect(Object.fromEntries(calls)).toEqual({ create: 1, discard: 1 });
  });

  it('a DELETE of a user with neither identity nor schedule (one step, nothing to finish): create and discard of its lock', async () => {
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      name: 'P',
      email: `postponed${++counter}@example.com`,
    });
    expect(created.status).toBe(200);
    calls.clear();
    expect((await service.call('DELETE', `/users/${created.body._id}`)).status).toBe(204);
    expect(Object.fromEntries(calls)).toEqual({ create: 1, discard: 1 });
  });

  it('a DELETE of a user with an identity: create and discard, of the user-sync lock and of the deletion', async () => {
    const user = await newUser();
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    expect(Object.fromEntries(calls)).toEqual({ create: 2, discard: 2 });
  });
});
