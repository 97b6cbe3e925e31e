import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeClock } from './helpers/fake-clock.js';
import { AUTH0_TEST_TENANT, seedGroups, startService, type TestService } from './helpers/service.js';

const anonymous = { 'x-api-key': '' };
let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({ identity: 'auth0', env: { RANDOM_PWD_GEN: 'false', WEBSITE_CLIENT_TYPES: 'backoffice' } });
  await seedGroups(service);
});
afterAll(() => service.close());

const auth0 = () => service.auth0!;
const calls = (method: string, path: RegExp) => auth0().requests.filter((r) => r.method === method && path.test(r.path)).length;

/** Tokens Auth0 answers a login made to it directly, as a version before the token pairs left them (no pair stored). */
async function grantedByAuth0(username: string): Promise<{ access_token: string; refresh_token: string }> {
  const grant = await fetch(`${auth0().url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
      realm: AUTH0_TEST_TENANT.connection,
      username,
      password: 'Auth0-pass-1',
      scope: 'openid profile email offline_access',
      audience: AUTH0_TEST_TENANT.audience,
      client_id: AUTH0_TEST_TENANT.clientId,
      client_secret: AUTH0_TEST_TENANT.clientSecret,
    }),
  });
  return (await grant.json()) as { access_token: string; refresh_token: string };
}

async function newUser(extra: Record<string, unknown> = {}) {
  counter += 1;
  const username = `a0user${counter}`;
  const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'A',
    password: 'Auth0-pass-1',
    ...extra,
  });
  expect(res.status).toBe(200);
  return (await service.call('GET', `/users/${res.body._id}`)).body;
}

describe('AUTH_MODULE=auth0: users through the Management API', () => {
  it('creates the Auth0 user in the connection and links it', async () => {
    const user = await newUser({ blocked: true });
    expect(user.authUserId).toMatch(/^auth0\|/);
    const created = auth0().requests.find(
      (r) => r.method === 'POST' && r.path === '/api/v2/users' && (r.body as { username?: string }).username === user.username,
    )!;
    expect(created.body).toMatchObject({
      connection: 'Username-Password-Authentication',
      email: user.email,
      username: user.username,
      blocked: true,
      verify_email: false,
    });
    expect(auth0().users.get(user.authUserId)).toMatchObject({ email: user.email, blocked: true });
  });

  it('rolls the profile back when Auth0 answers 409 or 500', async () => {
    const before = (await service.call('GET', '/users/count?_st=PUBLIC,DRAFT,TRASH,DELETED')).body;
    auth0().addUser({ email: 'taken@example.com', password: 'Whatever-1' });
    const conflict = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'taken',
      email: 'taken@example.com',
      name: 'T',
    });
    expect(conflict.status).toBe(409);
    auth0().failNext('POST', /\/api\/v2\/users$/, 500);
    const failed = await service.call('POST', '/users/', { userGroup: 'customer', username: 'boom', email: 'boom@example.com', name: 'B' });
    expect(failed.status).toBe(500);
    expect(failed.body.message).toBe('Error while creating user: Auth0 POST /api/v2/users responded with a 500 status code');
    expect((await service.call('GET', '/users/count?_st=PUBLIC,DRAFT,TRASH,DELETED')).body).toBe(before);
  });

  it("answers a user Auth0 refuses (400) in the service's words, not Auth0's", async () => {
    const user = { userGroup: 'customer', username: 'a0weak', email: 'a0weak@example.com', name: 'W' };
    auth0().failNext('POST', /\/api\/v2\/users$/, 400, {
      body: { statusCode: 400, error: 'Bad Request', message: 'PasswordStrengthError: Password is too weak', errorCode: 'invalid_body' },
    });
    const weak = await service.call('POST', '/users/?sendResetPwdEmail=false', { ...user, password: 'Auth0-pass-1' });
    expect(weak.status).toBe(400);
    expect(weak.body.message).toBe("The password does not meet the identity provider's password policy");
    auth0().failNext('POST', /\/api\/v2\/users$/, 400, {
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: "Payload validation error: 'Object didn't pass validation for format email: <script>' on property email",
        errorCode: 'invalid_body',
      },
    });
    const email = await service.call('POST', '/users/?sendResetPwdEmail=false', { ...user, password: 'Auth0-pass-1' });
    expect(email.status).toBe(400);
    expect(email.body.message).toBe('The e-mail address was refused by the identity provider');
    for (const answer of [weak, email]) expect(JSON.stringify(answer.body)).not.toMatch(/PasswordStrength|too weak|Payload|script|Auth0/);
  });

  it('reads a GraphQL page of identities in ceil(N / 100) searches, falling back to GET /users/{id} for misses', async () => {
    for (let index = 0; index < 110; index += 1) await newUser({ name: 'page' });
    const searches = calls('GET', /^\/api\/v2\/users$/);
    const byId = calls('GET', /^\/api\/v2\/users\/.+/);
    const res = await service.graphql('{ users(filter: {name: "page"}, first: 110) { nodes { username identity { id email } } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data.users.nodes).toHaveLength(110);
    expect(
      res.data.users.nodes.every(
        (n: { username: string; identity: { email: string } }) => n.identity.email === `${n.username}@example.com`,
      ),
    ).toBe(true);
    // Two searches, each answering all its ids (page 0 of per_page 100: without a page, Auth0 answers 50).
    expect(calls('GET', /^\/api\/v2\/users$/) - searches).toBe(2);
    expect(calls('GET', /^\/api\/v2\/users\/.+/) - byId).toBe(0);
    const search = [...auth0().requests].reverse().find((r) => r.path === '/api/v2/users' && r.method === 'GET')!;
    expect(search.headers.authorization).toMatch(/^Bearer /);
    // Only the properties the query reads come back.
    expect(search.query.get('fields')).toBe('user_id,email');
    expect(search.query.get('include_fields')).toBe('true');
    expect(res.data.users.nodes[0].identity).toEqual({ id: expect.stringMatching(/^auth0\|/), email: expect.any(String) });

    const user = await newUser({ name: 'lagging' });
    auth0().hiddenFromSearch.add(user.authUserId);
    const gets = calls('GET', /^\/api\/v2\/users\/.+/);
    const lagging = await service.graphql('{ users(filter: {name: "lagging"}) { nodes { identity { id } } } }');
    expect(lagging.data.users.nodes[0].identity.id).toBe(user.authUserId);
    expect(calls('GET', /^\/api\/v2\/users\/.+/) - gets).toBe(1);
  });

  it('asks Auth0 for just the identity fields a query selects, one search per set of fields', async () => {
    const blocked = await newUser({ name: 'narrow', blocked: true });
    await newUser({ name: 'narrow' });
    const searches = () => auth0().requests.filter((r) => r.method === 'GET' && r.path === '/api/v2/users');
    const before = searches().length;
    const res = await service.graphql(`{
      mail: users(filter: {name: "narrow"}) { nodes { identity { email } } }
      status: users(filter: {name: "narrow"}) { edges { node { username identity { ...Status } } } }
      bare: users(filter: {name: "narrow"}) { nodes { identity { id } } }
    }
    fragment Status on Identity { blocked loginsCount createdAt ... on Identity { lastLogin } }`);
    expect(res.errors).toBeUndefined();
    expect(
      searches()
        .slice(before)
        .map((r) => r.query.get('fields'))
        .sort(),
    ).toEqual(['user_id', 'user_id,blocked,created_at,last_login,logins_count', 'user_id,email']);
    expect(res.data.mail.nodes.map((n: { identity: { email: string } }) => n.identity.email).sort()).toEqual(
      [blocked.email, `a0user${counter}@example.com`].sort(),
    );
    const statuses = Object.fromEntries(
      res.data.status.edges.map((e: { node: { username: string; identity: unknown } }) => [e.node.username, e.node.identity]),
    );
    expect(statuses[blocked.username]).toEqual({
      blocked: true,
      loginsCount: 0,
      createdAt: auth0().users.get(blocked.authUserId)!.created_at,
      lastLogin: null,
    });
    expect(res.data.bare.nodes.every((n: { identity: { id: string } }) => /^auth0\|/.test(n.identity.id))).toBe(true);
  });

  it('searches the rest of a chunk again when Auth0 answers only 50 users, not reading them one by one', async () => {
    for (let index = 0; index < 60; index += 1) await newUser({ name: 'capped' });
    const searches = calls('GET', /^\/api\/v2\/users$/);
    const byId = calls('GET', /^\/api\/v2\/users\/.+/);
    auth0().pageIgnored = true;
    try {
      const res = await service.graphql('{ users(filter: {name: "capped"}, first: 60) { nodes { username identity { email } } } }');
      expect(res.errors).toBeUndefined();
      expect(res.data.users.nodes.filter((n: { identity: unknown }) => n.identity !== null)).toHaveLength(60);
      expect(calls('GET', /^\/api\/v2\/users$/) - searches).toBe(2);
      expect(calls('GET', /^\/api\/v2\/users\/.+/) - byId).toBe(0);
    } finally {
      auth0().pageIgnored = false;
    }
  });

  it('searches a chunk again in halves when Auth0 answers 414 for its URI', async () => {
    for (let index = 0; index < 20; index += 1) await newUser({ name: 'long-uri' });
    const searchUris = () => auth0().requests.filter((r) => r.method === 'GET' && r.path === '/api/v2/users');
    let before = searchUris().length;
    // Each id adds about 42 characters: 20 ids are refused, 10 are not.
    auth0().maxUriLength = 900;
    try {
      const res = await service.graphql('{ users(filter: {name: "long-uri"}, first: 20) { nodes { username identity { email } } } }');
      expect(res.errors).toBeUndefined();
      expect(res.data.users.nodes.map((n: { username: string; identity: { email: string } }) => n.identity.email)).toEqual(
        res.data.users.nodes.map((n: { username: string }) => `${n.username}@example.com`),
      );
      const idsPerSearch = () =>
        searchUris()
          .slice(before)
          .map((r) => r.query.get('q')!.split(' OR ').length);
      expect(idsPerSearch()).toEqual([20, 10, 10]);
      // The next page is searched in chunks of the size that passed, without another 414.
      before = searchUris().length;
      const again = await service.graphql('{ users(filter: {name: "long-uri"}, first: 20) { nodes { identity { email } } } }');
      expect(again.errors).toBeUndefined();
      expect(idsPerSearch()).toEqual([10, 10]);
    } finally {
      auth0().maxUriLength = Infinity;
    }
  });

  it('blocks, unblocks and deletes in Auth0 on state changes and soft delete', async () => {
    const user = await newUser();
    await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }]);
    expect(auth0().users.get(user.authUserId)?.blocked).toBe(true);
    await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'PUBLIC' }]);
    expect(auth0().users.get(user.authUserId)?.blocked).toBe(false);
    expect((await service.call('POST', `/users/${user._id}/soft-delete`)).status).toBe(204);
    expect(auth0().users.has(user.authUserId)).toBe(false);
  });

  it('caches the Management token', async () => {
    const grants = auth0().requests.filter(
      (r) => r.path === '/oauth/token' && (r.body as { grant_type?: string }).grant_type === 'client_credentials',
    ).length;
    await newUser();
    await newUser();
    const after = auth0().requests.filter(
      (r) => r.path === '/oauth/token' && (r.body as { grant_type?: string }).grant_type === 'client_credentials',
    ).length;
    expect(after - grants).toBe(0);
  });
});

describe('AUTH_MODULE=auth0: logins and tokens', () => {
  /** A website client's login (`client-type` backoffice): the answer carries a `sid` cookie, no tokens. */
  const websiteLoginAnswer = (username: string) =>
    service.call('POST', '/oauth/token', { username, password: 'Auth0-pass-1' }, { ...anonymous, 'client-type': 'backoffice' });
  /** The headers of a website client logged in as `username`: its `sid` cookie. */
  const websiteLogin = async (username: string) => {
    const web = await websiteLoginAnswer(username);
    return { ...anonymous, cookie: web.headers.get('set-cookie')!.split(';')[0]! };
  };
  const login = (username: string, password: string) =>
    service.call('POST', '/oauth/token', { username, password }, { ...anonymous, 'x-forwarded-for': '203.0.113.9' });

  it('logs in with the password-realm grant and serves /userinfo without calling Auth0 /userinfo', async () => {
    const user = await newUser();
    const res = await login(user.username, 'Auth0-pass-1');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expireAt', 'refreshToken']);
    const grant = [...auth0().requests].reverse().find((r) => r.path === '/oauth/token')!;
    expect(grant.body).toMatchObject({
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
      realm: 'Username-Password-Authentication',
    });
    expect(String((grant.body as { scope: string }).scope)).toContain('offline_access');
    expect(grant.headers['auth0-forwarded-for']).toBeDefined();

    const bearer = { ...anonymous, authorization: `Bearer ${res.body.accessToken}` };
    const info = await service.call('GET', '/userinfo', undefined, bearer);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ sub: user.authUserId, email: user.email, username: user.username, name: 'A', userGroup: 'customer' });
    const reads = calls('GET', /^\/api\/v2\/users/);
    await service.call('GET', '/userinfo', undefined, bearer);
    expect(calls('GET', /^\/api\/v2\/users/)).toBe(reads);
    expect(auth0().requests.some((r) => r.path === '/userinfo')).toBe(false);
  });

  it('answers 401 for a wrong password or a blocked user, 429 when Auth0 locked the account', async () => {
    const user = await newUser();
    expect((await login(user.username, 'Wrong-pass-1')).body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Wrong username or password',
    });
    auth0().users.get(user.authUserId)!.blocked = true;
    expect((await login(user.username, 'Auth0-pass-1')).status).toBe(401);
    auth0().users.get(user.authUserId)!.blocked = false;
    auth0().users.get(user.authUserId)!.failures = 10;
    const before = calls('POST', /^\/oauth\/token$/);
    const locked = await login(user.username, 'Auth0-pass-1');
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBeTruthy();
    // A lockout is no rate limit: asking again cannot pass before it ends (15 minutes), and each
    // retry would send the password once more and hold the request for seconds.
    expect(calls('POST', /^\/oauth\/token$/) - before).toBe(1);
  });

  it("answers a login Auth0 rate-limits with the caller's 429 at once, pausing no Management call", async () => {
    const user = await newUser();
    // An Authentication API limit counts per IP or user (spec/auth0.md): an attacker earns one by
    // failing logins. Its reset is 8 s away: a Management call paused by it would wait for it.
    const reset = Math.ceil(Date.now() / 1000) + 8;
    auth0().failNext('POST', /\/oauth\/token$/, 429, {
      body: { error: 'too_many_requests', error_description: 'Global limit has been reached for this IP' },
      headers: { 'x-ratelimit-limit': '30', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
    });
    const grants = calls('POST', /^\/oauth\/token$/);
    const limited = login(user.username, 'Auth0-pass-1');
    await vi.waitFor(() => expect(calls('POST', /^\/oauth\/token$/)).toBeGreaterThan(grants), { interval: 5 });
    const created = await newUser();
    expect(created.authUserId).toMatch(/^auth0\|/);
    expect(Date.now()).toBeLessThan(reset * 1000 - 1000);
    const answer = await limited;
    expect(answer.status).toBe(429);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(5);
    expect(JSON.stringify(answer.body)).not.toMatch(/Global limit|this IP/);
    // Not sent again: the limit is the caller's, and a retry would only spend more of it.
    expect(calls('POST', /^\/oauth\/token$/) - grants).toBe(1);
  });

  it("answers a change-password mail Auth0 rate-limits with a 429 and Retry-After, in the service's words", async () => {
    const user = await newUser();
    auth0().failNext('POST', /\/dbconnections\/change_password$/, 429, {
      body: { error: 'too_many_requests', error_description: 'Too many requests for this e-mail' },
      headers: { 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 30) },
    });
    const answer = await service.call('POST', '/users/change-password', { authUserId: user.authUserId });
    expect(answer.status).toBe(429);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(25);
    expect(answer.body.message).not.toMatch(/for this e-mail/);
  });

  it('refuses a login over the size limits with a 400 before asking Auth0', async () => {
    const grants = calls('POST', /^\/oauth\/token$/);
    const document = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { __typename } }';
    for (const [u, p] of [
      ['u'.repeat(321), 'Auth0-pass-1'],
      ['someone', 'p'.repeat(1025)],
    ]) {
      expect((await login(u!, p!)).status).toBe(400);
      expect((await service.graphql(document, { u, p }, anonymous)).data.login.__typename).toBe('InvalidInputError');
    }
    expect(calls('POST', /^\/oauth\/token$/)).toBe(grants);
  });

  it.each([
    ['a login', 'login'],
    ['a refresh', 'refresh'],
  ] as const)(
    "answers %s Auth0 refuses with a 400 by its error code: invalid_grant is the caller's 401, the rest a misconfiguration's 500, never Auth0's words",
    async (_name, kind) => {
      const user = await newUser();
      const tokens = (await login(user.username, 'Auth0-pass-1')).body;
      const bearer = { ...anonymous, authorization: `Bearer ${tokens.accessToken}` };
      const send = () =>
        kind === 'login'
          ? login(user.username, 'Auth0-pass-1')
          : service.call('POST', '/refreshtoken', { refreshToken: tokens.refreshToken }, bearer);
      const refusal = (status: number, error: string) =>
        auth0().failNext('POST', /\/oauth\/token$/, status, { body: { error, error_description: `Auth0 says ${error} here` } });
      // RFC 6749 answers a wrong password or a dead refresh token 400 invalid_grant (Auth0 uses 403).
      refusal(400, 'invalid_grant');
      const caller = await send();
      expect(caller.status).toBe(401);
      expect(caller.body.message).toBe(
        kind === 'login' ? 'Wrong username or password' : 'Invalid refresh token: unknown, used already or revoked',
      );
      // What the service itself sent wrong (the connection, the scope, its client's credentials):
      // no wrong password, not counted against the caller; Auth0's code and text go to the log only.
      for (const [status, error] of [
        [400, 'invalid_request'],
        [400, 'invalid_scope'],
        [401, 'invalid_client'],
        // What Auth0 (and the emulator) answers a wrong client secret.
        [401, 'access_denied'],
        [403, 'unauthorized_client'],
      ] as const) {
        refusal(status, error);
        const misconfigured = await send();
        expect(misconfigured.body).toEqual({
          statusCode: 500,
          error: 'Internal Server Error',
          message: `Auth0 POST /oauth/token responded with a ${status} status code`,
        });
      }
    },
  );

  it('refreshes with rotation; a reused refresh token is refused', async () => {
    const user = await newUser();
    const first = (await login(user.username, 'Auth0-pass-1')).body;
    const bearer = { ...anonymous, authorization: `Bearer ${first.accessToken}` };
    const second = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer);
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect((await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer)).status).toBe(401);
  });

  // The upgrade: a login answered by an earlier version left no pair in the session store. Its
  // refresh token is taken with its own access token, as before (refusing it would log every
  // existing session out), and what the refresh answers is paired from then on.
  it('takes a refresh token answered before the token pairs (no pair) with its access token, and pairs the new one', async () => {
    const user = await newUser();
    const old = await grantedByAuth0(user.username);
    const bearerOf = (token: string) => ({ ...anonymous, authorization: `Bearer ${token}` });
    const refreshed = await service.call('POST', '/refreshtoken', { refreshToken: old.refresh_token }, bearerOf(old.access_token));
    expect(refreshed.status).toBe(200);
    const other = (await login(user.username, 'Auth0-pass-1')).body;
    expect((await service.call('POST', '/logout', undefined, bearerOf(refreshed.body.accessToken))).status).toBe(204);
    const carried = await service.call('POST', '/refreshtoken', { refreshToken: refreshed.body.refreshToken }, bearerOf(other.accessToken));
    expect(carried.status).toBe(401);
  });

  it("answers a refresh token answered before the token pairs, carried by another user's access token, as an unknown one", async () => {
    // Unpaired, it reaches Auth0, whose answer names its owner: "Refresh token and access token belong
    // to different users" told the caller the refresh token was a live one.
    const [owner, stranger] = [await newUser(), await newUser()];
    const unpaired = (await grantedByAuth0(owner.username)).refresh_token;
    const carrier = { ...anonymous, authorization: `Bearer ${(await login(stranger.username, 'Auth0-pass-1')).body.accessToken}` };
    const unknown = await service.call('POST', '/refreshtoken', { refreshToken: 'r'.repeat(40) }, carrier);
    const carried = await service.call('POST', '/refreshtoken', { refreshToken: unpaired }, carrier);
    expect(unknown.status).toBe(401);
    expect({ status: carried.status, body: carried.body }).toEqual({ status: 401, body: unknown.body });
  });

  // spec/auth0.md: a refresh answers a new refresh token only when the tenant rotates them.
  it('refreshes on a tenant without rotation (no refresh token answered): the caller keeps its own, now with the new access token', async () => {
    const user = await newUser();
    const first = (await login(user.username, 'Auth0-pass-1')).body;
    const bearerOf = (token: string) => ({ ...anonymous, authorization: `Bearer ${token}` });
    const withoutRotation = async (jti: string) => {
      const claims = { sub: user.authUserId, aud: AUTH0_TEST_TENANT.audience, azp: AUTH0_TEST_TENANT.clientId, jti };
      const body = { access_token: await auth0().signToken(claims), expires_in: 3600, token_type: 'Bearer' };
      auth0().failNext('POST', /\/oauth\/token$/, 200, { body });
    };
    await withoutRotation('norotation-1');
    const second = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearerOf(first.accessToken));
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).toBe(first.refreshToken);
    await withoutRotation('norotation-2');
    const third = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearerOf(second.body.accessToken));
    expect(third.status).toBe(200);
    // The refresh token goes with the newest access token only: a logout of that one ends it.
    expect((await service.call('POST', '/logout', undefined, bearerOf(third.body.accessToken))).status).toBe(204);
    const stale = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearerOf(first.accessToken));
    expect(stale.status).toBe(401);
  });

  it('gives website clients a sid cookie session tied to the Auth0 user, ended by logout', async () => {
    const user = await newUser();
    const res = await websiteLoginAnswer(user.username);
    expect(res.status).toBe(200);
    expect(res.body).toBeUndefined();
    const sid = res.headers.get('set-cookie')!.split(';')[0]!;
    const info = await service.call('GET', '/userinfo', undefined, { ...anonymous, cookie: sid });
    expect(info.body).toMatchObject({ sub: user.authUserId, email: user.email });
    expect((await service.call('POST', '/logout', undefined, { ...anonymous, cookie: sid })).status).toBe(204);
    expect((await service.call('GET', '/userinfo', undefined, { ...anonymous, cookie: sid })).status).toBe(401);
  });

  it('lets a user unblocked through any replica in at its next login, token and cookie, though a replica read it blocked', async () => {
    const user = await newUser();
    const old = { ...anonymous, authorization: `Bearer ${(await login(user.username, 'Auth0-pass-1')).body.accessToken}` };
    const state = (stateTo: string) => service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }]);
    expect((await state('DRAFT')).body).toBe(1);
    // Served (and its identity read blocked) while blocked: 401.
    expect((await service.call('GET', '/userinfo', undefined, old)).status).toBe(401);
    expect((await service.call('GET', '/userinfo', undefined, old)).status).toBe(401);
    expect((await state('PUBLIC')).body).toBe(1);
    const again = await login(user.username, 'Auth0-pass-1');
    expect(again.status).toBe(200);
    const bearer = { ...anonymous, authorization: `Bearer ${again.body.accessToken}` };
    expect((await service.call('GET', '/userinfo', undefined, bearer)).body).toMatchObject({ sub: user.authUserId });
    const cookie = await websiteLogin(user.username);
    expect((await service.call('GET', '/userinfo', undefined, cookie)).body).toMatchObject({ sub: user.authUserId });
  });

  it('lets a user unblocked at Auth0 itself in at its next login, token and cookie, though its block was read and kept', async () => {
    // Blocked and unblocked at Auth0 only (its dashboard, another tool): the profile, and so its
    // version, never changes, so only the credential's issue time tells the kept block is outdated.
    const blockedOnce = async () => {
      const user = await newUser();
      const identity = auth0().users.get(user.authUserId)!;
      const old = { ...anonymous, authorization: `Bearer ${(await login(user.username, 'Auth0-pass-1')).body.accessToken}` };
      identity.blocked = true;
      expect((await service.call('GET', '/userinfo', undefined, old)).status).toBe(401);
      identity.blocked = false;
      return user;
    };
    const first = await blockedOnce();
    const bearer = { ...anonymous, authorization: `Bearer ${(await login(first.username, 'Auth0-pass-1')).body.accessToken}` };
    expect((await service.call('GET', '/userinfo', undefined, bearer)).body).toMatchObject({ sub: first.authUserId });
    const second = await blockedOnce();
    const cookie = await websiteLogin(second.username);
    expect((await service.call('GET', '/userinfo', undefined, cookie)).body).toMatchObject({ sub: second.authUserId });
  });

  it("ends the website session of a user blocked at Auth0 itself: the cookie's next requests ask Auth0 nothing", async () => {
    const user = await newUser();
    const cookie = await websiteLogin(user.username);
    // Blocked before the cookie's first request, so no active identity is kept for it (one is trusted for 60 s).
    const identity = auth0().users.get(user.authUserId)!;
    identity.blocked = true;
    const reads = calls('GET', /^\/api\/v2\/users/);
    for (let round = 0; round < 5; round += 1) expect((await service.call('GET', '/userinfo', undefined, cookie)).status).toBe(401);
    // One read found the block (a blocked identity's cached entry is never trusted for a cookie);
    // before, each of the cookie's requests was a Management API read, a blocked user's way to
    // spend the tenant's rate limit.
    expect(calls('GET', /^\/api\/v2\/users/) - reads).toBe(1);
    // Unblocked at Auth0, the user logs in again: the ended session stays ended.
    identity.blocked = false;
    expect((await service.call('GET', '/userinfo', undefined, cookie)).status).toBe(401);
  });

  it('shows a username or e-mail changed through the service in /userinfo at once, though the identity was read before', async () => {
    const user = await newUser();
    const bearer = { ...anonymous, authorization: `Bearer ${(await login(user.username, 'Auth0-pass-1')).body.accessToken}` };
    // Read (and kept) by every replica.
    for (let turn = 0; turn < 2; turn += 1) expect((await service.call('GET', '/userinfo', undefined, bearer)).body.email).toBe(user.email);
    const renamed = { username: `${user.username}b`, email: `b.${user.email}` };
    expect((await service.call('PATCH', `/users/${user._id}`, renamed)).status).toBe(200);
    for (let turn = 0; turn < 2; turn += 1) {
      expect((await service.call('GET', '/userinfo', undefined, bearer)).body).toMatchObject({ sub: user.authUserId, ...renamed });
    }
    const identityReads = calls('GET', /^\/api\/v2\/users/);
    await service.call('GET', '/userinfo', undefined, bearer);
    // Read again once after the change, not on every request.
    expect(calls('GET', /^\/api\/v2\/users/)).toBe(identityReads);
  });

  it('sends the change-password e-mail through /dbconnections/change_password', async () => {
    const user = await newUser();
    expect((await service.call('POST', '/users/change-password', { authUserId: user.authUserId })).status).toBe(204);
    expect(auth0().passwordEmails).toContain(user.email);
  });

  it('lets administrators log in with Auth0 tokens (the group comes from the profile)', async () => {
    await service.deps.groups.saveGroup(
      { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
      { actorId: 't', headers: {} },
    );
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'admin',
      username: 'a0admin',
      email: 'a0admin@example.com',
      password: 'Admin-pass-1',
    });
    const token = (await login('a0admin', 'Admin-pass-1')).body.accessToken;
    expect((await service.call('GET', '/users/count', undefined, { ...anonymous, authorization: `Bearer ${token}` })).status).toBe(200);
  });
});

/** A service of its own, its users and logins, for the tests that move its clock or change its configuration. */
async function tenantService(options: Parameters<typeof startService>[0]) {
  const tested = await startService({ identity: 'auth0', ...options, env: { RANDOM_PWD_GEN: 'false', ...options?.env } });
  await seedGroups(tested);
  let made = 0;
  return {
    tested,
    async user() {
      made += 1;
      const username = `own${made}`;
      const res = await tested.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'customer',
        username,
        email: `${username}@example.com`,
        name: 'O',
        password: 'Auth0-pass-1',
      });
      expect(res.status).toBe(200);
      const user = (await tested.call('GET', `/users/${res.body._id}`)).body as { username: string; authUserId: string };
      const tokens = (await tested.call('POST', '/oauth/token', { username, password: 'Auth0-pass-1' }, anonymous)).body;
      return { ...user, tokens, bearer: { ...anonymous, authorization: `Bearer ${tokens.accessToken}` } };
    },
    /** The refresh grant asked of Auth0 itself, as any holder of the service's client secret could. */
    async refreshAtAuth0(refreshToken: string) {
      const { clientId, clientSecret } = AUTH0_TEST_TENANT;
      const body = JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: clientId,
        client_secret: clientSecret,
      });
      return (await fetch(`${tested.auth0!.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }))
        .status;
    },
  };
}

