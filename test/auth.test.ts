import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from './helpers/fake-clock.js';
import { CONNECTED_IDENTITY, seedGroups, startService, type TestService } from './helpers/service.js';

let service: TestService;
/** The service's clock: tokens expire when the test moves it. */
const clock = new FakeClock();
const PASSWORD = 'Correct-horse-9';
let counter = 0;

beforeAll(async () => {
  service = await startService({ clock, env: { RANDOM_PWD_GEN: 'false', WEBSITE_CLIENT_TYPES: 'backoffice', ACCESS_TOKEN_TTL: '3' } });
  await seedGroups(service);
});
afterAll(() => service.close());

async function newUser(extra: Record<string, unknown> = {}) {
  counter += 1;
  const username = `auth${counter}`;
  const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'A',
    password: PASSWORD,
    ...extra,
  });
  expect(res.status).toBe(200);
  return (await service.call('GET', `/users/${res.body._id}`)).body;
}

const anonymous = { 'x-api-key': '' };
// With Auth0 or the auth0-client the tokens, their keys, their lifetime and their sessions are the
// tenant's: the tests of the embedded provider's own tokens skip there (test/auth0.test.ts covers those).
const bearer = (token: string) => ({ ...anonymous, authorization: `Bearer ${token}` });

async function login(username: string, password = PASSWORD, headers: Record<string, string> = {}) {
  return service.call('POST', '/oauth/token', { username, password }, { ...anonymous, ...headers });
}

describe('POST /oauth/token', () => {
  it.skipIf(CONNECTED_IDENTITY)('answers tokens for a username or an e-mail, signed with a key of the JWKS', async () => {
    const user = await newUser();
    const res = await login(user.username);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expireAt', 'refreshToken']);
    const claims = decodeJwt(res.body.accessToken);
    expect(claims).toMatchObject({
      sub: user.authUserId,
      userGroup: 'customer',
      username: user.username,
      iss: service.deps.config.UMS_BASE_URL,
    });
    expect(res.body.expireAt).toBe(claims.exp);
    expect(claims.exp! - claims.iat!).toBe(3);

    const jwks = (await service.call('GET', '/.well-known/jwks.json', undefined, anonymous)).body;
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const at = new Date(clock.now());
    await expect(jwtVerify(res.body.accessToken, createLocalJWKSet(jwks), { currentDate: at })).resolves.toBeDefined();

    expect((await login(user.email)).status).toBe(200);
  });

  it('answers the same 401 for a wrong password, an unknown user and a blocked user', async () => {
    const user = await newUser();
    const blocked = await newUser({ blocked: true });
    const answers = [await login(user.username, 'Wrong-password-1'), await login('nobody-at-all'), await login(blocked.username)];
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Wrong username or password' });
    }
  });

  it('refuses users whose profile is DRAFT, TRASH or DELETED', async () => {
    const user = await newUser();
    await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }]);
    expect((await login(user.username)).status).toBe(401);
    await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'PUBLIC' }]);
    expect((await login(user.username)).status).toBe(200);
  });

  it('gives a website client only an HttpOnly sid cookie and an empty body', async () => {
    const user = await newUser();
    const res = await login(user.username, PASSWORD, { 'client-type': 'backoffice' });
    expect(res.status).toBe(200);
    expect(res.body).toBeUndefined();
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^sid=[\w-]{40,};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    // The browser's later requests carry the same client-type (the gateway sets it from the API key).
    const browser = { ...anonymous, cookie: cookie.split(';')[0]!, 'client-type': 'backoffice' };
    const info = await service.call('GET', '/userinfo', undefined, browser);
    expect(info.status).toBe(200);
    expect(info.body.sub).toBe(user.authUserId);

    expect((await service.call('POST', '/logout', undefined, browser)).status).toBe(204);
    expect((await service.call('GET', '/userinfo', undefined, browser)).status).toBe(401);
  });

  it('answers 400 for a malformed body', async () => {
    expect((await service.call('POST', '/oauth/token', { username: 'x' }, anonymous)).status).toBe(400);
  });
});

