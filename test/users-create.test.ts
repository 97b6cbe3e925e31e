import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countIdentities, countProfiles, seedGroups, startService, type TestService } from './helpers/service.js';

let service: TestService;

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
});
afterAll(() => service.close());

async function identityOf(authUserId: string) {
  const [identity] = await service.deps.identity.getUsers([authUserId]);
  return identity;
}

describe('POST /users/', () => {
  it('creates the profile and the identity user, and links them', async () => {
    const res = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'mario',
      email: 'mario@example.com',
      name: 'Mario',
      age: 30,
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['_id']);
    expect(res.body._id).toMatch(/^[0-9a-f]{24}$/);

    const stored = await service.call('GET', `/users/${res.body._id}`);
    expect(stored.body).toMatchObject({
      _id: res.body._id,
      __STATE__: 'PUBLIC',
      userGroup: 'customer',
      username: 'mario',
      email: 'mario@example.com',
      name: 'Mario',
      age: 30,
      creatorId: 'api-key',
    });
    expect(stored.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const identity = await identityOf(stored.body.authUserId);
    expect(identity).toMatchObject({ username: 'mario', email: 'mario@example.com', blocked: false });
  });

  it('records the authenticated caller as creatorId, ignoring an untrusted user id header', async () => {
    const res = await service.call('POST', '/users/', { userGroup: 'guest', name: 'Carl' }, { miauserid: 'admin-7' });
    const stored = await service.call('GET', `/users/${res.body._id}`);
    expect(stored.body).toMatchObject({ creatorId: 'api-key', updaterId: 'api-key' });
  });

  it('behind a gateway, records the caller from the user id header', async () => {
    const gateway = await startService({ env: { ACCESS_CONTROL: 'gateway' } });
    try {
      await seedGroups(gateway);
      const res = await gateway.call('POST', '/users/', { userGroup: 'guest', name: 'Carl' }, { miauserid: 'admin-7', 'x-api-key': '' });
      expect(res.status).toBe(200);
      expect((await gateway.call('GET', `/users/${res.body._id}`)).body).toMatchObject({ creatorId: 'admin-7', updaterId: 'admin-7' });
    } finally {
      await gateway.close();
    }
  });

  it('never stores a password in the profile, and hashes it in the identity provider', async () => {
    const res = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'pw-user',
      email: 'pw-user@example.com',
      name: 'P',
      password: 'S3cret!pass',
    });
    expect(res.status).toBe(200);
    const stored = await service.call('GET', `/users/${res.body._id}`);
    expect(stored.body).not.toHaveProperty('password');
    // Where the service keeps identities itself, the password is an argon2id hash; Auth0 keeps its own.
    const hash = service.backend.passwordHash(stored.body.authUserId);
    if (hash !== undefined) expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(hash ?? '').not.toContain('S3cret');
  });

  it('creates a blocked identity user when blocked is true', async () => {
    const res = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'blocked-one',
      email: 'blocked-one@example.com',
      name: 'B',
      blocked: true,
    });
    const stored = await service.call('GET', `/users/${res.body._id}`);
    expect((await identityOf(stored.body.authUserId))?.blocked).toBe(true);
  });

  it('answers 400 naming the field when the group schema is violated', async () => {
    const missing = await service.call('POST', '/users/', { userGroup: 'customer', username: 'noname', email: 'noname@example.com' });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringContaining("body/name must have required property 'name'"),
    });

    const wrongType = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'badage',
      email: 'badage@example.com',
      name: 'X',
      age: 'old',
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.message).toContain('body/age must be integer');

    const count = await service.call('GET', '/users/count?username=badage');
    expect(count.body).toBe(0);
  });

  it('answers 400 for an unknown group, a missing group and a client-set expirationId', async () => {
    expect((await service.call('POST', '/users/', { userGroup: 'nope', username: 'u1', email: 'u1@example.com' })).body).toMatchObject({
      statusCode: 400,
      message: 'userGroup "nope" does not exist',
    });
    expect((await service.call('POST', '/users/', { username: 'u2', email: 'u2@example.com' })).status).toBe(400);
    const withExpirationId = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'u3',
      email: 'u3@example.com',
      name: 'U',
      expirationId: 'x',
    });
    expect(withExpirationId.status).toBe(400);
    expect(withExpirationId.body.message).toContain('expirationId');
  });

  it('answers 400 for wrong standard field types and a past expirationDate', async () => {
    for (const body of [
      { userGroup: 'customer', name: 'N', username: 42 },
      { userGroup: 'customer', name: 'N', username: 'e1', email: 'not-an-email' },
      { userGroup: 'customer', name: 'N', username: 'e2', email: 'e2@example.com', blocked: 'yes' },
      { userGroup: 'customer', name: 'N', username: 'e3', email: 'e3@example.com', roles: 'admin' },
      { userGroup: 'customer', name: 'N', username: 'e4', email: 'e4@example.com', expirationDate: '2001-01-01T00:00:00Z' },
      { userGroup: 'customer', name: 'N', username: 'e5', email: 'e5@example.com', expirationDate: 'tomorrow' },
    ]) {
      const res = await service.call('POST', '/users/', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('stores a future expirationDate', async () => {
    const expirationDate = new Date(Date.now() + 86_400_000).toISOString();
    const res = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'expiring',
      email: 'expiring@example.com',
      name: 'E',
      expirationDate,
    });
    expect((await service.call('GET', `/users/${res.body._id}`)).body.expirationDate).toBe(expirationDate);
  });

  it('answers 409 on a duplicate username or email, leaving nothing behind', async () => {
    await service.call('POST', '/users/', { userGroup: 'customer', username: 'dup', email: 'dup@example.com', name: 'D' });
    const before = (await service.call('GET', '/users/count?_st=PUBLIC,DRAFT,TRASH,DELETED')).body;
    const sameUsername = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'dup',
      email: 'dup@example.com',
      name: 'D2',
    });
    expect(sameUsername.status).toBe(409);
    expect(sameUsername.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    const sameEmail = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'dup2',
      email: 'dup@example.com',
      name: 'D3',
    });
    expect(sameEmail.status).toBe(409);
    expect((await service.call('GET', '/users/count?_st=PUBLIC,DRAFT,TRASH,DELETED')).body).toBe(before);
  });

  it('applies uniqueness to profile-only users too', async () => {
    await service.call('POST', '/users/', { userGroup: 'guest', username: 'guest-dup', name: 'G' });
    expect((await service.call('POST', '/users/', { userGroup: 'guest', username: 'guest-dup', name: 'G' })).status).toBe(409);
  });

  it('creates a profile-only user for groups with authUserCreationDisabled', async () => {
    const res = await service.call('POST', '/users/', { userGroup: 'guest', username: 'visitor', name: 'V' });
    expect(res.status).toBe(200);
    expect((await service.call('GET', `/users/${res.body._id}`)).body).not.toHaveProperty('authUserId');
  });

  it('postpones the identity user with postponeAuthUserCreation=true', async () => {
    const res = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'later',
      email: 'later@example.com',
      name: 'L',
    });
    expect(res.status).toBe(200);
    expect((await service.call('GET', `/users/${res.body._id}`)).body).not.toHaveProperty('authUserId');
    expect(
      (
        await service.call('POST', '/users/?postponeAuthUserCreation=maybe', {
          userGroup: 'customer',
          username: 'l2',
          email: 'l2@example.com',
          name: 'L',
        })
      ).status,
    ).toBe(400);
  });

  it('needs a username or an email to create the identity user', async () => {
    const res = await service.call('POST', '/users/', { userGroup: 'customer', name: 'Nobody' });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('username or email');
  });

  it('answers 400 on malformed JSON and 413 on an oversize body', async () => {
    const malformed = await service.call('POST', '/users/', '{"userGroup": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const huge = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'big',
      email: 'big@example.com',
      name: 'x'.repeat(1_100_000),
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ statusCode: 413 });
  });
});

