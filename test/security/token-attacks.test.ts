import { generateKeyPair, exportSPKI, SignJWT, type CryptoKey } from 'jose';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_API_KEY } from '../helpers/admins.js';
import { AUTH0_TEST_TENANT, CONNECTED_IDENTITY, seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * Forged, stale and malformed bearer tokens against the routes that read one (`/userinfo`, GraphQL
 * `me`, `/logout`, `/refreshtoken`), in every identity project: each is a 401 (GraphQL's
 * `UnauthorizedError`), never a server error, and none of them opens the identity provider's
 * breaker (the auth0-client is asked about every token it does not know).
 */
const PASSWORD = 'Token-attack-1';
let service: TestService;
let made = 0;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

async function loggedIn() {
  made += 1;
  const username = `tokattack${made}`;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'T',
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
  const tokens = (await service.call('POST', '/oauth/token', { username, password: PASSWORD }, NO_API_KEY)).body;
  const user = (await service.call('GET', `/users/${created.body._id}`)).body as { authUserId: string };
  return { authUserId: user.authUserId, tokens };
}

const bearer = (token: string) => ({ ...NO_API_KEY, authorization: `Bearer ${token}` });

/** What each route answers the token: the statuses, GraphQL's `me` as its type name. */
async function answers(token: string, authorization = `Bearer ${token}`) {
  const headers = { ...NO_API_KEY, authorization };
  const me = await service.graphql('{ me { __typename } }', undefined, headers);
  return {
    userinfo: (await service.call('GET', '/userinfo', undefined, headers)).status,
    me: me.data?.me?.__typename ?? me.errors?.[0]?.extensions?.code,
    logout: (await service.call('POST', '/logout', undefined, headers)).status,
    refresh: (await service.call('POST', '/refreshtoken', { refreshToken: 'some-refresh-token' }, headers)).status,
  };
}
const REFUSED = { userinfo: 401, me: 'UnauthorizedError', logout: 401, refresh: 401 };

describe('malformed bearer tokens, whatever the identity provider', () => {
  it.each([
    ['a huge token (12,000 characters)', `${'a'.repeat(6000)}.${'b'.repeat(6000)}`],
    ['a JWT of 12,000 characters', `eyJhbGciOiJSUzI1NiJ9.${'e'.repeat(12_000)}.c2ln`],
    ['a token of non-ASCII bytes', 'ab\u00ffcd\u00e9'],
  ])('%s is a 401 on every route, six times over, and the next real token still works', async (_name, token) => {
    const { tokens } = await loggedIn();
    for (let turn = 0; turn < 6; turn += 1) expect(await answers(token)).toEqual(REFUSED);
    expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.accessToken))).status).toBe(200);
  });

  it("answers a token holding control characters (sent raw: no HTTP client sends one) with a 401, or the parser's 400", async () => {
    const { tokens } = await loggedIn();
    const { hostname, port } = new URL(service.url);
    for (const token of ['abc\u007fdef', 'abc\u0001def']) {
      for (let turn = 0; turn < 6; turn += 1) {
        const status = await new Promise<number>((resolve, reject) => {
          const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''), () =>
            socket.end(`GET /userinfo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`, 'latin1'),
          );
          let answer = '';
          socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
          socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1])));
          socket.on('error', reject);
        });
        expect([400, 401]).toContain(status);
      }
    }
    expect((await service.call('GET', '/userinfo', undefined, bearer(tokens.accessToken))).status).toBe(200);
  });

  it('takes a real token after more than one space, refuses one with a space or a second token in it', async () => {
    const { tokens } = await loggedIn();
    const token = tokens.accessToken as string;
    expect((await service.call('GET', '/userinfo', undefined, { ...NO_API_KEY, authorization: `Bearer   ${token}` })).status).toBe(200);
    const half = Math.floor(token.length / 2);
    for (const authorization of [`Bearer ${token.slice(0, half)} ${token.slice(half)}`, `Bearer ${token} ${token}`, `Bearer${token}`]) {
      expect(await answers(token, authorization)).toEqual(REFUSED);
    }
    expect((await service.call('GET', '/userinfo', undefined, bearer(token))).status).toBe(200);
  });
});

