import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Faults, withFaults } from './helpers/faults.js';
import { countIdentities, countProfiles, seedGroups, startService, type TestService } from './helpers/service.js';

let service: TestService;
const storeFaults: Faults = new Map();
const identityFaults: Faults = new Map();
const schedulerFaults: Faults = new Map();
let counter = 0;

beforeAll(async () => {
  service = await startService({
    wrap: (deps) => ({
      users: withFaults(deps.users, 'CRUD', storeFaults),
      identity: withFaults(deps.identity, 'Auth', identityFaults),
      scheduler: withFaults(deps.scheduler, 'Timer', schedulerFaults),
    }),
  });
  await seedGroups(service);
});
beforeEach(() => {
  storeFaults.clear();
  identityFaults.clear();
  schedulerFaults.clear();
});
afterAll(() => service.close());

async function newUser() {
  counter += 1;
  const res = await service.call('POST', '/users/', {
    userGroup: 'customer',
    username: `s${counter}`,
    email: `s${counter}@example.com`,
    name: 'S',
  });
  return (await service.call('GET', `/users/${res.body._id}`)).body;
}

describe('user creation is all or nothing', () => {
  it.each([
    ['the identity user cannot be created', identityFaults, 'createUser'],
    ['authUserId cannot be stored on the profile', storeFaults, 'patch'],
  ])('leaves nothing behind when %s', async (_case, faults, method) => {
    const users = await countProfiles(service);
    const identities = countIdentities(service);
    faults.set(method, 1);
    const res = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: `rollback-${method}`,
      email: `rollback-${method}@example.com`,
      name: 'R',
    });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: expect.stringMatching(/^Error while creating user: (Auth createUser|CRUD patch) responded with a 500 status code$/),
    });
    expect(await countProfiles(service)).toBe(users);
    expect(countIdentities(service)).toBe(identities);
    expect(
      (
        await service.call('POST', '/users/', {
          userGroup: 'customer',
          username: `rollback-${method}`,
          email: `rollback-${method}@example.com`,
          name: 'R',
        })
      ).status,
    ).toBe(200);
  });

  // The undo of the profile is conditional (only one unlinked or linked to the identity this request
  // made): a failure after the link must still remove the profile, not leave it pointing to the
  // identity the same undo deleted.
  it('leaves nothing behind when the expiration cannot be scheduled (the identity made and linked)', async () => {
    const users = await countProfiles(service);
    const identities = countIdentities(service);
    schedulerFaults.set('schedule', 1);
    const body = {
      userGroup: 'customer',
      username: 'rollback-schedule',
      email: 'rollback-schedule@example.com',
      name: 'R',
      expirationDate: new Date(Date.now() + 86_400_000).toISOString(),
    };
    expect((await service.call('POST', '/users/', body)).status).toBe(500);
    expect(await countProfiles(service)).toBe(users);
    expect(countIdentities(service)).toBe(identities);
    expect((await service.call('POST', '/users/', body)).status).toBe(200);
  });

  it('leaves nothing behind when the profile cannot be written', async () => {
    const identities = countIdentities(service);
    storeFaults.set('insert', 1);
    expect(
      (await service.call('POST', '/users/', { userGroup: 'customer', username: 'rollback-2', email: 'rollback-2@example.com', name: 'R' }))
        .status,
    ).toBe(500);
    expect(countIdentities(service)).toBe(identities);
  });
});

describe('register, update and delete undo their earlier steps', () => {
  it('register removes the new identity user when the profile cannot be linked', async () => {
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'reg-fail',
      email: 'reg-fail@example.com',
      name: 'R',
    });
    const identities = countIdentities(service);
    storeFaults.set('patch', 1);
    expect((await service.call('POST', '/users/register', { _id: created.body._id })).status).toBe(500);
    expect(countIdentities(service)).toBe(identities);
    expect((await service.call('POST', '/users/register', { _id: created.body._id })).status).toBe(204);
  });

  it('update puts the identity user back when the profile write fails', async () => {
    const user = await newUser();
    storeFaults.set('patch', 1);
    const res = await service.call('PATCH', `/users/${user._id}`, {
      $set: { username: 'changed', email: 'changed@example.com', blocked: true },
    });
    expect(res.status).toBe(500);
    expect(res.body.message).toBe('Error while updating user: CRUD patch responded with a 500 status code');
    const [identity] = await service.deps.identity.getUsers([user.authUserId]);
    expect(identity).toMatchObject({ username: user.username, blocked: false });
  });

  it('delete restores the profile when the identity user cannot be deleted', async () => {
    const user = await newUser();
    identityFaults.set('deleteUser', 1);
    const res = await service.call('DELETE', `/users/${user._id}`);
    expect(res.status).toBe(500);
    expect(res.body.message).toBe('Error while deleting user: Auth deleteUser responded with a 500 status code');
    expect((await service.call('GET', `/users/${user._id}`)).body).toMatchObject({
      _id: user._id,
      authUserId: user.authUserId,
      __STATE__: 'PUBLIC',
    });
  });
});

describe('soft delete resumes after a failure', () => {
  it('stops in a consistent TRASH state and finishes on the next call', async () => {
    const user = await newUser();
    storeFaults.set('setState', 2); // PUBLIC → TRASH works, TRASH → DELETED fails
    const first = await service.call('POST', `/users/${user._id}/soft-delete`);
    expect(first.status).toBe(500);
    expect(first.body.message).toBe('Error while soft deleting user: CRUD setState responded with a 500 status code');
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('TRASH');
    const [blocked] = await service.deps.identity.getUsers([user.authUserId]);
    expect(blocked?.blocked).toBe(true);

    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('DELETED');
    expect(await service.deps.identity.getUsers([user.authUserId])).toEqual([undefined]);
  });

  it('moves the profile back when the identity user cannot be deleted at the last step', async () => {
    const user = await newUser();
    identityFaults.set('deleteUser', 1);
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(500);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('TRASH');
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('DELETED');
  });

  it('unblocks nothing when a state change fails after blocking', async () => {
    const user = await newUser();
    storeFaults.set('setState', 1);
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }])).status).toBe(500);
    const [identity] = await service.deps.identity.getUsers([user.authUserId]);
    expect(identity?.blocked).toBe(false);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('PUBLIC');
  });
});