describe('POST /users/with-id', () => {
  it('links an existing identity user, copying its username and email', async () => {
    const identity = await service.deps.identity.createUser({ username: 'linked', email: 'linked@example.com', password: 'x-Password-1' });
    const res = await service.call('POST', '/users/with-id', { authUserId: identity.id, userGroup: 'customer', name: 'Linked' });
    expect(res.status).toBe(200);
    const stored = await service.call('GET', `/users/${res.body._id}`);
    expect(stored.body).toMatchObject({ authUserId: identity.id, username: 'linked', email: 'linked@example.com', name: 'Linked' });
  });

  it('blocks the identity user when blocked is true', async () => {
    const identity = await service.deps.identity.createUser({
      username: 'linked-blocked',
      email: 'linked-blocked@example.com',
      password: 'x-Password-1',
    });
    const res = await service.call('POST', '/users/with-id', { authUserId: identity.id, userGroup: 'customer', name: 'LB', blocked: true });
    expect(res.status).toBe(200);
    expect((await identityOf(identity.id))?.blocked).toBe(true);
  });

  it('answers 400 for an unknown identity user, one already linked, and a schema violation', async () => {
    expect((await service.call('POST', '/users/with-id', { authUserId: 'ums|missing', userGroup: 'customer', name: 'X' })).status).toBe(
      400,
    );
    const identity = await service.deps.identity.createUser({ username: 'twice', email: 'twice@example.com', password: 'x-Password-1' });
    expect((await service.call('POST', '/users/with-id', { authUserId: identity.id, userGroup: 'customer', name: 'T' })).status).toBe(200);
    const again = await service.call('POST', '/users/with-id', { authUserId: identity.id, userGroup: 'customer', name: 'T' });
    expect(again.status).toBe(400);
    expect(again.body.message).toContain('already linked');
    const other = await service.deps.identity.createUser({
      username: 'noname-linked',
      email: 'noname-linked@example.com',
      password: 'x-Password-1',
    });
    expect((await service.call('POST', '/users/with-id', { authUserId: other.id, userGroup: 'customer' })).status).toBe(400);
    expect((await service.call('POST', '/users/with-id', { userGroup: 'customer', name: 'no id' })).status).toBe(400);
  });
});

