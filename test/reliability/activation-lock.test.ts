import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import type { IdentityImporter } from '../../src/ports/identity-importer.js';
import type { UserStore } from '../../src/ports/user-store.js';
import { UpstreamError } from '../../src/errors.js';
import { eventuallyOn } from '../helpers/eventually.js';
import { FakeClock } from '../helpers/fake-clock.js';
import type { Deps } from '../../src/context.js';
import { CONNECTED_IDENTITY, countIdentities, seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * A bulk activation with `upsert` updates the identities of users that have one, from their
 * profiles: it must take the user's lock, as every other write of both sides does, or a PATCH or
 * soft delete landing between its read and its update is undone on the identity side only.
 * Every backend.
 */
let service: TestService;
let counter = 0;
/** Run once, at the next identity update (the activation's): another request racing it. */
let racing: (() => Promise<void>) | undefined;

/** Run once, as the next identity is created (a registration's, from the profile it read). */
let racingCreate: (() => Promise<void>) | undefined;

function racedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async createUser(user) {
      const race = racingCreate;
      racingCreate = undefined;
      if (race) await race();
      return identity.createUser(user);
    },
    async updateUser(id, changes) {
      const race = racing;
      racing = undefined;
      if (race) await race();
      return identity.updateUser(id, changes);
    },
  };
}

/** Run once, as the next import job starts (after the activation read its users): another request racing it. */
let racingImport: (() => Promise<void>) | undefined;
/**
 * The next profile write of this e-mail (or state change of this user) waits until the activation
 * has linked its identities and read them again.
 */
let heldPatch: { email?: string; userId?: string; linked: Promise<void>; link: () => void; waiting?: boolean } | undefined;
/** The held write, once the link is stored: released by the next read of users. */
let linkedAt: typeof heldPatch;
/** While set, a profile write of roles waits for it (a PATCH that read the profile, held before its write). */
let rolesWritten: Promise<void> | undefined;
/** Run once, before the next grant of roles reaches the binder (the activation's): another request racing it. */
let racingGrant: (() => Promise<void>) | undefined;
/** Job types whose next recording fails, as a job store refusing the connection would. */
const createFails = new Set<string>();

function racedDeps(deps: Deps): Partial<Deps> {
  const users: UserStore = {
    ...deps.users,
    async patch(id, update, options, scope) {
      if (rolesWritten && (update.$set as Record<string, unknown> | undefined)?.roles) await rolesWritten;
      const held = heldPatch;
      if (held?.email !== undefined && (update.$set as Record<string, unknown> | undefined)?.email === held.email) await held.linked;
      return deps.users.patch(id, update, options, scope);
    },
    async setState(id, stateTo, scope) {
      const held = heldPatch;
      if (held?.userId === id) {
        held.waiting = true;
        await held.linked;
      }
      return deps.users.setState(id, stateTo, scope);
    },
    async patchMany(updates, options, scope) {
      const modified = await deps.users.patchMany(updates, options, scope);
      if (heldPatch && updates.some(({ update }) => update.$set && 'authUserId' in update.$set)) linkedAt = heldPatch;
      return modified;
    },
    async find(filter, options) {
      const found = await deps.users.find(filter, options);
      // The activation's first read once linked has seen the profile as it was: the held write lands now.
      const held = linkedAt;
      linkedAt = undefined;
      held?.link();
      return found;
    },
  };
  const identityImports: IdentityImporter = {
    ...deps.identityImports,
    maxUsersPerJob: deps.identityImports.maxUsersPerJob,
    async startImport(sent, options) {
      const race = racingImport;
      racingImport = undefined;
      if (race) await race();
      return deps.identityImports.startImport(sent, options);
    },
  };
  // The binder is a class (its methods on the prototype): each one is passed on by name.
  const roles: Deps['roles'] = {
    revoke: (subject, scope) => deps.roles.revoke(subject, scope),
    permissionsOf: (ids, scope) => deps.roles.permissionsOf(ids, scope),
    async grant(subject, granted, scope) {
      const race = racingGrant;
      racingGrant = undefined;
      await race?.();
      return deps.roles.grant(subject, granted, scope);
    },
  };
  const jobs: Deps['jobs'] = {
    ...deps.jobs,
    async create(job) {
      if (createFails.delete(job.type)) throw new UpstreamError('CRUD', 'POST /jobs/', 0, { unreachable: true });
      return deps.jobs.create(job);
    },
  };
  return { identity: racedIdentity(deps.identity), identityImports, users, roles, jobs };
}

