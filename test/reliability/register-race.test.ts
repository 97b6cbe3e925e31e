import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import type { UserStore } from '../../src/ports/user-store.js';
import { countIdentities, seedGroups, startService, type TestService } from '../helpers/service.js';
import { FakeClock } from '../helpers/fake-clock.js';

/**
 * Two `POST /users/register` of one user at once (a client's retry on another replica): whatever
 * the interleaving, one 204 and one 409 in the service's words (USER_BUSY, or "is already
 * registered"), one identity, no intent left. Each interleaving is forced by a gate on one step
 * of one request; no sleeps. The identity provider's own words never reach the caller.
 */
let service: TestService;
let counter = 0;

/** A step held until the test opens it: `reached` once a request waits there. */
interface Gate {
  reached: Promise<void>;
  open: () => void;
}

function newGate(): Gate & { wait: () => Promise<void> } {
  let arrived!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { reached, open, wait: () => (arrived(), opened) };
}

/** The next read of this profile (a register's first read) waits at this gate after reading. */
const readGates = new Map<string, ReturnType<typeof newGate>>();
/** The next identity made with this e-mail waits at this gate before it is made. */
const identityGates = new Map<string, ReturnType<typeof newGate>>();
/** The next delete of this profile (a DELETE's, after its read under the user's lock) waits at this gate. */
const deleteGates = new Map<string, ReturnType<typeof newGate>>();

function gatedUsers(users: UserStore): UserStore {
  return {
    ...users,
    async get(id, options) {
      const read = await users.get(id, options);
      const gate = readGates.get(id);
      if (gate) {
        readGates.delete(id);
        await gate.wait();
      }
      return read;
    },
    async delete(id, options) {
      const gate = deleteGates.get(id);
      if (gate) {
        deleteGates.delete(id);
        await gate.wait();
      }
      return users.delete(id, options);
    },
  };
}

function gatedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async createUser(user) {
      const gate = user.email === undefined ? undefined : identityGates.get(user.email);
      if (gate) {
        identityGates.delete(user.email!);
        await gate.wait();
      }
      return identity.createUser(user);
    },
  };
}

beforeAll(async () => {
  service = await startService({
    env: { JOBS_LEASE_MS: '60000' },
    wrap: (deps) => ({ users: gatedUsers(deps.users), identity: gatedIdentity(deps.identity) }),
  });
  await seedGroups(service);
});
afterAll(() => service?.close());

/** A profile without identity (postponed), to register. */
async function postponed(): Promise<{ _id: string; email: string }> {
  counter += 1;
  const email = `race${counter}@example.com`;
  const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
    userGroup: 'customer',
    username: `race${counter}`,
    email,
    name: 'Race',
  });
  expect(created.status).toBe(200);
  return { _id: created.body._id, email };
}

const register = (id: string) => service.call('POST', '/users/register?sendResetPwdEmail=false', { _id: id, password: 'Race-pass-1' });

async function expectWholeAndUnlocked(id: string): Promise<string> {
  const stored = (await service.call('GET', `/users/${id}`)).body;
  expect(typeof stored.authUserId).toBe('string');
  expect(await service.deps.jobs.head(`user-creation:${id}`)).toBeUndefined();
  return stored.authUserId as string;
}

describe('two registers of one user at once', () => {
  it('the second read the profile before the first linked it, and goes on once the first answered: 409 already registered', async () => {
    const user = await postponed();
    const identities = countIdentities(service);
    const gate = newGate();
    readGates.set(user._id, gate);
    const late = register(user._id);
    await gate.reached;
    const first = await register(user._id);
    expect(first.status).toBe(204);
    gate.open();
    const second = await late;
    const authUserId = await expectWholeAndUnlocked(user._id);
    // Not the identity provider's words ("The user already exists.") after a second identity tried.
    expect(second.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(second.body.message).toBe(`user ${user._id} is already registered as ${authUserId}`);
    expect(countIdentities(service)).toBe(identities + 1);
  });

  it('the second comes while the first makes the identity: 409 USER_BUSY, then the first is a 204', async () => {
    const user = await postponed();
    const identities = countIdentities(service);
    const gate = newGate();
    identityGates.set(user.email, gate);
    const first = register(user._id);
    await gate.reached;
    const second = await register(user._id);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ statusCode: 409, message: `user ${user._id} is being changed by another request: try again` });
    gate.open();
    expect((await first).status).toBe(204);
    await expectWholeAndUnlocked(user._id);
    expect(countIdentities(service)).toBe(identities + 1);
  });
});

