import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

/**
 * Forged requests at GraphQL that only the `sid` cookie authenticates: other spellings of the path,
 * other methods, content types a form or a no-cors fetch can send. None may reach GraphQL execution
 * (a 200 with a GraphQL body, or the resolver's 401); each is refused (403), not found (404), or
 * not allowed (405, 406, 415). A 405 from yoga ("GraphQL only supports GET and POST") runs nothing;
 * nor does the GraphiQL page (200, text/html).
 */
const REFUSED = [403, 404, 405, 406, 415];
const cookie = 'sid=whatever';
const evil = 'https://evil.example';
const query = encodeURIComponent('{ me { __typename } }');
const mutation = encodeURIComponent('mutation { logout { __typename } }');
const jsonBody = JSON.stringify({ query: 'mutation { logout { __typename } }' });

interface Attack {
  name: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

const PATHS = [
  '/GRAPHQL',
  '/graphql/',
  '//graphql',
  '/graphql;x',
  '/%67raphql',
  '/graphql%2F',
  '/graphql/.',
  '/x/../graphql',
  '/graphql?x=/graphql',
  '/graphql#',
  '/Graphql/',
  '/graphql//',
  '/graphql/%2e',
  '/graphql%00',
];

function attacks(): Attack[] {
  const list: Attack[] = [];
  for (const path of PATHS) {
    const sep = path.includes('?') ? '&' : '?';
    list.push(
      { name: `GET ${path} from another Origin`, path: `${path}${sep}query=${query}`, method: 'GET', headers: { cookie, origin: evil } },
      {
        name: `GET ${path} cross-site without Origin`,
        path: `${path}${sep}query=${query}`,
        method: 'GET',
        headers: { cookie, 'sec-fetch-site': 'cross-site', accept: 'text/event-stream' },
      },
      {
        name: `POST ${path} JSON from another Origin`,
        path,
        method: 'POST',
        headers: { cookie, origin: evil, 'content-type': 'application/json' },
        body: jsonBody,
      },
      {
        name: `POST ${path} text/plain without Origin`,
        path,
        method: 'POST',
        headers: { cookie, 'content-type': 'text/plain' },
        body: jsonBody,
      },
      {
        name: `POST ${path} urlencoded from another Origin`,
        path,
        method: 'POST',
        headers: { cookie, origin: evil, 'content-type': 'application/x-www-form-urlencoded' },
        body: `query=${mutation}`,
      },
    );
  }
  for (const method of ['PUT', 'PATCH', 'DELETE']) {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'application/json']) {
      const body = type.endsWith('json') ? jsonBody : type === 'text/plain' ? jsonBody : `query=${mutation}`;
      list.push(
        {
          name: `${method} ${type} from another Origin`,
          path: '/graphql',
          method,
          headers: { cookie, origin: evil, 'content-type': type },
          body,
        },
        { name: `${method} ${type} without Origin`, path: '/graphql', method, headers: { cookie, 'content-type': type }, body },
      );
    }
  }
  for (const method of ['HEAD', 'OPTIONS']) {
    list.push(
      { name: `${method} query from another Origin`, path: `/graphql?query=${query}`, method, headers: { cookie, origin: evil } },
      {
        name: `${method} query cross-site, Accept text/html`,
        path: `/graphql?query=${query}`,
        method,
        headers: { cookie, 'sec-fetch-site': 'cross-site', accept: 'text/html' },
      },
    );
  }
  const types = [
    'text/plain',
    'text/plain; charset=utf-8',
    'text/plain;application/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=b',
    'multipart/form-data',
    'application/json;x=text/plain',
    'APPLICATION/JSON',
    'application/json , text/plain',
    'text/plain , application/json',
    ' application/json',
    'application/vnd.x+json',
  ];
  for (const type of types) {
    const body = type.startsWith('multipart')
      ? `--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${jsonBody}\r\n--b\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--b--\r\n`
      : type.startsWith('application/x-www')
        ? `query=${mutation}`
        : jsonBody;
    list.push(
      {
        name: `POST ${type} from another Origin`,
        path: '/graphql',
        method: 'POST',
        headers: { cookie, origin: evil, 'content-type': type },
        body,
      },
      {
        name: `POST ${type} Origin null`,
        path: '/graphql',
        method: 'POST',
        headers: { cookie, origin: 'null', 'content-type': type },
        body,
      },
    );
    if (!/json/i.test(type.split(/[;,]/)[0] ?? '')) {
      list.push({ name: `POST ${type} without Origin`, path: '/graphql', method: 'POST', headers: { cookie, 'content-type': type }, body });
      list.push({
        name: `POST ${type} same-site without Origin`,
        path: '/graphql',
        method: 'POST',
        headers: { cookie, 'sec-fetch-site': 'same-site', 'content-type': type },
        body,
      });
    }
  }
  list.push(
    { name: 'GET mutation from another Origin', path: `/graphql?query=${mutation}`, method: 'GET', headers: { cookie, origin: evil } },
    {
      name: 'GET mutation same-site without Origin',
      path: `/graphql?query=${mutation}`,
      method: 'GET',
      headers: { cookie, 'sec-fetch-site': 'same-site' },
    },
    {
      name: 'GET query, Accept text/html on /GRAPHQL (GraphiQL only on its exact path)',
      path: `/GRAPHQL?query=${query}`,
      method: 'GET',
      headers: { cookie, 'sec-fetch-site': 'cross-site', accept: 'text/html' },
    },
    {
      name: 'GET query, Accept text/event-stream, text/html',
      path: `/graphql?query=${query}`,
      method: 'GET',
      headers: { cookie, 'sec-fetch-site': 'cross-site', accept: 'text/event-stream, text/html' },
    },
  );
  return list;
}

async function attempt(url: string, attack: Attack): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(url + attack.path, { method: attack.method, headers: attack.headers, body: attack.body });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

describe('forged GraphQL requests with the sid cookie', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(() => service.close());

  it.each(attacks().map((a) => [a.name, a] as const))('%s: never executed', async (_name, attack) => {
    const { status, text, type } = await attempt(service.url, attack);
    if (type.includes('text/html')) {
      // GraphiQL's page: yoga renders it and runs nothing.
      expect(status).toBe(200);
      expect(text).toContain('<html');
      return;
    }
    expect(text).not.toMatch(/"data"\s*:/);
    expect(REFUSED.concat(attack.method === 'OPTIONS' ? [204] : [])).toContain(status);
  });
});

describe('forged GraphQL requests with GRAPHIQL=false', () => {
  let quiet: TestService;
  beforeAll(async () => {
    quiet = await startService({ env: { GRAPHIQL: 'false' } });
  });
  afterAll(() => quiet.close());

  it.each([
    ['Accept text/html, cross-site', { cookie, 'sec-fetch-site': 'cross-site', accept: 'text/html' }],
    ['Accept text/html, same-site', { cookie, 'sec-fetch-site': 'same-site', accept: 'text/html' }],
    ['Accept text/html, another Origin', { cookie, origin: evil, accept: 'text/html' }],
  ] as const)('GET with %s is refused', async (_name, headers) => {
    const { status, text } = await attempt(quiet.url, { name: '', path: `/graphql?query=${query}`, method: 'GET', headers });
    expect(text).not.toMatch(/"(data|errors)"\s*:/);
    expect(status).toBe(403);
  });
});