beforeAll(async () => {
  service = await startService({
    env: { JOBS_POLL_MS: '50', AUTH0_JOB_POLLING_INTERVAL: '20' },
    wrap: racedDeps,
    background: true,
  });
  await seedGroups(service);
});
afterAll(() => service.close());

/** A user with an identity that drifted from its profile (the reason to upsert): its username differs. */
async function drifted(): Promise<{ _id: string; authUserId: string }> {
  counter += 1;
  const body = { userGroup: 'customer', username: `act${counter}`, email: `act${counter}@example.com`, name: 'A' };
  const created = await service.call('POST', '/users/', body);
  expect(created.status).toBe(200);
  const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
  await service.deps.identity.updateUser(authUserId, { username: `drifted${counter}` });
  return { _id: created.body._id, authUserId };
}

async function activate(userId: string): Promise<Record<string, unknown>> {
  const started = await service.call('POST', '/jobs/bulk-activation', [{ filter: { userId } }]);
  expect(started.status).toBe(202);
  for (let tries = 0; tries < 400; tries += 1) {
    const job = await service.call('GET', `/jobs/bulk-activation/${started.body.jobId}`);
    if (job.body.status !== 'pending') return job.body;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the activation never ended');
}

/** Waits (5 ms steps, 2 s at most) until the held state change has read its user and waits at its write. */
async function moveHeld(): Promise<void> {
  for (let tries = 0; tries < 400 && !heldPatch?.waiting; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(heldPatch?.waiting).toBe(true);
}

/** The identity as the profile stored now says it should be. */
async function bothSides(user: { _id: string; authUserId: string }) {
  const profile = (await service.call('GET', `/users/${user._id}?_st=PUBLIC,DRAFT,TRASH,DELETED`)).body;
  const [identity] = await service.deps.identity.getUsers([user.authUserId]);
  return { profile, identity };
}

describe('a bulk activation upserting an existing identity', () => {
  it('never writes back an e-mail that a racing PATCH changed', async () => {
    const user = await drifted();
    let patched = 0;
    racing = async () => {
      patched = (await service.call('PATCH', `/users/${user._id}`, { email: `new${counter}@example.com` })).status;
    };
    await activate(user._id);
    expect(racing).toBeUndefined();
    // Either the PATCH waited for the activation (409 USER_BUSY) or went first; never half of each.
    expect([200, 409]).toContain(patched);
    const { profile, identity } = await bothSides(user);
    expect(identity?.email).toBe(profile.email);
    expect(identity?.username).toBe(profile.username);
  });

  it('never unblocks the identity of a user a racing PATCH blocked', async () => {
    const user = await drifted();
    let patched = 0;
    racing = async () => {
      patched = (await service.call('PATCH', `/users/${user._id}`, { blocked: true })).status;
    };
    await activate(user._id);
    expect(racing).toBeUndefined();
    expect([200, 409]).toContain(patched);
    const { profile, identity } = await bothSides(user);
    expect(identity?.blocked).toBe(profile.blocked === true);
  });

  // The DELETE takes the user's lock too (it raced a PATCH of the roles: bindings left without
  // identity): one sent while the activation updates the identity waits for it (409), then deletes both.
  it('makes a DELETE racing its update of the user a 409; the DELETE after it leaves neither side', async () => {
    const user = await drifted();
    let deleted = 0;
    racing = async () => {
      deleted = (await service.call('DELETE', `/users/${user._id}`)).status;
    };
    const job = await activate(user._id);
    expect(racing).toBeUndefined();
    expect(deleted).toBe(409);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, updated: 1, inserted: 0, total: 1 } });
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    const { profile, identity } = await bothSides(user);
    expect(profile.statusCode).toBe(404);
    expect(identity).toBeUndefined();
  });
});