describe('POST /users/register', () => {
  it('creates the identity user of a postponed user and answers 204', async () => {
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'reg',
      email: 'reg@example.com',
      name: 'R',
    });
    const res = await service.call('POST', '/users/register', { _id: created.body._id, password: 'Another-pass-1' });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    const stored = await service.call('GET', `/users/${created.body._id}`);
    expect(await identityOf(stored.body.authUserId)).toMatchObject({ username: 'reg', email: 'reg@example.com' });
  });

  it('answers 409 when already registered, 404 for an unknown id, 400 for a group without identities', async () => {
    const created = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'reg2',
      email: 'reg2@example.com',
      name: 'R',
    });
    expect((await service.call('POST', '/users/register', { _id: created.body._id })).status).toBe(409);
    expect((await service.call('POST', '/users/register', { _id: 'ffffffffffffffffffffffff' })).status).toBe(404);
    const guest = await service.call('POST', '/users/', { userGroup: 'guest', username: 'reg3', name: 'G' });
    expect((await service.call('POST', '/users/register', { _id: guest.body._id })).status).toBe(400);
    expect((await service.call('POST', '/users/register', {})).status).toBe(400);
  });
});

describe('username and email lengths', () => {
  const longName = 'n'.repeat(321);
  const longEmail = `${'e'.repeat(309)}@example.com`;

  it('refuses a username or email longer than a login takes (320), on every creation path, storing nothing', async () => {
    const identity = await service.deps.identity.createUser({
      username: 'long-link',
      email: 'long-link@example.com',
      password: 'x-Password-1',
    });
    const profiles = await countProfiles(service);
    const identities = countIdentities(service);
    for (const [path, body] of [
      ['/users/', { userGroup: 'customer', name: 'L', username: longName, email: 'l1@example.com' }],
      ['/users/', { userGroup: 'customer', name: 'L', username: 'l2', email: longEmail }],
      ['/users/?postponeAuthUserCreation=true', { userGroup: 'customer', name: 'L', username: longName }],
      ['/users/with-id', { authUserId: identity.id, userGroup: 'customer', name: 'L', username: longName }],
      ['/users/with-id', { authUserId: identity.id, userGroup: 'customer', name: 'L', email: longEmail }],
    ] as const) {
      const res = await service.call('POST', path, body);
      expect(res.status, `${path} ${Object.keys(body)}`).toBe(400);
      expect(res.body.message).toMatch(/^body\/(username|email): at most 320 characters/);
    }
    const graphql = await service.graphql(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { __typename ... on InvalidInputError { message } } }',
      { input: { userGroup: 'customer', username: longName, properties: { name: 'L' } } },
    );
    expect(graphql.data.createUser).toEqual({ __typename: 'InvalidInputError', message: 'input/username: at most 320 characters' });
    expect(await countProfiles(service)).toBe(profiles);
    expect(countIdentities(service)).toBe(identities);
    const exact = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      name: 'L',
      username: 'n'.repeat(320),
    });
    expect(exact.status).toBe(200);
  });
});
