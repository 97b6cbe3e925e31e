import { afterEach, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from './helpers/service.js';
import { loggedInAdmin } from './helpers/admins.js';

const PASSWORD = 'Correct-horse-9';
const anonymous = { 'x-api-key': '' };
let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function loggedIn(env: Record<string, string> = {}) {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false', ...env } });
  await seedGroups(service);
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: 'info',
    email: 'info@example.com',
    name: 'Info',
    age: 40,
    password: PASSWORD,
  });
  const login = await service.call('POST', '/oauth/token', { username: 'info', password: PASSWORD }, anonymous);
  const headers = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
  const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body as { authUserId: string };
  return { service, headers, id: created.body._id as string, authUserId };
}

describe('GET /userinfo', () => {
  it('returns the identity claims and every profile property when USERINFO_ADDITIONAL_PROPERTIES is unset', async () => {
    const { service, headers, id, authUserId } = await loggedIn();
    const res = await service.call('GET', '/userinfo', undefined, headers);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      sub: authUserId,
      username: 'info',
      email: 'info@example.com',
      email_verified: false,
      _id: id,
      name: 'Info',
      age: 40,
      userGroup: 'customer',
    });
  });

  it('returns only the identity claims when it is empty', async () => {
    const { service, headers } = await loggedIn({ USERINFO_ADDITIONAL_PROPERTIES: '' });
    const res = await service.call('GET', '/userinfo', undefined, headers);
    expect(res.body).not.toHaveProperty('name');
    expect(res.body).not.toHaveProperty('_id');
    expect(res.body).toMatchObject({ sub: expect.any(String), username: 'info' });
  });

  it('returns the listed properties when it is a list, and the id under CUSTOM_USER_ID_KEY', async () => {
    const { service, headers } = await loggedIn({ USERINFO_ADDITIONAL_PROPERTIES: 'name,missing', CUSTOM_USER_ID_KEY: 'userId' });
    const res = await service.call('GET', '/userinfo', undefined, headers);
    expect(res.body.name).toBe('Info');
    expect(res.body).not.toHaveProperty('age');
    expect(res.body).not.toHaveProperty('missing');
    expect(res.body.userId).toBe(res.body.sub);
  });

  it('answers 401 without credentials and for an API key (no user)', async () => {
    const { service } = await loggedIn();
    expect((await service.call('GET', '/userinfo', undefined, anonymous)).status).toBe(401);
    const apiKey = await service.call('GET', '/userinfo');
    expect(apiKey.status).toBe(401);
    expect(apiKey.body.message).toBe('Missing authUserId, user not logged');
  });

  it('behind a gateway, answers "Missing authUserId, user not logged" for a profile-only user', async () => {
    service = await startService({ env: { ACCESS_CONTROL: 'gateway' } });
    await seedGroups(service);
    const guest = await service.call('POST', '/users/', { userGroup: 'guest', name: 'G' }, anonymous);
    const res = await service.call('GET', '/userinfo', undefined, { ...anonymous, miauserid: guest.body._id });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Missing authUserId, user not logged' });
  });

  it('behind a gateway, lets a logged-in non-administrator manage users (the gateway authorizes) and still answers its /userinfo', async () => {
    service = await startService({ env: { ACCESS_CONTROL: 'gateway', RANDOM_PWD_GEN: 'false' } });
    await seedGroups(service);
    await service.call(
      'POST',
      '/users/?sendResetPwdEmail=false',
      { userGroup: 'customer', username: 'gw', email: 'gw@example.com', name: 'G', password: PASSWORD },
      anonymous,
    );
    const login = await service.call('POST', '/oauth/token', { username: 'gw', password: PASSWORD }, anonymous);
    const bearer = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
    expect((await service.call('GET', '/users/count', undefined, bearer)).status).toBe(200);
    expect((await service.call('GET', '/userinfo', undefined, bearer)).body).toMatchObject({ username: 'gw', name: 'G' });
  });
});

describe('GraphQL me', () => {
  it('answers the caller with its profile', async () => {
    const { service, headers } = await loggedIn();
    const res = await service.graphql(
      '{ me { __typename ... on QueryMeSuccess { data { admin userinfo user { username properties } } } } }',
      undefined,
      headers,
    );
    expect(res.data.me.data).toMatchObject({
      admin: false,
      user: { username: 'info', properties: { name: 'Info', age: 40 } },
      userinfo: { username: 'info' },
    });
    const anonymousMe = await service.graphql('{ me { __typename } }', undefined, anonymous);
    expect(anonymousMe.data.me.__typename).toBe('UnauthorizedError');
  });
  it('shows a user no more of its profile than /userinfo does when USERINFO_ADDITIONAL_PROPERTIES is a list', async () => {
    // me.user showed every property (and who created and changed the profile) whatever the list said.
    const { service, headers } = await loggedIn({ USERINFO_ADDITIONAL_PROPERTIES: 'name' });
    const query = '{ me { ... on QueryMeSuccess { data { user { id username email userGroup properties creatorId updaterId roles } } } } }';
    const res = await service.graphql(query, undefined, headers);
    expect(res.errors).toBeUndefined();
    expect(res.data.me.data.user).toEqual({
      id: expect.any(String),
      username: 'info',
      email: 'info@example.com',
      userGroup: 'customer',
      properties: { name: 'Info' },
      creatorId: null,
      updaterId: null,
      roles: [],
    });
    // An administrator's me is its whole profile, as user(id:) shows it.
    await seedGroups(service, [{ userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false }]);
    const { bearer } = await loggedInAdmin(service, 'meadmin');
    const admin = await service.graphql(query, undefined, { ...anonymous, ...bearer });
    expect(admin.data.me.data.user.creatorId).toEqual(expect.any(String));
  });
});