describe('a bulk activation giving a profile its identity while a PATCH changes that profile', () => {
  /** A profile without identity, as `PATCH /users/import` leaves them. */
  async function bare(): Promise<string> {
    counter += 1;
    const body = { userGroup: 'customer', username: `bare${counter}`, email: `bare${counter}@example.com`, name: 'B' };
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', body);
    expect(created.status).toBe(200);
    return created.body._id;
  }

  it('the PATCH landing while the import job runs (before the link): the identity ends as the profile', async () => {
    const userId = await bare();
    let patched = 0;
    racingImport = async () => {
      patched = (await service.call('PATCH', `/users/${userId}`, { email: `moved${counter}@example.com`, blocked: true })).status;
    };
    const job = await activate(userId);
    expect(patched).toBe(200);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, total: 1 } });
    const { profile, identity } = await bothSides({
      _id: userId,
      authUserId: (await service.call('GET', `/users/${userId}`)).body.authUserId,
    });
    expect(identity).toMatchObject({ email: profile.email, blocked: true });
  });

  // The guarded path (a new expirationDate: the user's lock, for its schedule) looked at its write's answer no more than the plain one.
  it.each([
    ['', {}, false],
    [', with a new expirationDate,', { expirationDate: new Date(Date.now() + 86_400_000).toISOString() }, false],
    [', the job store failing to record the follow,', {}, true],
  ])(
    'the PATCH%s having read the profile before the link and written it after the activation read it again: the identity ends as the profile',
    async (_, extra, storeFails) => {
      const userId = await bare();
      if (storeFails) createFails.add('user-sync');
      const email = `late${counter}@example.com`;
      let link!: () => void;
      heldPatch = { email, linked: new Promise<void>((resolve) => (link = resolve)), link: () => link() };
      const patch = service.call('PATCH', `/users/${userId}`, { email, blocked: true, ...extra });
      const job = await activate(userId);
      expect((await patch).status).toBe(200);
      heldPatch = undefined;
      expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, total: 1 } });
      const { authUserId } = (await service.call('GET', `/users/${userId}`)).body;
      const { profile, identity } = await bothSides({ _id: userId, authUserId });
      expect(identity).toMatchObject({ email: profile.email, blocked: true });
      expect(createFails.size).toBe(0);
    },
  );

  it('the PATCH following unguarded (the job store failing) while a second PATCH changes the e-mail again: the identity ends as the profile', async () => {
    const userId = await bare();
    createFails.add('user-sync');
    const email = `first${counter}@example.com`;
    let link!: () => void;
    heldPatch = { email, linked: new Promise<void>((resolve) => (link = resolve)), link: () => link() };
    let second = 0;
    // The unguarded follow has read the identity: a second PATCH, guarded (the store back), goes through meanwhile.
    racing = async () => {
      second = (await service.call('PATCH', `/users/${userId}`, { email: `second${counter}@example.com` })).status;
    };
    const patch = service.call('PATCH', `/users/${userId}`, { email });
    const job = await activate(userId);
    expect((await patch).status).toBe(200);
    heldPatch = undefined;
    expect(racing).toBeUndefined();
    expect(second).toBe(200);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, total: 1 } });
    const { authUserId } = (await service.call('GET', `/users/${userId}`)).body;
    const { profile, identity } = await bothSides({ _id: userId, authUserId });
    expect(profile.email).toBe(`second${counter}@example.com`);
    expect(identity?.email).toBe(profile.email);
    expect(createFails.size).toBe(0);
  });

  it.each([
    ['', false],
    [', the job store failing to record the follow,', true],
  ])(
    'a POST /users/state%s having read the profile before the link and moved it after the activation read it again: the identity is blocked',
    async (_, storeFails) => {
      const userId = await bare();
      let link!: () => void;
      // The move holds the user's lock at its write: the recording that fails is its follow's, once the link is stored.
      const linked = () => (storeFails && createFails.add('user-sync'), link());
      heldPatch = { userId, linked: new Promise<void>((resolve) => (link = resolve)), link: linked };
      const moved = service.call('POST', '/users/state', [{ filter: { _id: userId }, stateTo: 'TRASH' }]);
      await moveHeld();
      const job = await activate(userId);
      expect(await moved).toMatchObject({ status: 200, body: 1 });
      heldPatch = undefined;
      expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, total: 1 } });
      const { authUserId } = (await service.call('GET', `/users/${userId}?_st=TRASH`)).body;
      const { profile, identity } = await bothSides({ _id: userId, authUserId });
      expect(profile.__STATE__).toBe('TRASH');
      expect(identity).toMatchObject({ blocked: true });
      expect(createFails.size).toBe(0);
    },
  );

  it('a POST /users/state following unguarded (the job store failing) while a second one moves the profile on: the identity ends as the profile', async () => {
    const userId = await bare();
    expect((await service.call('POST', '/users/state', [{ filter: { _id: userId }, stateTo: 'DRAFT' }])).body).toBe(1);
    let link!: () => void;
    // The move holds the user's lock at its write: the recording that fails is its follow's, once the link is stored.
    const linked = () => (createFails.add('user-sync'), link());
    heldPatch = { userId, linked: new Promise<void>((resolve) => (link = resolve)), link: linked };
    let second: unknown;
    // The unguarded follow unblocks the identity: a second move, guarded (the store back), goes through just before.
    racing = async () => {
      heldPatch = undefined;
      second = (await service.call('POST', '/users/state', [{ filter: { _id: userId }, stateTo: 'TRASH' }])).body;
    };
    const moved = service.call('POST', '/users/state', [{ filter: { _id: userId }, stateTo: 'PUBLIC' }]);
    await moveHeld();
    const job = await activate(userId);
    expect(await moved).toMatchObject({ status: 200, body: 1 });
    expect(racing).toBeUndefined();
    expect(second).toBe(1);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, total: 1 } });
    const { authUserId } = (await service.call('GET', `/users/${userId}?_st=TRASH`)).body;
    const { profile, identity } = await bothSides({ _id: userId, authUserId });
    expect(profile.__STATE__).toBe('TRASH');
    expect(identity).toMatchObject({ blocked: true });
    expect(createFails.size).toBe(0);
  });
});

