import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createGraphQLServer } from '../src/graphql.js';
import { type GraphQLHandler, withGraphQLFastPath } from '../src/graphql-http.js';
import { requestObserver } from '../src/observability/requests.js';
import { seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

// GraphQL answered on node:http (src/graphql-http.ts) must answer every request exactly as the
// Express chain in front of yoga did: each request is sent to both, built on the same deps, and the
// answers (status, headers, body) compared; the fast path must also have served the ones it should.

const PASSWORD = 'Correct-horse-9';
const admin = { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' };
const json = { 'content-type': 'application/json' };
let service: TestService;
let expressOnly: Server;
let fastPath: Server;
/** Requests the fast path left to Express (refusals included). */
const leftToExpress: string[] = [];

function listen(handler: RequestListener): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(handler).listen(0, '127.0.0.1', () => resolve(server));
  });
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

beforeAll(async () => {
  service = await startService({
    env: {
      RANDOM_PWD_GEN: 'false',
      WEBSITE_CLIENT_TYPES: 'backoffice',
      BODY_LIMIT_BYTES: '2048',
      TRUST_PROXY: 'loopback',
      LOGIN_IP_MAX_FAILURES: '3',
    },
  });
  await seedGroups(service);
  await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: 'web',
    email: 'web@example.com',
    name: 'W',
    password: PASSWORD,
  });
  const { deps } = service;
  const observe = requestObserver(deps);
  const oldApp = buildApp(deps);
  expressOnly = await listen((req, res) => observe(req, res, () => oldApp(req, res)));
  const yoga = createGraphQLServer(deps);
  const app = buildApp(deps, yoga);
  const fallback: RequestListener = (req, res) => {
    leftToExpress.push(`${req.method} ${req.url}`);
    app(req, res);
  };
  const trustProxy = app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  const handle = withGraphQLFastPath({ deps, yoga: yoga as unknown as GraphQLHandler, fallback, trustProxy });
  fastPath = await listen((req, res) => observe(req, res, () => handle(req, res)));
});
afterAll(async () => {
  await Promise.all([expressOnly, fastPath].map((server) => new Promise((resolve) => server.close(resolve))));
  await service.close();
});

interface Sent {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in chunks, without a Content-Length. */
  chunked?: boolean;
}

/** What a client sees of an answer, less what differs between any two requests (date, request id). */
async function send(server: Server, sent: Sent) {
  const body = sent.chunked && sent.body !== undefined ? chunks(Buffer.from(sent.body)) : sent.body;
  const response = await fetch(urlOf(server) + (sent.path ?? '/graphql'), {
    method: sent.method ?? 'POST',
    headers: sent.headers ?? admin,
    body,
    ...(sent.chunked ? { duplex: 'half' } : {}),
  } as RequestInit);
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id'));
  return { status: response.status, headers, body: await response.text() };
}

function chunks(bytes: Buffer): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (let start = 0; start < bytes.length; start += 16) controller.enqueue(bytes.subarray(start, start + 16));
      controller.close();
    },
  });
}

/** Sends `sent` to both servers and expects the same answer; returns it, and whether Express answered on the fast path's side. */
async function same(sent: Sent) {
  const before = leftToExpress.length;
  const expected = await send(expressOnly, sent);
  const actual = await send(fastPath, sent);
  expect(actual).toEqual(expected);
  return { answer: actual, byExpress: leftToExpress.length > before };
}

const query = (text: string, variables?: object) => JSON.stringify({ query: text, variables });

