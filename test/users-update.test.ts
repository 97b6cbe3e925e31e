import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UpstreamError } from '../src/errors.js';
import { countIdentities, CUSTOMER_GROUP, GUEST_GROUP, seedGroups, startService, type TestService } from './helpers/service.js';

let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService();
  await seedGroups(service, [
    CUSTOMER_GROUP,
    GUEST_GROUP,
    {
      userGroup: 'partner',
      label: 'Partner',
      authUserCreationDisabled: false,
      crudSchema: { type: 'object', properties: { company: { type: 'string' } }, required: ['company'] },
    },
    {
      userGroup: 'dated',
      label: 'Dated',
      authUserCreationDisabled: false,
      crudSchema: { type: 'object', properties: { birth: { type: 'string', format: 'date' } } },
    },
  ]);
});
afterAll(() => service.close());

async function newUser(extra: Record<string, unknown> = {}) {
  counter += 1;
  const res = await service.call('POST', '/users/', {
    userGroup: 'customer',
    username: `u${counter}`,
    email: `u${counter}@example.com`,
    name: 'N',
    ...extra,
  });
  expect(res.status).toBe(200);
  return (await service.call('GET', `/users/${res.body._id}`)).body;
}

async function identityOf(authUserId: string) {
  return (await service.deps.identity.getUsers([authUserId]))[0];
}