describe('a bulk activation granting roles while a PATCH changes them', () => {
  /** A profile with roles and no identity, as `PATCH /users/import` leaves them. */
  async function withRoles(): Promise<string> {
    counter += 1;
    const body = { userGroup: 'customer', username: `rol${counter}`, email: `rol${counter}@example.com`, name: 'R', roles: ['reader'] };
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', body);
    expect(created.status).toBe(200);
    return created.body._id;
  }

  /** The roles the profile says, and those its identity is bound to. */
  async function rolesOnBothSides(userId: string) {
    const profile = (await service.call('GET', `/users/${userId}`)).body;
    expect(profile.authUserId).toEqual(expect.any(String));
    return { profile: profile.roles, bound: (await service.backend.rolesOf(profile.authUserId)).toSorted() };
  }

  it('the PATCH landing while the import job runs (before the link): the identity is bound to the new roles', async () => {
    const userId = await withRoles();
    let patched = 0;
    racingImport = async () => {
      patched = (await service.call('PATCH', `/users/${userId}`, { roles: ['writer'] })).status;
    };
    const job = await activate(userId);
    expect(patched).toBe(200);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, total: 1 } });
    expect(await rolesOnBothSides(userId)).toEqual({ profile: ['writer'], bound: ['writer'] });
  });

  it('the PATCH reading the linked profile and replacing its roles just before the activation grants the ones it read: no stale role stays bound', async () => {
    const userId = await withRoles();
    let patched = 0;
    racingGrant = async () => {
      patched = (await service.call('PATCH', `/users/${userId}`, { roles: ['writer'] })).status;
    };
    const job = await activate(userId);
    expect(racingGrant).toBeUndefined();
    expect(patched).toBe(200);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, total: 1 } });
    expect(await rolesOnBothSides(userId)).toEqual({ profile: ['writer'], bound: ['writer'] });
  });

  it.each([
    ['', false],
    [', the job store failing to record the follow,', true],
  ])(
    'the PATCH%s having read the profile before the link and written its roles once the activation ended: the identity is bound to them',
    async (_, storeFails) => {
      const userId = await withRoles();
      let release!: () => void;
      rolesWritten = new Promise<void>((resolve) => (release = resolve));
      const patch = service.call('PATCH', `/users/${userId}`, { roles: ['writer'] });
      const job = await activate(userId);
      if (storeFails) createFails.add('user-sync');
      release();
      rolesWritten = undefined;
      expect((await patch).status).toBe(200);
      expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, total: 1 } });
      expect(await rolesOnBothSides(userId)).toEqual({ profile: ['writer'], bound: ['writer'] });
      expect(createFails.size).toBe(0);
    },
  );
});