describe('AUTH_MODULE=auth0: a bulk change-password job', () => {
  it("makes a user whose mail Auth0 rate-limits a failure in the service's words; the next user gets its mail", async () => {
    const { tested, user } = await tenantService({ background: true });
    try {
      const [first, second] = [await user(), await user()];
      tested.auth0!.failNext('POST', /\/dbconnections\/change_password$/, 429, {
        body: { error: 'too_many_requests', error_description: 'Too many requests for this e-mail' },
        headers: { 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 30) },
      });
      const started = await tested.call('POST', '/jobs/change-password/bulk', { authUsersIds: [first.authUserId, second.authUserId] });
      expect(started.status).toBe(202);
      // Before, the job waited for Auth0's reset (30 s), pausing every Auth0 call meanwhile.
      const job = await vi.waitFor(
        async () => {
          const read = await tested.call('GET', `/jobs/change-password/bulk/${started.body.jobId}`);
          expect(read.body.status).toBe('completed');
          return read.body;
        },
        { timeout: 10_000, interval: 20 },
      );
      expect(job.summary).toEqual({ failed: 1, completed: 1, total: 2 });
      expect(job.failures).toEqual([{ authUserId: first.authUserId, error: expect.stringMatching(/try again later/) }]);
      expect(JSON.stringify(job)).not.toMatch(/for this e-mail/);
      expect(tested.auth0!.passwordEmails).toEqual([`${second.username}@example.com`]);
    } finally {
      await tested.close();
    }
  });
});