describe('POST /refreshtoken', () => {
  it.skipIf(CONNECTED_IDENTITY)('rotates the pair, works with an expired access token, and detects reuse', async () => {
    const user = await newUser();
    const first = (await login(user.username)).body;
    expect((await service.call('GET', '/userinfo', undefined, bearer(first.accessToken))).status).toBe(200);
    // The access token (3 s) runs out: 3.1 s later on the service's clock, no sleep.
    await clock.advance(3100);
    expect((await service.call('GET', '/userinfo', undefined, bearer(first.accessToken))).status).toBe(401);

    const second = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken));
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect((await service.call('GET', '/userinfo', undefined, bearer(second.body.accessToken))).status).toBe(200);

    const reused = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken));
    expect(reused.status).toBe(401);
    // Reuse revoked the whole session: the newest refresh token and its access token stop working too.
    expect(
      (await service.call('POST', '/refreshtoken', { refreshToken: second.body.refreshToken }, bearer(second.body.accessToken))).status,
    ).toBe(401);
    expect((await service.call('GET', '/userinfo', undefined, bearer(second.body.accessToken))).status).toBe(401);
  });

  it('needs the access token of the same user', async () => {
    const a = (await login((await newUser()).username)).body;
    const b = (await login((await newUser()).username)).body;
    expect((await service.call('POST', '/refreshtoken', { refreshToken: a.refreshToken }, bearer(b.accessToken))).status).toBe(401);
    expect((await service.call('POST', '/refreshtoken', { refreshToken: a.refreshToken }, anonymous)).status).toBe(401);
    const madeUp = await service.call('POST', '/refreshtoken', { refreshToken: 'made-up' }, bearer(b.accessToken));
    expect(madeUp.status).toBe(401);
    // Whatever the identity provider: the refresh token is what was refused, not a password.
    expect(madeUp.body.message).toMatch(/refresh token/i);
  });

  it('stops working once the user is blocked', async () => {
    const user = await newUser();
    const tokens = (await login(user.username)).body;
    await service.call('PATCH', `/users/${user._id}`, { $set: { blocked: true } });
    expect((await service.call('POST', '/refreshtoken', { refreshToken: tokens.refreshToken }, bearer(tokens.accessToken))).status).toBe(
      401,
    );
  });
});