describe('a registration while a PATCH changes the profile', () => {
  it('the PATCH landing while the identity is made: the identity ends as the profile', async () => {
    counter += 1;
    const body = { userGroup: 'customer', username: `reg${counter}`, email: `reg${counter}@example.com`, name: 'R' };
    const userId = (await service.call('POST', '/users/?postponeAuthUserCreation=true', body)).body._id;
    let patched = 0;
    racingCreate = async () => {
      patched = (await service.call('PATCH', `/users/${userId}`, { email: `regmoved${counter}@example.com`, blocked: true })).status;
    };
    const registered = await service.call('POST', '/users/register?sendResetPwdEmail=false', { _id: userId, password: 'Register-pass-1' });
    expect(registered.status).toBe(204);
    expect(patched).toBe(200);
    const { authUserId } = (await service.call('GET', `/users/${userId}`)).body;
    const { profile, identity } = await bothSides({ _id: userId, authUserId });
    expect(identity).toMatchObject({ email: profile.email, blocked: true });
  });
});

describe('a bulk activation linking a profile that a DELETE read just before the link', () => {
  // The DELETE read the profile (no identity) under the user's lock and deleted it after the link,
  // which takes no lock: both answered done, and the identity the import made had no profile.
  /** The next delete of this profile waits until the activation has linked it (the DELETE, after its read under the lock). */
  let heldDelete: { userId: string; reached: () => void; go: Promise<void> } | undefined;
  /** Lets the held DELETE go and waits for its answer: run at the activation's link, once stored. */
  let letDelete: (() => Promise<void>) | undefined;
  let racy: TestService;
  beforeAll(async () => {
    racy = await startService({
      env: { JOBS_POLL_MS: '50', AUTH0_JOB_POLLING_INTERVAL: '20' },
      wrap: (deps) => ({
        users: {
          ...deps.users,
          async delete(id, options) {
            const held = heldDelete;
            if (held?.userId === id) {
              heldDelete = undefined;
              held.reached();
              await held.go;
            }
            return deps.users.delete(id, options);
          },
          async patchMany(updates, options, scope) {
            const modified = await deps.users.patchMany(updates, options, scope);
            const go = letDelete;
            letDelete = undefined;
            await go?.();
            return modified;
          },
        },
      }),
      background: true,
    });
    await seedGroups(racy);
  });
  afterAll(() => racy.close());

  it.each([
    ['', ''],
    [' (the DELETE with a _q of its own)', `?_q=${encodeURIComponent(JSON.stringify({ name: 'G' }))}`],
  ])('leaves no identity without profile: the DELETE is a 409 USER_BUSY, its retry deletes both sides%s', async (_name, query) => {
    counter += 1;
    const body = { userGroup: 'customer', username: `gone${counter}`, email: `gone${counter}@example.com`, name: 'G' };
    const userId = (await racy.call('POST', '/users/?postponeAuthUserCreation=true', body)).body._id as string;
    const identities = countIdentities(racy);
    let reached!: () => void;
    const deleteRead = new Promise<void>((resolve) => (reached = resolve));
    let go!: () => void;
    heldDelete = { userId, reached: () => reached(), go: new Promise<void>((resolve) => (go = resolve)) };
    const deleting = racy.call('DELETE', `/users/${userId}${query}`);
    await deleteRead;
    let deleted: { status: number; body: any } | undefined;
    letDelete = async () => {
      go();
      deleted = await deleting;
    };
    const started = await racy.call('POST', '/jobs/bulk-activation', [{ filter: { userId } }]);
    expect(started.status).toBe(202);
    let job: any;
    for (let tries = 0; tries < 400; tries += 1) {
      job = (await racy.call('GET', `/jobs/bulk-activation/${started.body.jobId}`)).body;
      if (job.status !== 'pending') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(letDelete).toBeUndefined();
    // Both answered done before: a profile deleted, and an identity it never named.
    expect(countIdentities(racy)).toBe(identities + 1);
    expect(deleted?.status).toBe(409);
    expect(deleted?.body.message).toBe(`user ${userId} is being changed by another request: try again`);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, inserted: 1, total: 1 } });
    expect((await racy.call('DELETE', `/users/${userId}${query}`)).status).toBe(204);
    expect(countIdentities(racy)).toBe(identities);
    expect((await racy.call('GET', `/users/${userId}`)).status).toBe(404);
  });
});