/** The tenant's own signing key, as only Auth0 holds it: what a forgery with it would be. */
const tenantKey = () => (service.auth0 as unknown as { keys: { privateKey: CryptoKey; publicKey: CryptoKey } }).keys;
const ACCESS = () => ({ aud: AUTH0_TEST_TENANT.audience, azp: AUTH0_TEST_TENANT.clientId, scope: 'openid profile email offline_access' });

function signed(claims: Record<string, unknown>, options: { key?: CryptoKey; kid?: string; iss?: string; expiresIn?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'emulator-key' })
    .setIssuer(options.iss ?? `${service.auth0!.url}/`)
    .setIssuedAt(now - 60)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .sign(options.key ?? tenantKey().privateKey);
}

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.skipIf(process.env.UMS_TEST_IDENTITY !== 'auth0')('forged and stale Auth0 tokens', () => {
  it('refuses alg none, HS256 keyed with the public key, a foreign key, an unknown kid, another issuer and an expired token', async () => {
    const { authUserId } = await loggedIn();
    const claims = { sub: authUserId, ...ACCESS() };
    const now = Math.floor(Date.now() / 1000);
    const payload = { ...claims, iss: `${service.auth0!.url}/`, iat: now, exp: now + 3600 };
    const pem = await exportSPKI(tenantKey().publicKey);
    const foreign = (await generateKeyPair('RS256', { extractable: true })).privateKey;
    const hs256 = (secret: Uint8Array) => new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'emulator-key' }).sign(secret);
    const forged = {
      none: `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`,
      hs256Pem: await hs256(new TextEncoder().encode(pem)),
      foreignKey: await signed(claims, { key: foreign }),
      foreignKid: await signed(claims, { key: foreign, kid: 'not-a-tenant-key' }),
      unknownKid: await signed(claims, { kid: 'rotated-away' }),
      otherIssuer: await signed(claims, { iss: 'https://evil.example/' }),
      expired: await signed(claims, { expiresIn: -30 }),
    };
    for (const [name, token] of Object.entries(forged)) expect({ name, ...(await answers(token)) }).toEqual({ name, ...REFUSED });
    expect((await service.call('GET', '/userinfo', undefined, bearer(await signed(claims)))).status).toBe(200);
  });

  it('takes an audience array naming the API (as Auth0 issues with /userinfo), refuses one naming the client (an ID token)', async () => {
    const { authUserId } = await loggedIn();
    const api = AUTH0_TEST_TENANT.audience;
    const withUserinfo = await signed({ ...ACCESS(), sub: authUserId, aud: [api, `${service.auth0!.url}/userinfo`] });
    expect((await service.call('GET', '/userinfo', undefined, bearer(withUserinfo))).body).toMatchObject({ sub: authUserId });
    const idToken = await signed({ ...ACCESS(), sub: authUserId, aud: [api, AUTH0_TEST_TENANT.clientId] });
    expect(await answers(idToken)).toEqual(REFUSED);
    const otherApi = await signed({ ...ACCESS(), sub: authUserId, aud: ['https://other-api.example'] });
    expect(await answers(otherApi)).toEqual(REFUSED);
  });

  it('refuses a token of a user that does not exist, or names no subject', async () => {
    for (const claims of [{ sub: 'auth0|nobody-here' }, {}])
      expect(await answers(await signed({ ...ACCESS(), ...claims }))).toEqual(REFUSED);
  });
});