describe('POST /logout', () => {
  // With Auth0 and the auth0-client too (their tokens carry no session of ours: they were accepted
  // until they expired); under UMS_TEST_REPLICAS=2 each request reaches the other replica than the one before.
  it('ends the session: its access and refresh tokens stop working', async () => {
    const tokens = (await login((await newUser()).username)).body;
    expect((await service.call('POST', '/logout', undefined, bearer(tokens.accessToken))).status).toBe(204);
    expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.accessToken))).status).toBe(401);
    expect((await service.call('POST', '/refreshtoken', { refreshToken: tokens.refreshToken }, bearer(tokens.accessToken))).status).toBe(
      401,
    );
    expect((await service.call('POST', '/logout', undefined, anonymous)).status).toBe(401);
  });

  // With Auth0 and the auth0-client the refresh token is theirs and was not sent with the logout:
  // it once refreshed with any other live token of the user (docs/decisions.md, Auth0 "Sessions").
  it("ends the session's refresh token for good: another live login of the user cannot carry it", async () => {
    const user = await newUser();
    const [first, second] = [(await login(user.username)).body, (await login(user.username)).body];
    expect((await service.call('POST', '/logout', undefined, bearer(first.accessToken))).status).toBe(204);
    const carried = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(second.accessToken));
    expect(carried.status).toBe(401);
    const own = await service.call('POST', '/refreshtoken', { refreshToken: second.refreshToken }, bearer(second.accessToken));
    expect(own.status).toBe(200);
    expect((await service.call('GET', '/userinfo', undefined, bearer(own.body.accessToken))).status).toBe(200);
  });

  // The pair a refresh answers is remembered as a login's is: else its refresh token had no pair and
  // was taken with any live token of the user once its access token was logged out.
  it("ends a refreshed session's new refresh token with the logout of its new access token", async () => {
    const user = await newUser();
    const [first, second] = [(await login(user.username)).body, (await login(user.username)).body];
    const refreshed = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken));
    expect(refreshed.status).toBe(200);
    expect((await service.call('POST', '/logout', undefined, bearer(refreshed.body.accessToken))).status).toBe(204);
    const carried = await service.call('POST', '/refreshtoken', { refreshToken: refreshed.body.refreshToken }, bearer(second.accessToken));
    expect(carried.status).toBe(401);
  });

  /** A login refreshed twice: the three access tokens of one refresh chain, oldest first, and the newest refresh token. */
  async function refreshedTwice() {
    const first = (await login((await newUser()).username)).body;
    const second = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken));
    expect(second.status).toBe(200);
    const third = await service.call('POST', '/refreshtoken', { refreshToken: second.body.refreshToken }, bearer(second.body.accessToken));
    expect(third.status).toBe(200);
    return { tokens: [first, second.body, third.body] as { accessToken: string; refreshToken: string }[] };
  }

  // With Auth0 and the auth0-client the access tokens a refresh replaced stayed valid until their
  // `exp` (24 h by Auth0's default) after the logout of the newest: the embedded provider ends them all.
  it('ends every access token of a refresh chain: log in, refresh twice, log out with the newest token: all three are 401', async () => {
    const { tokens } = await refreshedTwice();
    for (const { accessToken } of tokens) expect((await service.call('GET', '/userinfo', undefined, bearer(accessToken))).status).toBe(200);
    expect((await service.call('POST', '/logout', undefined, bearer(tokens[2]!.accessToken))).status).toBe(204);
    for (let turn = 0; turn < 2; turn += 1)
      for (const { accessToken } of tokens)
        expect((await service.call('GET', '/userinfo', undefined, bearer(accessToken))).status).toBe(401);
    for (const { accessToken, refreshToken } of tokens)
      expect((await service.call('POST', '/refreshtoken', { refreshToken }, bearer(accessToken))).status).toBe(401);
  });

  it('ends the newer access tokens of the chain too when the logout is sent with one a refresh replaced', async () => {
    const { tokens } = await refreshedTwice();
    expect((await service.call('POST', '/logout', undefined, bearer(tokens[0]!.accessToken))).status).toBe(204);
    for (const { accessToken } of tokens) expect((await service.call('GET', '/userinfo', undefined, bearer(accessToken))).status).toBe(401);
    // The newest refresh token is alive at the provider: its access token stays denied after every token has expired.
    const newest = tokens[2]!;
    for (const later of [0, 2 * 86_400_000]) {
      await clock.advance(later);
      const refreshed = await service.call('POST', '/refreshtoken', { refreshToken: newest.refreshToken }, bearer(newest.accessToken));
      expect(refreshed.status).toBe(401);
    }
  });

  // The older tokens are denied as long as they can be valid (Auth0: the caller's token's lifetime;
  // the auth0-client: REFRESH_TOKEN_TTL), not only the ten minutes a replaced pair is kept.
  it('keeps the older access tokens of the chain ended past the ten minutes a replaced pair is kept', async () => {
    const { tokens } = await refreshedTwice();
    expect((await service.call('POST', '/logout', undefined, bearer(tokens[2]!.accessToken))).status).toBe(204);
    await clock.advance(11 * 60_000);
    for (const { accessToken } of tokens) expect((await service.call('GET', '/userinfo', undefined, bearer(accessToken))).status).toBe(401);
  });

  // The second logout of a denied token meets the entry the first wrote (embedded file, or the CRUD
  // collection's unique key under SESSIONS_CRUD_ENDPOINT): every store answers it alike.
  it('answers a double logout of one token, at once, without a server error, and the token stays ended', async () => {
    const tokens = (await login((await newUser()).username)).body;
    const answers = await Promise.all([
      service.call('POST', '/logout', { refreshToken: tokens.refreshToken }, bearer(tokens.accessToken)),
      service.call('POST', '/logout', undefined, bearer(tokens.accessToken)),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual(expect.arrayContaining([204]));
    for (const answer of answers) expect([204, 401]).toContain(answer.status);
    expect((await service.call('POST', '/logout', undefined, bearer(tokens.accessToken))).status).toBe(401);
    for (let turn = 0; turn < 2; turn += 1) {
      expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.accessToken))).status).toBe(401);
      const refresh = await service.call('POST', '/refreshtoken', { refreshToken: tokens.refreshToken }, bearer(tokens.accessToken));
      expect(refresh.status).toBe(401);
    }
  });

  it('ends the session through GraphQL logout too, on every replica', async () => {
    const tokens = (await login((await newUser()).username)).body;
    const out = await service.graphql(
      'mutation { logout { ... on MutationLogoutSuccess { data } } }',
      undefined,
      bearer(tokens.accessToken),
    );
    expect(out.data.logout.data).toBe(true);
    for (let turn = 0; turn < 2; turn += 1)
      expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.accessToken))).status).toBe(401);
  });
});

/** Auth0 with its session store in the CRUD collection (SESSIONS_CRUD_ENDPOINT), whose failure a test can inject. */
const PAIRS_IN_CRUD = process.env.UMS_TEST_STORE === 'crud' && process.env.UMS_TEST_IDENTITY === 'auth0';

