import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { GUEST_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/** Issue #16, part 6: what a stranger's request gets before anything of it is read, and forged form posts. */
let service: TestService;

beforeAll(async () => {
  service = await startService();
  await seedGroups(service, [GUEST_GROUP]);
});
afterAll(() => service.close());

const send = (path: string, init: RequestInit) => fetch(service.url + path, init);

describe('credentials before the body', () => {
  it('answers an anonymous malformed body with 401, not the parser 400', async () => {
    const res = await send('/users/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('answers an anonymous oversized body with 401, not 413', async () => {
    const body = JSON.stringify({ userGroup: 'guest', name: 'x'.repeat(2 * 1_048_576) });
    const res = await send('/users/', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(401);
  });

  it('reads no upload sent with another method than POST: GraphQL has GET and POST only', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const form = new FormData();
      form.append('operations', '{bad');
      form.append('map', '{}');
      const res = await fetch(`${service.url}/graphql`, { method, body: form });
      const text = await res.text();
      expect([method, res.status]).toEqual([method, 405]);
      expect(text).not.toContain('multipart');
    }
  });

  it('refuses an anonymous GraphQL upload before spooling it, and an anonymous REST upload', async () => {
    const operations = JSON.stringify({ query: 'mutation($f: Upload!) { importUsers(file: $f) { __typename } }', variables: { f: null } });
    const form = new FormData();
    form.append('operations', operations);
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob(['userGroup,name\nguest,a\n']), 'users.csv');
    expect((await send('/graphql', { method: 'POST', body: form })).status).toBe(401);
    const rest = new FormData();
    rest.append('file', new Blob(['userGroup,name\nguest,a\n']), 'users.csv');
    expect((await send('/users/import', { method: 'PATCH', body: rest })).status).toBe(401);
    expect((await service.call('GET', '/users/count?name=a')).body).toBe(0);
  });
});

describe('JSON routes take JSON only', () => {
  it('refuses a form post that would create a user, with 415, and creates nothing', async () => {
    const before = (await service.call('GET', '/users/count')).body;
    const res = await send('/users/', {
      method: 'POST',
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'userGroup=guest&name=forged',
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
    for (const type of ['text/plain', 'multipart/form-data; boundary=x']) {
      const other = await send('/users/', { method: 'POST', headers: { 'x-api-key': TEST_API_KEY, 'content-type': type }, body: '{}' });
      expect(other.status, type).toBe(415);
    }
    expect((await service.call('GET', '/users/count')).body).toBe(before);
  });

  it('refuses a form post to GraphQL', async () => {
    const res = await send('/graphql', {
      method: 'POST',
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${encodeURIComponent('mutation { deleteUser(id: "x") { __typename } }')}`,
    });
    expect(res.status).toBe(415);
  });

  it('still takes JSON with a charset and +json types', async () => {
    const res = await send('/users/', {
      method: 'POST',
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ userGroup: 'guest', name: 'charset' }),
    });
    expect(res.status).toBe(200);
  });
});

describe('requests that the sid cookie alone authenticates', () => {
  const cookie = { cookie: 'sid=whatever' };

  it('refuses another site as Origin before anything else', async () => {
    const res = await send('/logout', { method: 'POST', headers: { ...cookie, origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    const graphql = await send('/graphql', {
      method: 'POST',
      headers: { ...cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { __typename } }' }),
    });
    expect(graphql.status).toBe(403);
  });

  it('refuses a form or multipart post without Origin unless X-Requested-With is sent', async () => {
    const form = await send('/logout', {
      method: 'POST',
      headers: { ...cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'x=1',
    });
    expect(form.status).toBe(403);
    const allowed = await send('/logout', {
      method: 'POST',
      headers: { ...cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-requested-with': 'XMLHttpRequest' },
      body: 'x=1',
    });
    expect(allowed.status).toBe(401); // past the check: the cookie names no session
  });

  it('leaves public routes alone: the reset form posts whatever cookie the browser holds', async () => {
    const reset = await send('/password-reset', {
      method: 'POST',
      headers: { ...cookie, origin: 'https://proxy.internal', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ticket=x&password=y',
    });
    expect(reset.status).not.toBe(403);
  });

  it('refuses a GraphQL operation over GET (a query, a jobProgress stream) from another site, and keeps GraphiQL open', async () => {
    const operation = `/graphql?query=${encodeURIComponent('{ me { __typename } }')}`;
    // Each body is read to its end, so no connection stays busy when the service closes.
    const status = async (init: RequestInit) => {
      const res = await send(operation, init);
      await res.text();
      return res.status;
    };
    expect(await status({ headers: { ...cookie, origin: 'https://evil.example' } })).toBe(403);
    // A sibling subdomain's page sends the Lax cookie with no Origin on a GET; its browser says where it comes from.
    for (const site of ['same-site', 'cross-site']) {
      const refused = await status({ headers: { ...cookie, 'sec-fetch-site': site, accept: 'text/event-stream' } });
      expect([site, refused]).toEqual([site, 403]);
    }
    const own = await status({ headers: { ...cookie, origin: service.url, 'sec-fetch-site': 'same-origin' } });
    expect(own).toBe(200); // past the check: the cookie names no session, so `me` is a GraphQL error
    expect(await status({ headers: { 'x-api-key': TEST_API_KEY, origin: 'https://evil.example' } })).toBe(200);
    // A link from another site opens GraphiQL (it runs nothing itself).
    const page = await send(operation, { headers: { ...cookie, 'sec-fetch-site': 'cross-site', accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<html');
  });

  it('serves GraphQL on its path only: a longer path ending in /graphql runs nothing and skips no check', async () => {
    const form = await send('/graphql/x/graphql', {
      method: 'POST',
      headers: { ...cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${encodeURIComponent('mutation { logout }')}`,
    });
    await form.text();
    expect(form.status).toBe(404);
    const stream = await send(`/graphql/x/graphql?query=${encodeURIComponent('{ me { __typename } }')}`, {
      headers: { ...cookie, 'sec-fetch-site': 'same-site', accept: 'text/event-stream' },
    });
    await stream.text();
    expect(stream.status).toBe(404);
    const upload = await send('/graphql/x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
      body: '--b--',
    });
    await upload.text();
    expect(upload.status).toBe(404);
  });

  it('lets this site through: the same origin, and no cookie at all', async () => {
    const sameOrigin = await send('/logout', { method: 'POST', headers: { ...cookie, origin: service.url } });
    expect(sameOrigin.status).toBe(401); // the cookie names no session: a 401, not the 403 of a forgery
    const noCookie = await send('/logout', { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(noCookie.status).toBe(401);
  });
});

describe('TRUST_PROXY', () => {
  it('takes a hop count or a list of proxies, never a blanket true', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8']);
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
  });
});

describe('GraphQL over GET without GraphiQL (GRAPHIQL=false)', () => {
  let quiet: TestService;
  beforeAll(async () => {
    quiet = await startService({ env: { GRAPHIQL: 'false' } });
  });
  afterAll(() => quiet.close());

  it('judges a browser navigation (Accept: text/html, */*) like any operation: no page would be rendered', async () => {
    const res = await fetch(`${quiet.url}/graphql?query=${encodeURIComponent('{ me { __typename } }')}`, {
      headers: { cookie: 'sid=whatever', 'sec-fetch-site': 'same-site', accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    await res.text();
    expect(res.status).toBe(403);
  });
});
