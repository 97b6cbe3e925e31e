import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * `changeOwnPassword` attacked (docs/security.md): a stolen session guessing the current password
 * in parallel, and a page on another site driving the console's cookie session to it (form, text,
 * multipart, another or a null Origin, a GET). The feature's own cases: test/own-password.test.ts.
 */
const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Correct-horse-9';
const NEW_PASSWORD = 'Battery-staple-7';
const CHANGE = 'mutation ($c: String!, $n: String!) { changeOwnPassword(currentPassword: $c, newPassword: $n) { __typename } }';

let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({
    identity: 'embedded',
    env: { RANDOM_PWD_GEN: 'false', LOGIN_MAX_ATTEMPTS: '3', WEBSITE_CLIENT_TYPES: 'backoffice' },
  });
  await seedGroups(service);
});
afterAll(() => service.close());

async function newUser(): Promise<string> {
  counter += 1;
  const username = `own${counter}`;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: username,
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
  return username;
}

const login = (username: string, password = PASSWORD, headers: Record<string, string> = {}) =>
  service.call('POST', '/oauth/token', { username, password }, { ...anonymous, ...headers });

async function cookieOf(username: string): Promise<string> {
  const res = await login(username, PASSWORD, { 'client-type': 'backoffice' });
  return /^(sid=[^;]+);/.exec(res.headers.get('set-cookie')!)![1]!;
}

describe('changeOwnPassword attacked', () => {
  it('counts parallel guesses of the current password before any hash: no more than LOGIN_MAX_ATTEMPTS are tried', async () => {
    const username = await newUser();
    const auth = { ...anonymous, authorization: `Bearer ${(await login(username)).body.accessToken}` };
    const guesses = Array.from({ length: 8 }, (_, n) => service.graphql(CHANGE, { c: `Guess-number-${n}x`, n: NEW_PASSWORD }, auth));
    const answers = (await Promise.all(guesses)).map((res) => res.data.changeOwnPassword.__typename as string);
    expect(answers.filter((name) => name === 'UnauthorizedError').length).toBeLessThanOrEqual(3);
    expect(answers.filter((name) => name !== 'UnauthorizedError').every((name) => name === 'TooManyRequestsError')).toBe(true);
    // The right password now: still locked, and the password is unchanged.
    const right = await service.graphql(CHANGE, { c: PASSWORD, n: NEW_PASSWORD }, auth);
    expect(right.data.changeOwnPassword.__typename).toBe('TooManyRequestsError');
    expect((await login(username, NEW_PASSWORD)).status).toBe(429);
  });

  it('refuses a current password over 1,024 characters with a 400, before it is counted or hashed', async () => {
    const username = await newUser();
    const auth = { ...anonymous, authorization: `Bearer ${(await login(username)).body.accessToken}` };
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const refused = await service.graphql(CHANGE, { c: 'p'.repeat(1025), n: NEW_PASSWORD }, auth);
      expect(refused.data.changeOwnPassword.__typename).toBe('InvalidInputError');
    }
    expect((await service.graphql(CHANGE, { c: PASSWORD, n: NEW_PASSWORD }, auth)).data.changeOwnPassword.__typename).toBe(
      'MutationChangeOwnPasswordSuccess',
    );
  });

  it('is not reachable from another site through the cookie session, in any shape a page can send', async () => {
    const username = await newUser();
    const cookie = await cookieOf(username);
    const query = encodeURIComponent(CHANGE);
    const variables = encodeURIComponent(JSON.stringify({ c: PASSWORD, n: NEW_PASSWORD }));
    const json = JSON.stringify({ query: CHANGE, variables: { c: PASSWORD, n: NEW_PASSWORD } });
    const multipart = new FormData();
    multipart.append('operations', json);
    multipart.append('map', '{}');
    const forgeries: [string, RequestInit][] = [
      ['form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${query}` }],
      ['text', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: json }],
      ['multipart', { method: 'POST', body: multipart }],
      [
        'JSON from another site',
        { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: json },
      ],
      ['JSON from a null origin', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'null' }, body: json }],
      [
        'JSON from a look-alike origin',
        { method: 'POST', headers: { 'content-type': 'application/json', origin: `${service.url}.evil.example` }, body: json },
      ],
    ];
    for (const [name, init] of forgeries) {
      const res = await fetch(`${service.url}/graphql`, { ...init, headers: { ...(init.headers as object), cookie } });
      expect(res.status, name).toBe(403);
    }
    // A browser's no-cors fetch may send this type without a preflight (its last value is text/plain).
    const mixed = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json, text/plain', cookie },
      body: json,
    });
    expect([403, 415]).toContain(mixed.status);
    const mixedRest = await fetch(`${service.url}/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json, text/plain', cookie },
      body: '{}',
    });
    expect([403, 415]).toContain(mixedRest.status);
    const get = await fetch(`${service.url}/graphql?query=${query}&variables=${variables}`, {
      headers: { cookie, accept: 'application/json' },
    });
    expect([get.status, await get.text()]).toEqual([405, expect.stringContaining('POST')]);
    expect((await login(username, NEW_PASSWORD)).status).toBe(401);
    expect((await login(username, PASSWORD)).status).toBe(200);

    // The console itself (this origin, JSON) may.
    const own = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: service.url, cookie },
      body: json,
    });
    expect((await own.json()).data.changeOwnPassword.__typename).toBe('MutationChangeOwnPasswordSuccess');
    expect((await login(username, NEW_PASSWORD)).status).toBe(200);
  });
});