describe('PATCH /users/:id', () => {
  it('answers the updated user as GET /users/:id reads it, __STATE__ included (the CRUD PATCH answer)', async () => {
    const user = await newUser();
    const patched = await service.call('PATCH', `/users/${user._id}`, { $set: { name: 'Same keys' } });
    expect(patched.status).toBe(200);
    const read = (await service.call('GET', `/users/${user._id}`)).body;
    expect(patched.body).toEqual(read);
    expect(patched.body.__STATE__).toBe('PUBLIC');
  });

  it('applies a CRUD PATCH body and answers the updated user', async () => {
    const user = await newUser({ age: 10, tags: ['a'] });
    const res = await service.call('PATCH', `/users/${user._id}`, {
      $set: { name: 'Renamed' },
      $inc: { age: 5 },
      $addToSet: { tags: 'b' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ _id: user._id, name: 'Renamed', age: 15, tags: ['a', 'b'] });
    expect(res.body.updatedAt > user.updatedAt || res.body.updatedAt === user.updatedAt).toBe(true);
    const unset = await service.call('PATCH', `/users/${user._id}`, { $unset: { age: true }, $push: { tags: 'c' } });
    expect(unset.body).not.toHaveProperty('age');
    expect(unset.body.tags).toEqual(['a', 'b', 'c']);
  });

  it('treats a bare object as $set', async () => {
    const user = await newUser();
    const res = await service.call('PATCH', `/users/${user._id}`, { name: 'Bare' });
    expect(res.body.name).toBe('Bare');
  });

  it('keeps username, email and blocked in sync with the identity provider', async () => {
    const user = await newUser();
    await service.call('PATCH', `/users/${user._id}`, {
      $set: { username: `${user.username}-new`, email: `new-${user.email}`, blocked: true },
    });
    expect(await identityOf(user.authUserId)).toMatchObject({
      username: `${user.username}-new`,
      email: `new-${user.email}`,
      blocked: true,
    });
    await service.call('PATCH', `/users/${user._id}`, { $set: { blocked: false } });
    expect((await identityOf(user.authUserId))?.blocked).toBe(false);
  });

  it('refuses authUserId, expirationId and internal fields with 400', async () => {
    const user = await newUser();
    for (const body of [
      { $set: { authUserId: 'x' } },
      { authUserId: 'x' },
      { $unset: { expirationId: true } },
      { $set: { __STATE__: 'DRAFT' } },
      { $set: { _id: 'x' } },
    ]) {
      const res = await service.call('PATCH', `/users/${user._id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await service.call('GET', `/users/${user._id}`)).body.authUserId).toBe(user.authUserId);
  });

  it('validates against the current group, or the new one when userGroup changes', async () => {
    const user = await newUser();
    const wrong = await service.call('PATCH', `/users/${user._id}`, { $set: { age: 'x' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toContain('body/$set/age must be integer');
    const noCompany = await service.call('PATCH', `/users/${user._id}`, { $set: { userGroup: 'partner' } });
    expect(noCompany.status).toBe(400);
    expect(noCompany.body.message).toContain('company');
    const moved = await service.call('PATCH', `/users/${user._id}`, { $set: { userGroup: 'partner', company: 'ACME' } });
    expect(moved.status).toBe(200);
    expect(moved.body.userGroup).toBe('partner');
    expect((await service.call('PATCH', `/users/${user._id}`, { $set: { userGroup: 'ghosts' } })).status).toBe(400);
  });

  it('updates a user whose group has a `format: date` field, which is stored as its midnight instant', async () => {
    const created = await service.call('POST', '/users/', {
      userGroup: 'dated',
      username: 'dated1',
      email: 'dated1@example.com',
      birth: '2000-01-02',
    });
    expect(created.status).toBe(200);
    const id = created.body._id;
    // The embedded store keeps the instant, as the CRUD Service does (its emulator keeps the text).
    expect((await service.call('GET', `/users/${id}`)).body.birth).toMatch(/^2000-01-02/);
    const renamed = await service.call('PATCH', `/users/${id}`, { $set: { username: 'dated1b' } });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    const moved = await service.call('PATCH', `/users/${id}`, { $set: { birth: '2001-03-04' } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body.birth).toMatch(/^2001-03-04/);
    // A time of day is still no date.
    const timed = await service.call('PATCH', `/users/${id}`, { $set: { birth: '2001-03-04T10:00:00Z' } });
    expect(timed.status).toBe(400);
    expect(timed.body.message).toContain('birth must match format "date"');
  });

  it('answers 400 for unknown operators, mixed bodies and non-objects; 404 for unknown ids; 409 on a taken username', async () => {
    const user = await newUser();
    expect((await service.call('PATCH', `/users/${user._id}`, { $rename: { name: 'n' } })).status).toBe(400);
    expect((await service.call('PATCH', `/users/${user._id}`, { $set: { name: 'a' }, name: 'b' })).status).toBe(400);
    expect((await service.call('PATCH', `/users/${user._id}`, [1, 2])).status).toBe(400);
    expect((await service.call('PATCH', '/users/ffffffffffffffffffffffff', { name: 'x' })).status).toBe(404);
    const other = await newUser();
    const clash = await service.call('PATCH', `/users/${user._id}`, { $set: { username: other.username } });
    expect(clash.status).toBe(409);
    expect((await identityOf(user.authUserId))?.username).toBe(user.username);
  });

  it('refuses a username or email longer than a login takes (320), changing neither the profile nor the identity', async () => {
    const user = await newUser();
    for (const body of [
      { $set: { username: 'n'.repeat(321) } },
      { email: `${'e'.repeat(309)}@example.com` },
      { $set: { name: 'changed', username: `${user.username}-${'n'.repeat(320)}` } },
    ]) {
      const res = await service.call('PATCH', `/users/${user._id}`, body);
      expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
      expect(res.body.message).toMatch(/^body\/(username|email): at most 320 characters/);
    }
    expect(await service.call('GET', `/users/${user._id}`).then((res) => res.body)).toEqual(user);
    expect(await identityOf(user.authUserId)).toMatchObject({ username: user.username, email: user.email });
  });

  it("refuses to remove the username or e-mail of a user with an identity (the identity's login names), changing nothing", async () => {
    const user = await newUser();
    for (const body of [{ $unset: { email: true } }, { $unset: { username: true } }]) {
      const res = await service.call('PATCH', `/users/${user._id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.message).toMatch(/^body\/(username|email): a user with an identity keeps its (username|email)/);
    }
    expect(await service.call('GET', `/users/${user._id}`).then((res) => res.body)).toEqual(user);
    expect(await identityOf(user.authUserId)).toMatchObject({ username: user.username, email: user.email });
    // A profile-only user has no identity to keep in step: its e-mail may go.
    const created = await service.call('POST', '/users/', {
      userGroup: 'guest',
      username: 'no-identity',
      email: 'n@example.com',
      name: 'N',
    });
    expect(created.status).toBe(200);
    const unset = await service.call('PATCH', `/users/${created.body._id}`, { $unset: { email: true } });
    expect(unset.status).toBe(200);
    expect(unset.body.email).toBeUndefined();
  });
});

describe('DELETE /users/:id', () => {
  it('deletes the profile and the identity user and answers 204', async () => {
    const user = await newUser();
    const res = await service.call('DELETE', `/users/${user._id}`);
    expect(res.status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}`)).status).toBe(404);
    expect(await identityOf(user.authUserId)).toBeUndefined();
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(404);
  });

  it('deletes profile-only users', async () => {
    const created = await service.call('POST', '/users/', { userGroup: 'guest', name: 'g' });
    expect((await service.call('DELETE', `/users/${created.body._id}`)).status).toBe(204);
  });
});

describe('POST /users/state', () => {
  it('moves matching users and mirrors the state in the identity provider', async () => {
    const a = await newUser({ name: 'state-batch' });
    const b = await newUser({ name: 'state-batch' });
    const toDraft = await service.call('POST', '/users/state', [{ filter: { name: 'state-batch' }, stateTo: 'DRAFT' }]);
    expect(toDraft.status).toBe(200);
    expect(toDraft.body).toBe(2);
    expect((await service.call('GET', `/users/${a._id}`)).body.__STATE__).toBe('DRAFT');
    expect((await identityOf(a.authUserId))?.blocked).toBe(true);

    const toPublic = await service.call('POST', '/users/state', [{ filter: { _id: b._id }, stateTo: 'PUBLIC' }]);
    expect(toPublic.body).toBe(1);
    expect((await identityOf(b.authUserId))?.blocked).toBe(false);
    expect((await identityOf(a.authUserId))?.blocked).toBe(true);
  });

  it('keeps the identity of a blocked profile blocked when it is moved back to PUBLIC (an administrator block, an expiry)', async () => {
    const user = await newUser({ name: 'blocked-mover', blocked: true });
    expect((await identityOf(user.authUserId))?.blocked).toBe(true);
    for (const stateTo of ['DRAFT', 'PUBLIC']) {
      expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }])).body).toBe(1);
    }
    expect((await service.call('GET', `/users/${user._id}`)).body).toMatchObject({ __STATE__: 'PUBLIC', blocked: true });
    expect((await identityOf(user.authUserId))?.blocked).toBe(true);
    // Unblocked in the profile, it follows: PUBLIC and not blocked.
    expect((await service.call('PATCH', `/users/${user._id}`, { blocked: false })).status).toBe(200);
    expect((await identityOf(user.authUserId))?.blocked).toBe(false);
  });

  it('skips users the CRUD would not move (PUBLIC to DELETED) and counts only moved ones', async () => {
    const user = await newUser({ name: 'no-jump' });
    const res = await service.call('POST', '/users/state', [{ filter: { name: 'no-jump' }, stateTo: 'DELETED' }]);
    expect(res.body).toBe(0);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('PUBLIC');
  });

  it('deletes the identity user on DELETED when AUTH_HARD_DELETE is true, keeping the profile', async () => {
    const user = await newUser({ name: 'hard' });
    await service.call('POST', '/users/state', [{ filter: { name: 'hard' }, stateTo: 'TRASH' }]);
    const res = await service.call('POST', '/users/state', [{ filter: { name: 'hard' }, stateTo: 'DELETED' }]);
    expect(res.body).toBe(1);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('DELETED');
    expect(await identityOf(user.authUserId)).toBeUndefined();
  });

  it('unlinks a hard-deleted user moved back out of DELETED: a profile-only user, never one pointing to a gone identity', async () => {
    const user = await newUser({ name: 'revived' });
    for (const stateTo of ['TRASH', 'DELETED']) await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }]);
    expect(await identityOf(user.authUserId)).toBeUndefined();
    const identities = countIdentities(service);
    const updates = vi.spyOn(service.deps.identity, 'updateUser');
    try {
      for (const stateTo of ['TRASH', 'DRAFT', 'PUBLIC']) {
        const res = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }]);
        expect([stateTo, res.status, res.body]).toEqual([stateTo, 200, 1]);
        const stored = (await service.call('GET', `/users/${user._id}`)).body;
        expect([stored.__STATE__, stored.authUserId]).toEqual([stateTo, undefined]);
      }
      // Nothing asked of the provider for a gone identity, and none made again.
      expect(updates).not.toHaveBeenCalled();
      expect(countIdentities(service)).toBe(identities);
      // Its profile is whole: a PATCH answers as for any profile-only user.
      const patched = await service.call('PATCH', `/users/${user._id}`, { $set: { name: 'revived again' } });
      expect([patched.status, patched.body.name, patched.body.authUserId]).toEqual([200, 'revived again', undefined]);
    } finally {
      updates.mockRestore();
    }
  });

  it('leaves a hard-deleted user DELETED and unlinked when its move out fails after the unlink: the retry moves it', async () => {
    const user = await newUser({ name: 'revive-cut' });
    for (const stateTo of ['TRASH', 'DELETED']) await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }]);
    const setState = vi
      .spyOn(service.deps.users, 'setState')
      .mockRejectedValueOnce(new UpstreamError('CRUD', 'POST /users/state', 0, { unreachable: true }));
    try {
      const cut = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
      expect(cut.status).toBe(503);
    } finally {
      setState.mockRestore();
    }
    const stored = (await service.call('GET', `/users/${user._id}`)).body;
    expect([stored.__STATE__, stored.authUserId]).toEqual(['DELETED', undefined]);
    expect(await service.deps.jobs.get(`user-sync:${user._id}`)).toBeUndefined();
    const retry = await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'TRASH' }]);
    expect([retry.status, retry.body]).toEqual([200, 1]);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('TRASH');
  });

  it('answers 400 for a bad body or a forbidden filter operator', async () => {
    for (const body of [
      {},
      [],
      [{ filter: {}, stateTo: 'GONE' }],
      [{ stateTo: 'DRAFT' }],
      [{ filter: { $where: 'x' }, stateTo: 'DRAFT' }],
    ]) {
      expect((await service.call('POST', '/users/state', body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('answers 400 for more than 1,000 changes, moving nobody', async () => {
    // Each change is two reads of the store, one after the other: 16,000 changes (a 1 MiB body)
    // outran REQUEST_TIMEOUT_MS against the CRUD Service, a 503 after 15 s.
    const user = await newUser({ name: 'state-cap' });
    const changes = Array.from({ length: 1_001 }, () => ({ filter: { name: 'state-cap' }, stateTo: 'DRAFT' }));
    const res = await service.call('POST', '/users/state', changes);
    expect([res.status, res.body.message]).toEqual([400, expect.stringMatching(/1000/)]);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('PUBLIC');
  });
});

describe('POST /users/:id/soft-delete', () => {
  it('walks PUBLIC → TRASH → DELETED and deletes the identity user (AUTH_HARD_DELETE=true)', async () => {
    const user = await newUser();
    const res = await service.call('POST', `/users/${user._id}/soft-delete`);
    expect(res.status).toBe(204);
    expect((await service.call('GET', `/users/${user._id}`)).body.__STATE__).toBe('DELETED');
    expect(await identityOf(user.authUserId)).toBeUndefined();
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect((await service.call('POST', '/users/ffffffffffffffffffffffff/soft-delete')).status).toBe(404);
  });
});

describe('AUTH_HARD_DELETE=false', () => {
  it('blocks the identity user instead of deleting it', async () => {
    const soft = await startService({ env: { AUTH_HARD_DELETE: 'false' } });
    try {
      await seedGroups(soft);
      const created = await soft.call('POST', '/users/', { userGroup: 'customer', username: 'keep', email: 'keep@example.com', name: 'K' });
      const user = (await soft.call('GET', `/users/${created.body._id}`)).body;
      expect((await soft.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
      const [identity] = await soft.deps.identity.getUsers([user.authUserId]);
      expect(identity?.blocked).toBe(true);
      // Moved back out of DELETED, its identity (only blocked) stays linked and follows the state.
      for (const stateTo of ['TRASH', 'DRAFT', 'PUBLIC']) {
        const res = await soft.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }]);
        expect([stateTo, res.status, res.body]).toEqual([stateTo, 200, 1]);
      }
      expect((await soft.call('GET', `/users/${user._id}`)).body).toMatchObject({ __STATE__: 'PUBLIC', authUserId: user.authUserId });
      expect((await soft.deps.identity.getUsers([user.authUserId]))[0]?.blocked).toBe(false);
    } finally {
      await soft.close();
    }
  });
});