describe.skipIf(!PAIRS_IN_CRUD)('the session store failing (SESSIONS_CRUD_ENDPOINT)', () => {
  // A login whose token pair could not be written answers no tokens: an unpaired refresh token is
  // taken with any live token of its user, which no logout without `refreshToken` would end. A
  // logout that could not write its denial says so: the token is not ended behind the caller's back.
  it('answers a 500 and no tokens for a login it could not pair, and a 500 for a logout it could not record', async () => {
    const user = await newUser();
    service.crud!.failNext('POST', /\/sessions\//, 503);
    const unpaired = await login(user.username);
    expect(unpaired.status).toBe(500);
    expect(unpaired.body).not.toHaveProperty('refreshToken');
    const tokens = (await login(user.username)).body;
    service.crud!.failNext('POST', /\/sessions\//, 503);
    expect((await service.call('POST', '/logout', undefined, bearer(tokens.accessToken))).status).toBe(500);
    expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.accessToken))).status).toBe(200);
    expect((await service.call('POST', '/logout', undefined, bearer(tokens.accessToken))).status).toBe(204);
    expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.accessToken))).status).toBe(401);
  });

  // The chain's other tokens are denied before the caller's: a failure leaves the caller's working, and the logout can be asked again.
  it('answers a 500 for a logout that could not end the tokens a refresh replaced, and ends them all when asked again', async () => {
    const first = (await login((await newUser()).username)).body;
    const second = (await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken))).body;
    service.crud!.failNext('POST', /\/sessions\//, 503);
    expect((await service.call('POST', '/logout', undefined, bearer(second.accessToken))).status).toBe(500);
    expect((await service.call('GET', '/userinfo', undefined, bearer(second.accessToken))).status).toBe(200);
    expect((await service.call('POST', '/logout', undefined, bearer(second.accessToken))).status).toBe(204);
    for (const { accessToken } of [first, second])
      expect((await service.call('GET', '/userinfo', undefined, bearer(accessToken))).status).toBe(401);
  });
  // A 400 of the sessions collection that is not its missing `chain` field: before, the chain read
  // took any 400 for "no chain" (the logout answered 204, the older tokens kept working), and a pair
  // write's 400 reached the caller with the CRUD's own text. The store's failure is the service's: a 500, no backend text.
  // A refresh and a logout of the same chain at once: the logout read the chain before the refresh
  // wrote its pair, and the refresh had checked its access token before the logout denied it. The
  // new access token was in no chain the logout read, and worked.
  it('ends the new token of a refresh that was under way while its access token was logged out', async () => {
    const first = (await login((await newUser()).username)).body;
    const hold = service.crud!.holdNext('GET', /\/sessions\//, /"cookieHash":"refresh:/);
    const refreshing = service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken));
    await hold.reached;
    expect((await service.call('POST', '/logout', undefined, bearer(first.accessToken))).status).toBe(204);
    hold.release();
    const refreshed = await refreshing;
    expect(refreshed.status).toBe(401);
    expect((await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken))).status).toBe(401);
  });

  it('ends the new token of a refresh made while a logout of its access token was reading the chain', async () => {
    const first = (await login((await newUser()).username)).body;
    const hold = service.crud!.holdNext('GET', /\/sessions\//, /"chain"/);
    const loggingOut = service.call('POST', '/logout', undefined, bearer(first.accessToken));
    await hold.reached;
    const refreshed = await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken));
    expect(refreshed.status).toBe(200);
    hold.release();
    expect((await loggingOut).status).toBe(204);
    for (const { accessToken } of [first, refreshed.body])
      expect((await service.call('GET', '/userinfo', undefined, bearer(accessToken))).status).toBe(401);
    const again = await service.call(
      'POST',
      '/refreshtoken',
      { refreshToken: refreshed.body.refreshToken },
      bearer(refreshed.body.accessToken),
    );
    expect(again.status).toBe(401);
  });

  it('answers a 500 without the CRUD text for a 400 of the sessions collection while a logout reads the chain, and ends the chain when asked again', async () => {
    const first = (await login((await newUser()).username)).body;
    const second = (await service.call('POST', '/refreshtoken', { refreshToken: first.refreshToken }, bearer(first.accessToken))).body;
    // The chain's read, by the caller's token (the token's own check before it reads its denial).
    service.crud!.failNext('GET', /\/sessions\//, 400, { message: 'mongo said: secret-backend-text' }, /"chain"/);
    const failed = await service.call('POST', '/logout', undefined, bearer(second.accessToken));
    expect(failed.status).toBe(500);
    expect(JSON.stringify(failed.body)).not.toContain('secret-backend-text');
    expect((await service.call('GET', '/userinfo', undefined, bearer(second.accessToken))).status).toBe(200);
    expect((await service.call('POST', '/logout', undefined, bearer(second.accessToken))).status).toBe(204);
    for (const { accessToken } of [first, second])
      expect((await service.call('GET', '/userinfo', undefined, bearer(accessToken))).status).toBe(401);
  });

  it('answers a 500 without the CRUD text for a 400 of the sessions collection while a login or a refresh pairs its tokens', async () => {
    const user = await newUser();
    service.crud!.failNext('POST', /\/sessions\//, 400, { message: 'mongo said: secret-backend-text' });
    const unpaired = await login(user.username);
    expect(unpaired.status).toBe(500);
    expect(JSON.stringify(unpaired.body)).not.toContain('secret-backend-text');
    const tokens = (await login(user.username)).body;
    service.crud!.failNext('POST', /\/sessions\//, 400, { message: 'mongo said: secret-backend-text' });
    const refreshed = await service.call('POST', '/refreshtoken', { refreshToken: tokens.refreshToken }, bearer(tokens.accessToken));
    expect(refreshed.status).toBe(500);
    expect(JSON.stringify(refreshed.body)).not.toContain('secret-backend-text');
  });
});

describe('a blocked or deleted user', () => {
  it('is refused with its access token at once, on every replica', async () => {
    const blocked = await newUser();
    const deleted = await newUser();
    const tokens = { blocked: (await login(blocked.username)).body.accessToken, deleted: (await login(deleted.username)).body.accessToken };
    expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.blocked))).status).toBe(200);
    expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.deleted))).status).toBe(200);
    expect((await service.call('PATCH', `/users/${blocked._id}`, { $set: { blocked: true } })).status).toBe(200);
    expect((await service.call('DELETE', `/users/${deleted._id}`)).status).toBe(204);
    for (let turn = 0; turn < 2; turn += 1) {
      expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.blocked))).status).toBe(401);
      expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.deleted))).status).toBe(401);
    }
  });
});

