import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auth0ClientEmulator } from './emulators/auth0-client.js';
import { seedGroups, startService, type TestService } from './helpers/service.js';

const anonymous = { 'x-api-key': '' };
let client: Auth0ClientEmulator;
let service: TestService;

beforeAll(async () => {
  client = await new Auth0ClientEmulator().start();
  service = await startService({
    env: {
      AUTH_MODULE: 'auth0Client',
      AUTH_SERVICE: client.url,
      AUTH_CONNECTION: 'Username-Password-Authentication',
      RANDOM_PWD_GEN: 'false',
      // `backoffice` has the website scope in the auth0-client; `kiosk` is a website client here only.
      WEBSITE_CLIENT_TYPES: 'backoffice,kiosk',
    },
  });
  await seedGroups(service);
});
afterAll(async () => {
  await service.close();
  await client.stop();
});

describe('AUTH_MODULE=auth0Client', () => {
  it('creates, reads in batches, blocks and deletes users through the auth0-client', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac1',
      email: 'ac1@example.com',
      name: 'A',
      password: 'Client-pass-1',
    });
    expect(created.status).toBe(200);
    const user = (await service.call('GET', `/users/${created.body._id}`)).body;
    expect(client.users.get(user.authUserId)).toMatchObject({ email: 'ac1@example.com', username: 'ac1' });
    const page = await service.graphql('{ users { nodes { identity { email } } } }');
    expect(page.data.users.nodes).toEqual([{ identity: { email: 'ac1@example.com' } }]);
    await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }]);
    expect(client.users.get(user.authUserId)?.blocked).toBe(true);
    await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'PUBLIC' }]);
    expect(client.users.get(user.authUserId)?.blocked).toBe(false);
    expect(
      (await service.call('POST', '/users/', { userGroup: 'customer', username: 'ac1b', email: 'ac1@example.com', name: 'A' })).status,
    ).toBe(409);
  });

  it("answers a user its 400 refuses in the service's words, not the auth0-client's", async () => {
    client.failNext('POST', /\/users$/, 400, {
      body: { statusCode: 400, error: 'Bad Request', message: 'PasswordDictionaryError: Password is too common' },
    });
    const refused = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'acweak',
      email: 'acweak@example.com',
      name: 'W',
      password: 'Client-pass-1',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe("The password does not meet the identity provider's password policy");
    expect(JSON.stringify(refused.body)).not.toMatch(/PasswordDictionaryError|too common|auth0-client/);
  });

  it('answers the 429s it passes on (a login, a refresh, a password e-mail) with a 429 and Retry-After, not a 500', async () => {
    const reset = { 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 30) };
    const tooMany = { error: 'too_many_requests', error_description: 'Global limit has been reached' };
    client.failNext('POST', /\/oauth\/token$/, 429, { body: tooMany, headers: reset });
    const login = await service.call('POST', '/oauth/token', { username: 'nobody', password: 'Client-pass-1' }, anonymous);
    expect(login.status).toBe(429);
    expect(Number(login.headers.get('retry-after'))).toBeGreaterThanOrEqual(25);
    client.failNext('POST', /\/change-password$/, 429, { body: tooMany, headers: { 'retry-after': '40' } });
    const mail = await service.call('POST', '/users/change-password', { authUserId: 'auth0|someone' });
    expect(mail.status).toBe(429);
    expect(mail.headers.get('retry-after')).toBe('40');
    // A refresh's 429 too (refresh() reads it apart from the login's).
    client.failNext('POST', /\/refreshtoken$/, 429, { body: tooMany, headers: { 'retry-after': '20' } });
    const bearer = { ...anonymous, authorization: 'Bearer any-token' };
    const refresh = await service.call('POST', '/refreshtoken', { refreshToken: 'any-refresh' }, bearer);
    expect(refresh.status).toBe(429);
    expect(refresh.headers.get('retry-after')).toBe('20');
    for (const answer of [login, mail, refresh]) expect(JSON.stringify(answer.body)).not.toMatch(/Global limit/);
  });

  it("answers a login or refresh its 400 refuses by Auth0's code: invalid_grant is the caller's 401, the rest a misconfiguration's 500", async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac400',
      email: 'ac400@example.com',
      name: 'F',
      password: 'Client-pass-4',
    });
    const tokens = (await service.call('POST', '/oauth/token', { username: 'ac400', password: 'Client-pass-4' }, anonymous)).body;
    const bearer = { ...anonymous, authorization: `Bearer ${tokens.accessToken}` };
    const sends = {
      login: () => service.call('POST', '/oauth/token', { username: 'ac400', password: 'Client-pass-4' }, anonymous),
      refresh: () => service.call('POST', '/refreshtoken', { refreshToken: tokens.refreshToken }, bearer),
    };
    for (const [path, send] of [
      [/\/oauth\/token$/, sends.login],
      [/\/refreshtoken$/, sends.refresh],
    ] as const) {
      // Auth0's 400 invalid_grant (RFC 6749's status for a wrong password or a dead refresh token), passed on.
      client.failNext('POST', path, 400, { body: { error: 'invalid_grant', error_description: 'Auth0 says invalid_grant here' } });
      const caller = await send();
      expect(caller.status).toBe(401);
      expect(JSON.stringify(caller.body)).not.toMatch(/Auth0 says/);
      client.failNext('POST', path, 400, { body: { error: 'invalid_request', error_description: 'Auth0 says invalid_request here' } });
      const misconfigured = await send();
      expect(misconfigured.status).toBe(500);
      expect(JSON.stringify(misconfigured.body)).not.toMatch(/Auth0 says/);
    }
  });

  it('logs in with a form, serves /userinfo from its claims, refreshes and sends password changes', async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac2',
      email: 'ac2@example.com',
      name: 'B',
      password: 'Client-pass-2',
    });
    const login = await service.call('POST', '/oauth/token', { username: 'ac2', password: 'Client-pass-2' }, anonymous);
    expect(login.status).toBe(200);
    expect(Object.keys(login.body).sort()).toEqual(['accessToken', 'expireAt', 'refreshToken']);
    expect(client.requests.find((r) => r.path === '/oauth/token')!.body).toContain('grant_type=password');
    expect((await service.call('POST', '/oauth/token', { username: 'ac2', password: 'nope' }, anonymous)).status).toBe(401);

    const bearer = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
    const info = await service.call('GET', '/userinfo', undefined, bearer);
    expect(info.body).toMatchObject({ email: 'ac2@example.com', name: 'B', userGroup: 'customer' });
    const refreshed = await service.call('POST', '/refreshtoken', { refreshToken: login.body.refreshToken }, bearer);
    expect(refreshed.status).toBe(200);
    expect((await service.call('POST', '/refreshtoken', { refreshToken: login.body.refreshToken }, bearer)).status).toBe(401);

    expect((await service.call('POST', '/users/change-password', { authUserId: info.body.sub })).status).toBe(204);
    expect(client.passwordChanges).toContain(info.body.sub);
  });

  it('shows an e-mail changed through the service in /userinfo at once, though the token was answered before', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac5',
      email: 'ac5@example.com',
      name: 'E',
      password: 'Client-pass-5',
    });
    const login = await service.call('POST', '/oauth/token', { username: 'ac5', password: 'Client-pass-5' }, anonymous);
    const bearer = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
    expect((await service.call('GET', '/userinfo', undefined, bearer)).body.email).toBe('ac5@example.com');
    expect((await service.call('PATCH', `/users/${created.body._id}`, { email: 'ac5b@example.com' })).status).toBe(200);
    expect((await service.call('GET', '/userinfo', undefined, bearer)).body.email).toBe('ac5b@example.com');
  });

  it('reads 120 identities in three calls of at most 50 ids, in the order asked', async () => {
    const created = [];
    for (let index = 0; index < 120; index += 1) {
      created.push(
        await service.deps.identity.createUser({ email: `batch${index}@example.com`, username: `batch${index}`, password: 'Batch-pass-1' }),
      );
    }
    const ids = created.map((user) => user.id).reverse();
    const before = client.requests.length;
    const read = await service.deps.identity.getUsers([...ids, 'auth0|missing']);
    expect(read.map((user) => user?.email)).toEqual([...created.map((user) => user.email).reverse(), undefined]);
    const calls = client.requests.slice(before);
    expect(calls.map((call) => call.path)).toEqual(['/users', '/users', '/users']);
  });

  it("gives website clients the auth0-client's own session: its sid cookie, checked and ended there", async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac3',
      email: 'ac3@example.com',
      name: 'C',
      password: 'Client-pass-3',
    });
    const login = await service.call(
      'POST',
      '/oauth/token',
      { username: 'ac3', password: 'Client-pass-3' },
      { ...anonymous, 'client-type': 'backoffice' },
    );
    expect(login.status).toBe(200);
    expect(login.body).toBeUndefined();
    expect(client.requests.findLast((r) => r.path === '/oauth/token')!.headers['client-type']).toBe('backoffice');
    const sid = /^sid=([^;]+);/.exec(login.headers.get('set-cookie')!)![1]!;
    // The session is the auth0-client's; the service keeps none.
    expect(client.sessions.get(sid)).toBeDefined();
    const db = (service.deps as unknown as { db: import('better-sqlite3').Database }).db;
    expect(db.prepare('SELECT COUNT(*) AS n FROM sessions').get()).toEqual({ n: 0 });
    expect(login.headers.get('set-cookie')).toMatch(/Max-Age=86400/);

    // The gateway sets `client-type` from the API key on every request, and the auth0-client picks
    // its client by it: the session is backoffice's, so the service must pass the header on.
    const cookie = { ...anonymous, cookie: `sid=${sid}`, 'client-type': 'backoffice' };
    const info = await service.call('GET', '/userinfo', undefined, cookie);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ email: 'ac3@example.com', name: 'C' });
    const asked = client.requests.findLast((r) => r.path === '/userinfo')!;
    expect(asked.headers).toMatchObject({ cookie: `sid=${sid}`, 'client-type': 'backoffice' });

    // A user blocked (through the service or in Auth0) loses the cookie's session at its next request.
    const authUserId = info.body.sub as string;
    client.users.get(authUserId)!.blocked = true;
    expect((await service.call('GET', '/userinfo', undefined, cookie)).status).toBe(401);
    client.users.get(authUserId)!.blocked = false;

    expect((await service.call('POST', '/logout', undefined, cookie)).status).toBe(204);
    expect(client.sessions.has(sid)).toBe(false);
    expect((await service.call('GET', '/userinfo', undefined, cookie)).status).toBe(401);
    expect((await service.call('GET', `/users/${created.body._id}`)).status).toBe(200);
  });

  it("ends a bearer logout's refresh token though it was not sent: another live token of the user cannot refresh it", async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'acout',
      email: 'acout@example.com',
      name: 'G',
      password: 'Client-pass-6',
    });
    const login = async () =>
      (await service.call('POST', '/oauth/token', { username: 'acout', password: 'Client-pass-6' }, anonymous)).body;
    const [first, second] = [await login(), await login()];
    const bearerOf = (token: string) => ({ ...anonymous, authorization: `Bearer ${token}` });
    expect((await service.call('POST', '/logout', undefined, bearerOf(first.accessToken))).status).toBe(204);
    const stolen = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearerOf(second.accessToken));
    expect(stolen.status).toBe(401);
    const own = await service.call('POST', '/refreshtoken', { refreshToken: second.refreshToken }, bearerOf(second.accessToken));
    expect(own.status).toBe(200);
  });

  it("refreshes through the client the caller's client-type names, as the tokens were issued", async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac5',
      email: 'ac5@example.com',
      name: 'E',
      password: 'Client-pass-5',
    });
    const mobile = { ...anonymous, 'client-type': 'mobile' };
    const login = await service.call('POST', '/oauth/token', { username: 'ac5', password: 'Client-pass-5' }, mobile);
    expect(login.status).toBe(200);
    const bearer = { ...mobile, authorization: `Bearer ${login.body.accessToken}` };
    expect((await service.call('GET', '/userinfo', undefined, bearer)).status).toBe(200);
    expect(client.requests.findLast((r) => r.path === '/userinfo')!.headers['client-type']).toBe('mobile');
    const refreshed = await service.call('POST', '/refreshtoken', { refreshToken: login.body.refreshToken }, bearer);
    expect(refreshed.status).toBe(200);
    expect(client.requests.findLast((r) => r.path === '/refreshtoken')!.headers['client-type']).toBe('mobile');
  });

  it('asks /userinfo again for a token cached under another client-type: the auth0-client answers per client', async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac-cache',
      email: 'ac-cache@example.com',
      name: 'C',
      password: 'Client-pass-c',
    });
    const login = await service.call(
      'POST',
      '/oauth/token',
      { username: 'ac-cache', password: 'Client-pass-c' },
      { ...anonymous, 'client-type': 'mobile' },
    );
    const token = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
    const asked = () => client.requests.filter((r) => r.path === '/userinfo').map((r) => r.headers['client-type']);
    const before = asked().length;
    for (const clientType of ['mobile', 'mobile', 'kiosk-other'])
      expect((await service.call('GET', '/userinfo', undefined, { ...token, 'client-type': clientType })).status).toBe(200);
    // The second call is the cache's; the third names another client, whose answer may differ.
    expect(asked().slice(before)).toEqual(['mobile', 'kiosk-other']);
  });

  it('blocks, unblocks and renames users whatever PATCH /users/:id answers (its body is not documented)', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac6',
      email: 'ac6@example.com',
      name: 'F',
    });
    const user = (await service.call('GET', `/users/${created.body._id}`)).body;
    client.patchAnswer = 'empty';
    try {
      expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }])).body).toBe(1);
      expect(client.users.get(user.authUserId)?.blocked).toBe(true);
      expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'PUBLIC' }])).body).toBe(1);
      const renamed = await service.call('PATCH', `/users/${user._id}`, { $set: { username: 'ac6b' } });
      expect(renamed.status).toBe(200);
      expect(client.users.get(user.authUserId)).toMatchObject({ username: 'ac6b', blocked: false });
    } finally {
      client.patchAnswer = 'user';
    }
  });

  it("returns every property of the auth0-client's /userinfo, as the usage page says", async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac8',
      email: 'ac8@example.com',
      name: 'H',
      password: 'Client-pass-8',
    });
    const login = await service.call('POST', '/oauth/token', { username: 'ac8', password: 'Client-pass-8' }, anonymous);
    const info = await service.call('GET', '/userinfo', undefined, { ...anonymous, authorization: `Bearer ${login.body.accessToken}` });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({
      email: 'ac8@example.com',
      nickname: 'ac8',
      email_verified: false,
      picture: 'https://s.gravatar.com/avatar/0.png',
      'https://ums.example/tenant': 'acme',
      name: 'H',
    });
    expect(info.body).not.toHaveProperty('iat');
  });

  it("behind a gateway too, asks /userinfo of the client the caller's client-type names", async () => {
    const gateway = await startService({
      env: {
        ACCESS_CONTROL: 'gateway',
        AUTH_MODULE: 'auth0Client',
        AUTH_SERVICE: client.url,
        AUTH_CONNECTION: 'Username-Password-Authentication',
        RANDOM_PWD_GEN: 'false',
        WEBSITE_CLIENT_TYPES: 'backoffice',
      },
    });
    try {
      await seedGroups(gateway);
      const noKey = { 'x-api-key': '' };
      await gateway.call(
        'POST',
        '/users/?sendResetPwdEmail=false',
        { userGroup: 'customer', username: 'ac7', email: 'ac7@example.com', name: 'G', password: 'Client-pass-7' },
        noKey,
      );
      const browser = { ...noKey, 'client-type': 'backoffice' };
      const login = await gateway.call('POST', '/oauth/token', { username: 'ac7', password: 'Client-pass-7' }, browser);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const info = await gateway.call('GET', '/userinfo', undefined, { ...browser, cookie });
      expect(info.status).toBe(200);
      expect(info.body).toMatchObject({ email: 'ac7@example.com', name: 'G' });
    } finally {
      await gateway.close();
    }
  });

  it('refuses tokens for a website client whose auth0-client client has no website scope', async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'ac4',
      email: 'ac4@example.com',
      name: 'D',
      password: 'Client-pass-4',
    });
    const login = await service.call(
      'POST',
      '/oauth/token',
      { username: 'ac4', password: 'Client-pass-4' },
      { ...anonymous, 'client-type': 'kiosk' },
    );
    expect(login.status).toBe(500);
    expect(JSON.stringify(login.body)).not.toContain('accessToken');
    expect(login.headers.get('set-cookie')).toBeNull();
  });
});