describe('GraphQL on node:http, before Express', () => {
  it('answers queries, with data or errors, as Express did, without Express', async () => {
    const cases: Sent[] = [
      { body: query('{ users(first: 2) { nodes { username identity { blocked emailVerified } } } }') },
      { body: query('{ usersCount }'), headers: json },
      { body: query('{ users(') },
      { body: query('{ nope }') },
      { body: query('query ($n: Int) { users(first: $n) { nodes { id } } }', { n: 'x' }) },
      { body: query('{ users(first: 500) { nodes { id } } }') },
      { body: query(`{ ${Array.from({ length: 40 }, (_, i) => `a${i}: usersCount`).join(' ')} }`) },
      { path: '/graphql?operationName=', body: query('{ usersCount }') },
      { headers: { ...admin, 'content-type': 'Application/JSON; charset=utf-8' }, body: query('{ usersCount }') },
      { body: JSON.stringify([{ query: '{ usersCount }' }]) },
      { body: '"a string"' },
      { body: '' },
      { body: query('{ usersCount }'), chunked: true },
      { headers: { ...admin, 'content-encoding': 'gzip' }, body: gzipSync(query('{ usersCount }')) },
    ];
    for (const sent of cases) {
      const { answer, byExpress } = await same(sent);
      expect(byExpress, String(sent.body)).toBe(false);
      expect(answer.headers['content-type']).toMatch(/^application\/(graphql-response\+)?json/);
    }
  });

  it('leaves to Express the refusals it does not answer itself, which Express answers as before', async () => {
    const refusals: [Sent, number][] = [
      [{ body: '{"query": ' }, 400],
      [{ body: query(`{ usersCount } # ${'x'.repeat(3000)}`) }, 413],
      [{ body: query(`{ usersCount } # ${'x'.repeat(3000)}`), chunked: true }, 413],
      [{ headers: { ...admin, 'content-encoding': 'compress' }, body: query('{ usersCount }') }, 415],
      [{ headers: { ...admin, 'content-type': 'application/json; charset=latin1' }, body: query('{ usersCount }') }, 415],
      // The session cookie from another site: the cross-site rule, before the body is read.
      [{ headers: { ...json, cookie: 'sid=abc', origin: 'https://evil.example' }, body: query('{ me { __typename } }') }, 403],
    ];
    for (const [sent, status] of refusals) {
      const { answer, byExpress } = await same(sent);
      expect(answer.status, String(sent.body).slice(0, 40)).toBe(status);
      expect(JSON.parse(answer.body)).toMatchObject({ statusCode: status });
      expect(byExpress).toBe(true);
    }
  });

  it('leaves to Express what is not a JSON POST to /graphql', async () => {
    const others: Sent[] = [
      { method: 'GET', path: '/graphql?query=%7BusersCount%7D', headers: { 'x-api-key': TEST_API_KEY } },
      { path: '/GraphQL', body: query('{ usersCount }') },
      { path: '/graphql/', body: query('{ usersCount }') },
      { path: '/graphqlx', body: query('{ usersCount }') },
      { headers: { ...admin, 'content-type': 'text/plain' }, body: query('{ usersCount }') },
      { headers: { ...admin, 'content-type': 'application/graphql-response+json' }, body: query('{ usersCount }') },
      { method: 'OPTIONS' },
    ];
    for (const sent of others) {
      const { byExpress } = await same(sent);
      expect(byExpress, `${sent.method ?? 'POST'} ${sent.path ?? '/graphql'}`).toBe(true);
    }
  });

  it('sets and clears the session cookie as Express did', async () => {
    const login = query('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { __typename } }', {
      u: 'web',
      p: PASSWORD,
    });
    const sent = { headers: { ...json, 'client-type': 'backoffice' }, body: login };
    const before = leftToExpress.length;
    const [expected, actual] = [await send(expressOnly, sent), await send(fastPath, sent)];
    expect(leftToExpress.length).toBe(before);
    const cookieOf = (answer: typeof actual) => String(answer.headers['set-cookie']);
    // The session differs, and the expiry is the time of each answer: the rest must be the same.
    const shape = (cookie: string) => cookie.replace(/^sid=[^;]+/, 'sid=…').replace(/Expires=[^;]+/, 'Expires=…');
    expect(shape(cookieOf(actual))).toBe(shape(cookieOf(expected)));
    expect(shape(cookieOf(actual))).toMatch(/^sid=…; Max-Age=\d+; Path=\/; Expires=…; HttpOnly; SameSite=Lax$/);
    const expiry = (cookie: string) => Date.parse(/Expires=([^;]+)/.exec(cookie)![1]!);
    expect(Math.abs(expiry(cookieOf(actual)) - expiry(cookieOf(expected)))).toBeLessThanOrEqual(2000);
    expect({ ...actual, headers: { ...actual.headers, 'set-cookie': '' } }).toEqual({
      ...expected,
      headers: { ...expected.headers, 'set-cookie': '' },
    });

    const logout = query('mutation { logout { __typename } }');
    const sid = (answer: typeof actual) => /^sid=[^;]+/.exec(cookieOf(answer))![0];
    const [cleared, clearedFast] = [
      await send(expressOnly, { headers: { ...json, cookie: sid(expected) }, body: logout }),
      await send(fastPath, { headers: { ...json, cookie: sid(actual) }, body: logout }),
    ];
    expect(clearedFast).toEqual(cleared);
    expect(clearedFast.headers['set-cookie']).toBe('sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax');
  });

  it('reads the client address through TRUST_PROXY, as Express did (the per-address login throttle)', async () => {
    let attempts = 0;
    // A new account each time: only the address's failures add up.
    const failing = (ip: string) =>
      send(fastPath, {
        headers: { ...json, 'x-forwarded-for': ip },
        body: query('mutation ($u: String!) { login(username: $u, password: "Wrong-pass-1") { __typename } }', { u: `n${attempts++}` }),
      });
    const limit = service.deps.config.LOGIN_IP_MAX_FAILURES;
    for (let attempt = 0; attempt < limit; attempt += 1) await failing('203.0.113.7');
    expect(JSON.parse((await failing('203.0.113.7')).body).data.login.__typename).toBe('TooManyRequestsError');
    expect(JSON.parse((await failing('203.0.113.8')).body).data.login.__typename).toBe('UnauthorizedError');
  });
});