describe('a refresh token of any length', () => {
  it('is a 400 over 4,096 characters on /refreshtoken and /logout, REST and GraphQL, before the identity provider is asked', async () => {
    const { tokens } = await loggedIn();
    const long = 'r'.repeat(4097);
    const upstreamCalls = () => service.auth0?.requests.filter((r) => /^\/oauth\/(token|revoke)$/.test(r.path)).length ?? 0;
    const before = upstreamCalls();
    const headers = bearer(tokens.accessToken);
    expect((await service.call('POST', '/refreshtoken', { refreshToken: long }, headers)).status).toBe(400);
    expect((await service.call('POST', '/logout', { refreshToken: long }, headers)).status).toBe(400);
    const refreshed = await service.graphql(
      'mutation ($r: String!) { refreshToken(refreshToken: $r) { __typename } }',
      { r: long },
      headers,
    );
    expect(refreshed.data.refreshToken.__typename).toBe('InvalidInputError');
    const out = await service.graphql('mutation ($r: String) { logout(refreshToken: $r) { __typename } }', { r: long }, headers);
    expect(out.data.logout.__typename).toBe('InvalidInputError');
    expect(upstreamCalls()).toBe(before);
    // Nothing was ended: the pair still works.
    expect((await service.call('GET', '/userinfo', undefined, headers)).status).toBe(200);
    expect((await service.call('POST', '/refreshtoken', { refreshToken: tokens.refreshToken }, headers)).status).toBe(200);
  });
});

describe('a refresh token carried by another access token', () => {
  // Whether a refresh token is one the service answered (remembered with its own access token, Auth0
  // and the auth0-client) must not show: the answer is that of a refresh token nobody issued. (The
  // embedded provider takes a refresh token with any live token of its user: its session is ours.)
  it.skipIf(!CONNECTED_IDENTITY)("is answered as an unknown one: another login of its user's bearer, or another user's", async () => {
    const owner = await loggedIn();
    const stranger = await loggedIn();
    const again = await service.call('POST', '/oauth/token', { username: `tokattack${made - 1}`, password: PASSWORD }, NO_API_KEY);
    expect(again.status).toBe(200);
    for (const carrier of [again.body.accessToken, stranger.tokens.accessToken]) {
      const unknown = await service.call('POST', '/refreshtoken', { refreshToken: 'r'.repeat(40) }, bearer(carrier));
      const carried = await service.call('POST', '/refreshtoken', { refreshToken: owner.tokens.refreshToken }, bearer(carrier));
      expect(unknown.status).toBe(401);
      expect(carried.body).toEqual(unknown.body);
    }
  });
  // The embedded provider answered "Refresh token and access token belong to different users" for a
  // live refresh token carried by another user's access token, and "Refresh token already used: the
  // session has been revoked" for a used one, where an unknown or revoked one was "Invalid refresh
  // token": any live token told whether a refresh token was ever issued.
  it.skipIf(CONNECTED_IDENTITY)('is answered as an unknown one by the embedded provider, as a used or a revoked one is', async () => {
    const stranger = await loggedIn();
    const owner = await loggedIn();
    const used = await loggedIn();
    const revoked = await loggedIn();
    const next = await service.call('POST', '/refreshtoken', { refreshToken: used.tokens.refreshToken }, bearer(used.tokens.accessToken));
    expect(next.status).toBe(200);
    expect((await service.call('POST', '/logout', undefined, bearer(revoked.tokens.accessToken))).status).toBe(204);
    const refresh = (refreshToken: string, carrier = stranger.tokens.accessToken) =>
      service.call('POST', '/refreshtoken', { refreshToken }, bearer(carrier));
    const unknown = await refresh('r'.repeat(40));
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toBe('Invalid refresh token: unknown, used already or revoked');
    const answers = [
      await refresh(owner.tokens.refreshToken),
      await refresh(revoked.tokens.refreshToken),
      await refresh(used.tokens.refreshToken, next.body.accessToken),
      await refresh(used.tokens.refreshToken),
    ];
    for (const answer of answers) expect({ status: answer.status, body: answer.body }).toEqual({ status: 401, body: unknown.body });
  });
});