describe('AUTH_MODULE=auth0: a bearer logout', () => {
  const clock = new FakeClock();
  let tenant: Awaited<ReturnType<typeof tenantService>>;
  beforeAll(async () => {
    tenant = await tenantService({ clock });
  });
  afterAll(() => tenant.tested.close());

  it('revokes the refresh token sent with it at Auth0, and the access token is refused from then on', async () => {
    const { tested } = tenant;
    const user = await tenant.user();
    expect((await tested.call('GET', '/userinfo', undefined, user.bearer)).status).toBe(200);
    const out = await tested.call('POST', '/logout', { refreshToken: user.tokens.refreshToken }, user.bearer);
    expect(out.status).toBe(204);
    const revoked = tested.auth0!.requests.filter((r) => r.path === '/oauth/revoke');
    expect(revoked.map((r) => r.body)).toEqual([
      { client_id: AUTH0_TEST_TENANT.clientId, client_secret: AUTH0_TEST_TENANT.clientSecret, token: user.tokens.refreshToken },
    ]);
    expect(await tenant.refreshAtAuth0(user.tokens.refreshToken)).toBe(403);
    expect((await tested.call('GET', '/userinfo', undefined, user.bearer)).status).toBe(401);
    expect((await tested.call('POST', '/logout', undefined, user.bearer)).status).toBe(401);
    const refresh = await tested.call('POST', '/refreshtoken', { refreshToken: user.tokens.refreshToken }, user.bearer);
    expect(refresh.status).toBe(401);
  });

  it('keeps /refreshtoken refused for REFRESH_TOKEN_TTL when the refresh token was not sent (it stays alive at Auth0)', async () => {
    const { tested } = tenant;
    const user = await tenant.user();
    expect((await tested.call('POST', '/logout', undefined, user.bearer)).status).toBe(204);
    expect(tested.auth0!.requests.filter((r) => r.path === '/oauth/revoke')).toHaveLength(1);
    // Two days on: the access token (24 h) has expired, the refresh token it came with has not.
    await clock.advance(2 * 86_400_000);
    const refresh = await tested.call('POST', '/refreshtoken', { refreshToken: user.tokens.refreshToken }, user.bearer);
    expect(refresh.status).toBe(401);
  });

  it("ends the logged-out login's refresh token though it was not sent: another live token of the user cannot refresh it", async () => {
    const { tested } = tenant;
    const user = await tenant.user();
    const other = (await tested.call('POST', '/oauth/token', { username: user.username, password: 'Auth0-pass-1' }, anonymous)).body;
    const otherBearer = { ...anonymous, authorization: `Bearer ${other.accessToken}` };
    expect((await tested.call('POST', '/logout', undefined, user.bearer)).status).toBe(204);
    const stolen = await tested.call('POST', '/refreshtoken', { refreshToken: user.tokens.refreshToken }, otherBearer);
    expect(stolen.status).toBe(401);
    // The other login's own pair still refreshes, and so does the pair it rotates to.
    const own = await tested.call('POST', '/refreshtoken', { refreshToken: other.refreshToken }, otherBearer);
    expect(own.status).toBe(200);
    const next = { ...anonymous, authorization: `Bearer ${own.body.accessToken}` };
    expect((await tested.call('POST', '/refreshtoken', { refreshToken: own.body.refreshToken }, next)).status).toBe(200);
  });

  it("answers an upstream error (or Auth0's 429) and denies nothing when Auth0 cannot revoke the refresh token: the logout can be asked again", async () => {
    const { tested } = tenant;
    const user = await tenant.user();
    tested.auth0!.failNext('POST', /\/oauth\/revoke$/, 500);
    const failed = await tested.call('POST', '/logout', { refreshToken: user.tokens.refreshToken }, user.bearer);
    expect(failed.body).toMatchObject({ statusCode: 500, message: 'Auth0 POST /oauth/revoke responded with a 500 status code' });
    expect((await tested.call('GET', '/userinfo', undefined, user.bearer)).status).toBe(200);
    // Auth0's rate limit on revoking: the caller's 429 with Retry-After, in the service's words, not retried.
    tested.auth0!.failNext('POST', /\/oauth\/revoke$/, 429, {
      body: { error: 'too_many_requests', error_description: 'Global limit has been reached' },
      headers: { 'retry-after': '30' },
    });
    const revokes = tested.auth0!.requests.filter((r) => r.path === '/oauth/revoke').length;
    const limited = await tested.call('POST', '/logout', { refreshToken: user.tokens.refreshToken }, user.bearer);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(JSON.stringify(limited.body)).not.toMatch(/Global limit/);
    expect(tested.auth0!.requests.filter((r) => r.path === '/oauth/revoke').length - revokes).toBe(1);
    expect((await tested.call('GET', '/userinfo', undefined, user.bearer)).status).toBe(200);
    expect((await tested.call('POST', '/logout', { refreshToken: user.tokens.refreshToken }, user.bearer)).status).toBe(204);
    expect(await tenant.refreshAtAuth0(user.tokens.refreshToken)).toBe(403);
  });

  it('ends a token Auth0 issued to another application for this API, which is accepted until then', async () => {
    const { tested } = tenant;
    const user = await tenant.user();
    const token = await tested.auth0!.signToken({ sub: user.authUserId, aud: AUTH0_TEST_TENANT.audience, azp: 'integrator-spa' });
    const bearer = { ...anonymous, authorization: `Bearer ${token}` };
    expect((await tested.call('GET', '/userinfo', undefined, bearer)).body).toMatchObject({ sub: user.authUserId });
    expect((await tested.call('POST', '/logout', undefined, bearer)).status).toBe(204);
    expect((await tested.call('GET', '/userinfo', undefined, bearer)).status).toBe(401);
    expect((await tested.call('GET', '/userinfo', undefined, user.bearer)).status).toBe(200);
  });

  it('refuses an ID token as a bearer', async () => {
    const { tested } = tenant;
    const user = await tenant.user();
    const idToken = await tested.auth0!.signToken({ sub: user.authUserId, aud: AUTH0_TEST_TENANT.clientId, email: 'own@example.com' });
    expect((await tested.call('GET', '/userinfo', undefined, { ...anonymous, authorization: `Bearer ${idToken}` })).status).toBe(401);
  });
});

