import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from './helpers/service.js';

/**
 * The admin console as the service serves it (issue #22): a build's files (a stand-in build
 * here: the real one is built and driven in test/e2e/), and the page a service with no build shows.
 */
const built = mkdtempSync(join(tmpdir(), 'ums-console-'));
mkdirSync(join(built, 'assets'));
const INDEX = '<!doctype html><html><head><script type="module" src="/admin/assets/index-AbC123.js"></script></head><body></body></html>';
writeFileSync(join(built, 'index.html'), INDEX);
writeFileSync(join(built, 'assets', 'index-AbC123.js'), 'console.log("console")');

let service: TestService;
let unbuilt: TestService;
beforeAll(async () => {
  service = await startService({ store: 'embedded', identity: 'embedded', env: { CONSOLE_ASSETS_DIR: built, RANDOM_PWD_GEN: 'false' } });
  unbuilt = await startService({ store: 'embedded', identity: 'embedded', env: { CONSOLE_ASSETS_DIR: join(built, 'missing') } });
});
afterAll(async () => {
  await service.close();
  await unbuilt.close();
});

const get = (base: TestService, path: string) => fetch(base.url + path);

describe('the console at /admin', () => {
  it('serves hashed assets for a year, immutable, under a strict CSP', async () => {
    const res = await get(service, '/admin/assets/index-AbC123.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(await res.text()).toBe('console.log("console")');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers index.html, never cached, for /admin and every route of the app', async () => {
    // A link with a malformed escape (%E0) is the app's page too: the app says the page is not found.
    for (const path of [
      '/admin',
      '/admin/',
      '/admin/users',
      '/admin/users/6750abc?x=1',
      '/admin/login?next=%2Fjobs',
      '/admin/users/%E0',
      '/admin/%',
    ]) {
      const res = await get(service, path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
      expect(await res.text(), path).toBe(INDEX);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it('answers 404 for an asset no build wrote (not the app page)', async () => {
    const res = await get(service, '/admin/assets/index-old.js');
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('says how to build the console when it is not built, with a 503 (never a 500)', async () => {
    const res = await get(unbuilt, '/admin/users');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('npm run build');
    expect((await get(unbuilt, '/-/healthz')).status).toBe(200);
  });
});

describe('the console logs in as a website client', () => {
  const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) {
    __typename ... on MutationLoginSuccess { data { accessToken refreshToken } } } }`;
  const PASSWORD = 'Console-horse-9';

  it('gets the HttpOnly sid cookie and no token in the body, whatever WEBSITE_CLIENT_TYPES says', async () => {
    await seedGroups(service);
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'console-user',
      email: 'console-user@example.com',
      name: 'C',
      password: PASSWORD,
    });
    expect(created.status).toBe(200);
    const login = (clientType: string) =>
      fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'client-type': clientType },
        body: JSON.stringify({ query: LOGIN, variables: { u: 'console-user', p: PASSWORD } }),
      });
    const res = await login('ums-console');
    expect((await res.json()).data.login).toEqual({ __typename: 'MutationLoginSuccess', data: { accessToken: null, refreshToken: null } });
    expect(res.headers.get('set-cookie')).toMatch(/^sid=[^;]+;.*HttpOnly/i);
    // Any other client type gets tokens, as before.
    const other = await (await login('some-app')).json();
    expect(other.data.login.data.accessToken).toEqual(expect.any(String));
  });
});