describe('signing keys', () => {
  it.skipIf(CONNECTED_IDENTITY)('keeps tokens signed with a rotated key valid and publishes both keys', async () => {
    const tokens = (await login((await newUser()).username)).body;
    await (service.deps as unknown as { keys: { rotate(): Promise<unknown> } }).keys.rotate();
    expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.accessToken))).status).toBe(200);
    const fresh = (await login((await newUser()).username)).body;
    const kids = (await service.call('GET', '/.well-known/jwks.json', undefined, anonymous)).body.keys.map(
      (key: { kid: string }) => key.kid,
    );
    expect(kids).toHaveLength(2);
    const header = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid;
    expect(kids).toEqual(expect.arrayContaining([header(tokens.accessToken), header(fresh.accessToken)]));
  });
});

/** With UMS_TEST_REPLICAS=2 each request reaches the other replica than the one before. */
describe('changes made through one replica, seen on every replica', () => {
  it('lets a user unblocked in at its next login, though it was refused (and its identity read) while blocked', async () => {
    const user = await newUser();
    const old = (await login(user.username)).body.accessToken;
    const state = (stateTo: string) => service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo }]);
    expect((await state('DRAFT')).body).toBe(1);
    for (let turn = 0; turn < 2; turn += 1) expect((await service.call('GET', '/userinfo', undefined, bearer(old))).status).toBe(401);
    expect((await state('PUBLIC')).body).toBe(1);
    const fresh = (await login(user.username)).body.accessToken;
    for (let turn = 0; turn < 2; turn += 1) {
      expect((await service.call('GET', '/userinfo', undefined, bearer(fresh))).body).toMatchObject({ sub: user.authUserId });
    }
  });

  // The embedded provider's tokens carry the username and e-mail as signed claims, until refreshed.
  it.skipIf(!CONNECTED_IDENTITY)('shows a changed username and e-mail in /userinfo at the next request', async () => {
    const user = await newUser();
    const token = (await login(user.username)).body.accessToken;
    for (let turn = 0; turn < 2; turn += 1)
      expect((await service.call('GET', '/userinfo', undefined, bearer(token))).body.email).toBe(user.email);
    const renamed = { username: `${user.username}x`, email: `x.${user.email}` };
    expect((await service.call('PATCH', `/users/${user._id}`, renamed)).status).toBe(200);
    for (let turn = 0; turn < 2; turn += 1) {
      expect((await service.call('GET', '/userinfo', undefined, bearer(token))).body).toMatchObject(renamed);
    }
  });
});