describe("AUTH_MODULE=auth0 without AUTH0_AUDIENCE (the tenant's default audience)", () => {
  let tenant: Awaited<ReturnType<typeof tenantService>>;
  beforeAll(async () => {
    tenant = await tenantService({ env: { AUTH0_AUDIENCE: '' } });
  });
  afterAll(() => tenant.tested.close());

  it("accepts the access tokens of the service's own logins and refreshes", async () => {
    const { tested } = tenant;
    const user = await tenant.user();
    const grant = tested.auth0!.requests.filter((r) => r.path === '/oauth/token').at(-1)!;
    expect(grant.body).not.toHaveProperty('audience');
    expect((await tested.call('GET', '/userinfo', undefined, user.bearer)).body).toMatchObject({ sub: user.authUserId });
    const refreshed = await tested.call('POST', '/refreshtoken', { refreshToken: user.tokens.refreshToken }, user.bearer);
    expect(refreshed.status).toBe(200);
    const bearer = { ...anonymous, authorization: `Bearer ${refreshed.body.accessToken}` };
    expect((await tested.call('GET', '/userinfo', undefined, bearer)).status).toBe(200);
  });

  it('refuses an ID token and a token for another API, signed by the same tenant for the same user', async () => {
    const { tested } = tenant;
    const user = await tenant.user();
    const emulator = tested.auth0!;
    const idToken = await emulator.signToken({ sub: user.authUserId, aud: AUTH0_TEST_TENANT.clientId, email: 'own@example.com' });
    const otherApi = await emulator.signToken({ sub: user.authUserId, aud: 'https://billing.example.com', azp: 'billing-app' });
    const rfc9068 = await emulator.signToken({
      sub: user.authUserId,
      aud: ['https://billing.example.com', `${emulator.url}/userinfo`],
      client_id: 'billing-app',
    });
    for (const token of [idToken, otherApi, rfc9068]) {
      const bearer = { ...anonymous, authorization: `Bearer ${token}` };
      expect((await tested.call('GET', '/userinfo', undefined, bearer)).status).toBe(401);
      expect((await tested.call('POST', '/refreshtoken', { refreshToken: user.tokens.refreshToken }, bearer)).status).toBe(401);
    }
    expect((await tested.call('GET', '/userinfo', undefined, user.bearer)).status).toBe(200);
  });

  it('accepts an access token that names no application (no azp, no client_id), as before', async () => {
    // Auth0's own access tokens name one; a tenant double may not, and refusing them would refuse every login.
    const { tested } = tenant;
    const user = await tenant.user();
    const token = await tested.auth0!.signToken({ sub: user.authUserId, aud: `${tested.auth0!.url}/userinfo`, scope: 'openid' });
    const bearer = { ...anonymous, authorization: `Bearer ${token}` };
    expect((await tested.call('GET', '/userinfo', undefined, bearer)).body).toMatchObject({ sub: user.authUserId });
  });
});