describe('a bulk activation chunk retried after an unexpected error', () => {
  const clock = new FakeClock();
  const eventually = eventuallyOn(clock);
  let flaky: TestService;
  /** Identity updates fail (a 500) while set: the activation's, then the reconciler's. */
  let updatesFail = false;
  beforeAll(async () => {
    flaky = await startService({
      clock,
      env: { JOBS_POLL_MS: '50', JOBS_LEASE_MS: '10000', AUTH0_JOB_POLLING_INTERVAL: '20' },
      wrap: (deps) => ({
        identity: {
          ...deps.identity,
          async updateUser(id, changes) {
            if (updatesFail) throw new UpstreamError('Auth0', 'PATCH /api/v2/users/:id', 500);
            return deps.identity.updateUser(id, changes);
          },
        },
      }),
      background: true,
    });
    await seedGroups(flaky);
  });
  afterAll(() => flaky.close());

  it('does not refuse with USER_BUSY the user its own first attempt left to the reconciler', async () => {
    const body = { userGroup: 'customer', username: 'flaky1', email: 'flaky1@example.com', name: 'F' };
    const created = await flaky.call('POST', '/users/', body);
    const { authUserId } = (await flaky.call('GET', `/users/${created.body._id}`)).body;
    await flaky.deps.identity.updateUser(authUserId, { username: 'drifted-flaky1' });
    updatesFail = true;
    const started = await flaky.call('POST', '/jobs/bulk-activation?upsert=true', [{ filter: { userId: created.body._id } }]);
    expect(started.status).toBe(202);
    // The first attempt fails at the identity, its user-sync intent goes to the reconciler (which
    // keeps failing and holds it between its tries); the job is tried again meanwhile.
    const job = await eventually(
      async () => (await flaky.call('GET', `/jobs/bulk-activation/${started.body.jobId}`)).body,
      (answer) => answer.status !== 'pending',
    );
    updatesFail = false;
    expect(job.failures).toEqual([]);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, updated: 1, total: 1 } });
    // The reconciler makes the identity follow the profile once the provider is back.
    const [identity] = await eventually(
      () => flaky.deps.identity.getUsers([authUserId]),
      ([found]) => found?.username === 'flaky1',
    );
    expect(identity?.username).toBe('flaky1');
  });
});