describe('a register whose username or e-mail an identity has already', () => {
  it('is a 409 in the service words, the profile left unregistered and unlocked', async () => {
    const user = await postponed();
    await service.deps.identity.createUser({ email: user.email, password: 'Other-pass-1', blocked: false });
    const identities = countIdentities(service);
    const refused = await register(user._id);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe(`user ${user._id} cannot be registered: an identity with its username or e-mail exists already`);
    expect((await service.call('GET', `/users/${user._id}`)).body.authUserId).toBeUndefined();
    expect(await service.deps.jobs.head(`user-creation:${user._id}`)).toBeUndefined();
    expect(countIdentities(service)).toBe(identities);
  });
});

describe('a register and a DELETE of one user at once', () => {
  it('the DELETE read the profile under the lock (no identity) and deletes it after: the register is a 409 USER_BUSY, no identity left', async () => {
    const user = await postponed();
    const identities = countIdentities(service);
    const gate = newGate();
    deleteGates.set(user._id, gate);
    const deleting = service.call('DELETE', `/users/${user._id}`);
    await gate.reached;
    const registered = await register(user._id);
    gate.open();
    expect((await deleting).status).toBe(204);
    // Linked after the DELETE's read, its identity would outlive the profile: one no profile points to.
    expect(registered.status).toBe(409);
    expect(registered.body).toMatchObject({
      message: `user ${user._id} is being changed by another request: try again`,
    });
    expect(countIdentities(service)).toBe(identities);
    expect(await service.deps.jobs.head(`user-creation:${user._id}`)).toBeUndefined();
    expect(await service.deps.jobs.head(`user-sync:${user._id}`)).toBeUndefined();
  });

  it('the DELETE comes while the register makes the identity: 409 USER_BUSY; its retry deletes both sides', async () => {
    const user = await postponed();
    const identities = countIdentities(service);
    const gate = newGate();
    identityGates.set(user.email, gate);
    const registering = register(user._id);
    await gate.reached;
    const deleted = await service.call('DELETE', `/users/${user._id}`);
    expect(deleted.status).toBe(409);
    expect(deleted.body.message).toBe(`user ${user._id} is being changed by another request: try again`);
    gate.open();
    expect((await registering).status).toBe(204);
    await expectWholeAndUnlocked(user._id);
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    expect(countIdentities(service)).toBe(identities);
  });
});

describe('a register whose hold of the user lapsed (its renewals lost) while a DELETE took the user', () => {
  // Its lock checked before each step: one that went on linked its identity under the DELETE that
  // had taken the user, whose delete of the profile read without identity then failed (409).
  const clock = new FakeClock();
  let partitioned = false;
  let lapsing: TestService;
  beforeAll(async () => {
    lapsing = await startService({
      clock,
      env: { JOBS_LEASE_MS: '1000' },
      wrap: (deps) => ({
        users: gatedUsers(deps.users),
        identity: gatedIdentity(deps.identity),
        jobs: {
          ...deps.jobs,
          // The user's lock alone loses its renewals: the registration's own intent keeps its lease.
          heartbeat: (jobId, owner, leaseMs, ...rest) =>
            partitioned && leaseMs > 0 && jobId.startsWith('user-sync:')
              ? Promise.resolve(false)
              : deps.jobs.heartbeat(jobId, owner, leaseMs, ...rest),
        },
      }),
    });
    await seedGroups(lapsing);
  });
  afterAll(() => lapsing?.close());

  it('stops before the link (409 USER_BUSY), its identity undone; the DELETE holding the user deletes it (204)', async () => {
    counter += 1;
    const email = `lapsed${counter}@example.com`;
    const body = { userGroup: 'customer', username: `lapsed${counter}`, email, name: 'L' };
    const id = (await lapsing.call('POST', '/users/?postponeAuthUserCreation=true', body)).body._id as string;
    const identities = countIdentities(lapsing);
    const made = newGate();
    identityGates.set(email, made);
    partitioned = true;
    const registering = lapsing.call('POST', '/users/register?sendResetPwdEmail=false', { _id: id, password: 'Race-pass-1' });
    await made.reached;
    await clock.advance(1500);
    partitioned = false;
    const deleteGate = newGate();
    deleteGates.set(id, deleteGate);
    const deleting = lapsing.call('DELETE', `/users/${id}`);
    await deleteGate.reached;
    made.open();
    const registered = await registering;
    deleteGate.open();
    expect((await deleting).status).toBe(204);
    expect(registered.status).toBe(409);
    expect(registered.body.message).toBe('this change lost its hold: the user is being changed by another request, try again');
    expect(countIdentities(lapsing)).toBe(identities);
    expect((await lapsing.call('GET', `/users/${id}`)).status).toBe(404);
  });
});