describe('AUTH_MODULE=auth0 under Auth0 rate limits', () => {
  it('completes a burst of creations against a tenant limited to 16 Management requests/s', async () => {
    const limited = await startService({ identity: 'auth0', auth0: { managementRatePerSecond: 16 } });
    try {
      await seedGroups(limited);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, index) =>
          limited.call('POST', '/users/?sendResetPwdEmail=false', {
            userGroup: 'customer',
            username: `burst${index}`,
            email: `burst${index}@example.com`,
            name: 'B',
          }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
      expect(limited.auth0!.users.size).toBe(30);
      expect(limited.auth0!.rateLimitedCount).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('the Management API audience', () => {
  const tenant = 'tenant.example.com';
  const audiences = (emulator: NonNullable<TestService['auth0']>) =>
    emulator.requests
      .filter((r) => r.path === '/oauth/token' && (r.body as { grant_type?: string }).grant_type === 'client_credentials')
      .map((r) => (r.body as { audience: string }).audience);

  /** A service with AUTH0_DOMAIN set beside the emulator's base URL, and a user creation on it. */
  async function withTenant(
    managementAudiences: string[] | undefined,
    run: (create: (username: string) => Promise<number>, emulator: NonNullable<TestService['auth0']>) => Promise<void>,
  ) {
    const tested = await startService({ identity: 'auth0', env: { AUTH0_DOMAIN: tenant }, auth0: { managementAudiences } });
    try {
      await seedGroups(tested);
      const create = async (username: string) =>
        (
          await tested.call('POST', '/users/?sendResetPwdEmail=false', {
            userGroup: 'customer',
            username,
            email: `${username}@example.com`,
            name: 'A',
          })
        ).status;
      await run(create, tested.auth0!);
    } finally {
      await tested.close();
    }
  }

  it("asks for the tenant's own domain behind a custom domain (AUTH0_DOMAIN with AUTH0_BASE_URL)", async () => {
    await withTenant([`https://${tenant}/api/v2/`], async (create, emulator) => {
      expect(await create('aud1')).toBe(200);
      expect(audiences(emulator)).toEqual([`https://${tenant}/api/v2/`]);
    });
  });

  it("falls back to the base URL's audience when the tenant refuses its domain's, and keeps it", async () => {
    await withTenant(undefined, async (create, emulator) => {
      expect(await create('aud2')).toBe(200);
      expect(await create('aud3')).toBe(200);
      expect(audiences(emulator)).toEqual([`https://${tenant}/api/v2/`, `${emulator.url}/api/v2/`]);
      // A 401 renews the token, the other audience first: refused, the granted one is asked again.
      emulator.failNext('POST', /\/api\/v2\/users$/, 401);
      expect(await create('aud4')).toBe(200);
      expect(audiences(emulator).slice(2)).toEqual([`https://${tenant}/api/v2/`, `${emulator.url}/api/v2/`]);
    });
  });

  it('switches audience when the API refuses a token granted for the first one', async () => {
    await withTenant(undefined, async (create, emulator) => {
      emulator.options.grantAnyAudience = true;
      expect(await create('aud5')).toBe(200);
      expect(await create('aud6')).toBe(200);
      expect(audiences(emulator)).toEqual([`https://${tenant}/api/v2/`, `${emulator.url}/api/v2/`]);
    });
  });
});

describe('a connection without usernames', () => {
  it('keeps the username as the Auth0 nickname and still creates the user', async () => {
    const plain = await startService({ identity: 'auth0', auth0: { usernamesRefused: true } });
    try {
      await seedGroups(plain);
      const res = await plain.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'customer',
        username: 'nick',
        email: 'nick@example.com',
        name: 'N',
      });
      expect(res.status).toBe(200);
      const user = (await plain.call('GET', `/users/${res.body._id}`)).body;
      expect(plain.auth0!.users.get(user.authUserId)).toMatchObject({ email: 'nick@example.com' });
      const created = plain.auth0!.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/users').at(-1)!;
      expect(created.body).toMatchObject({ nickname: 'nick' });
      expect(created.body).not.toHaveProperty('username');
    } finally {
      await plain.close();
    }
  });
});