describe('a bulk activation whose follow-up cannot be recorded (the job store failing then)', () => {
  const clock = new FakeClock();
  const eventually = eventuallyOn(clock);
  let shaky: TestService;
  /** Job types whose next intent recording fails, as a job store refusing the connection would. */
  const createFails = new Set<string>();
  /** The next identity deletion fails (the identity provider down). */
  let deleteFails = false;
  /** Run once, as the next import job starts (the activation has read its users). */
  let racingStart: (() => Promise<void>) | undefined;
  /** Run once, before the next grant of roles reaches the binder. */
  let beforeGrant: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    shaky = await startService({
      clock,
      env: { JOBS_POLL_MS: '50', JOBS_LEASE_MS: '10000', AUTH0_JOB_POLLING_INTERVAL: '20' },
      wrap: (deps) => ({
        jobs: {
          ...deps.jobs,
          async create(job) {
            if (createFails.delete(job.type)) throw new UpstreamError('CRUD', 'POST /jobs/', 0, { unreachable: true });
            return deps.jobs.create(job);
          },
        },
        identity: {
          ...deps.identity,
          async deleteUser(id) {
            if (!deleteFails) return deps.identity.deleteUser(id);
            deleteFails = false;
            throw new UpstreamError('Auth0', 'DELETE /api/v2/users/:id', 0, { unreachable: true });
          },
        },
        roles: {
          revoke: (subject, scope) => deps.roles.revoke(subject, scope),
          permissionsOf: (ids, scope) => deps.roles.permissionsOf(ids, scope),
          async grant(subject, granted, scope) {
            const race = beforeGrant;
            beforeGrant = undefined;
            await race?.();
            return deps.roles.grant(subject, granted, scope);
          },
        },
        identityImports: {
          ...deps.identityImports,
          maxUsersPerJob: deps.identityImports.maxUsersPerJob,
          async startImport(sent, options) {
            const race = racingStart;
            racingStart = undefined;
            await race?.();
            return deps.identityImports.startImport(sent, options);
          },
        },
      }),
      background: true,
    });
    await seedGroups(shaky);
  });
  afterAll(() => shaky.close());

  async function bare(name: string): Promise<string> {
    const body = { userGroup: 'customer', username: name, email: `${name}@example.com`, name: 'S' };
    const created = await shaky.call('POST', '/users/?postponeAuthUserCreation=true', body);
    expect(created.status).toBe(200);
    return created.body._id;
  }

  async function activated(userId: string, query = '') {
    const started = await shaky.call('POST', `/jobs/bulk-activation${query}`, [{ filter: { userId } }]);
    expect(started.status).toBe(202);
    return eventually(
      async () => (await shaky.call('GET', `/jobs/bulk-activation/${started.body.jobId}`)).body,
      (answer) => answer.status !== 'pending',
    );
  }

  it('the identity of a profile deleted meanwhile, which could not be deleted nor left to the reconciler, is deleted all the same', async () => {
    const userId = await bare('shaky1');
    racingStart = async () => {
      expect((await shaky.call('DELETE', `/users/${userId}`)).status).toBe(204);
      deleteFails = true;
      createFails.add('user-deletion');
    };
    const job = await activated(userId);
    expect(racingStart).toBeUndefined();
    expect(createFails.size).toBe(0);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 1, inserted: 0, total: 1 } });
    expect(job.failures).toEqual([{ userId, errors: [{ code: 'USER_NOT_FOUND', message: `user ${userId} was deleted` }] }]);
    // No identity reachable by nobody is left under the profile's id.
    expect(await shaky.deps.identityImports.findImported([{ userId }])).toEqual([undefined]);
  });

  it('a profile changed meanwhile, whose identity could not follow it under a recorded intent, has its identity follow all the same', async () => {
    const userId = await bare('shaky2');
    racingStart = async () => {
      const patched = await shaky.call('PATCH', `/users/${userId}`, { email: 'shaky2-moved@example.com', blocked: true });
      expect(patched.status).toBe(200);
      createFails.add('user-sync');
    };
    const job = await activated(userId);
    expect(createFails.size).toBe(0);
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, inserted: 1, total: 1 } });
    const { authUserId } = (await shaky.call('GET', `/users/${userId}`)).body;
    const [identity] = await shaky.deps.identity.getUsers([authUserId]);
    expect(identity).toMatchObject({ email: 'shaky2-moved@example.com', blocked: true });
  });

  /** The matched case with the embedded provider only: the connected emulators find no identity an import matched by e-mail. */
  const heldCases: [string, boolean][] = [
    ['', false],
    [', for an identity that existed before (matched by e-mail, upsert), with no role the profile no longer has', true],
  ];
  it.each(heldCases.filter(([, existed]) => !existed || !CONNECTED_IDENTITY))(
    'a user whose roles changed during its grant, held by another write when the chunk checks them: the chunk is tried again once it is let go%s',
    async (_, existed) => {
      const name = existed ? 'shaky4' : 'shaky3';
      if (existed) await shaky.deps.identity.createUser({ email: `${name}@example.com`, password: 'Some-pass-123' });
      const body = { userGroup: 'customer', username: name, email: `${name}@example.com`, name: 'S', roles: ['reader'] };
      const userId = (await shaky.call('POST', '/users/?postponeAuthUserCreation=true', body)).body._id;
      beforeGrant = async () => {
        expect((await shaky.call('PATCH', `/users/${userId}`, { roles: ['writer'] })).status).toBe(200);
        // Another replica's write takes the user now, for a few seconds (its lease then lapses and the reconciler ends it).
        const { authUserId } = (await shaky.call('GET', `/users/${userId}`)).body;
        const payload = { userId, authUserId };
        await shaky.deps.jobs.create({ type: 'user-sync', jobId: `user-sync:${userId}`, payload, owner: 'other-replica', leaseMs: 3000 });
      };
      const job = await activated(userId, existed ? '?upsert=true' : '');
      expect(beforeGrant).toBeUndefined();
      const summary = existed ? { failed: 0, updated: 1, total: 1 } : { failed: 0, inserted: 1, total: 1 };
      expect(job).toMatchObject({ status: 'completed', summary });
      const { authUserId, roles } = (await shaky.call('GET', `/users/${userId}`)).body;
      expect(roles).toEqual(['writer']);
      // The first run granted reader after the PATCH's revoke; the retry replaces the bindings.
      expect((await shaky.backend.rolesOf(authUserId)).toSorted()).toEqual(['writer']);
    },
  );
});
