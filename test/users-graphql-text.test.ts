import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createGraphQLServer } from '../src/graphql.js';
import { type GraphQLHandler, withGraphQLFastPath } from '../src/graphql-http.js';
import { createTextAnswers } from '../src/graphql-text-answer.js';
import { createContext } from '../src/context.js';
import { createTextPlans, planOf } from '../src/graphql-text-plans.js';
import { requestObserver } from '../src/observability/requests.js';
import { CONNECTED_IDENTITY, seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

// A document that reads a page of users and leaf fields (src/graphql-text-plans.ts) is answered
// as text once yoga has answered it once: every answer must be the bytes yoga writes, whatever the
// stored documents hold, and a change to a user or an identity must show in the next answer.

const admin = { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' };
let service: TestService;
let yogaOnly: Server;
let withText: Server;
/** Requests yoga answered behind the text path. */
let yogaCalls = 0;

function listen(handler: RequestListener): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(handler).listen(0, '127.0.0.1', () => resolve(server));
  });
}

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
  for (const [index, name] of ['Ann', 'Bob', 'Cé"\\ \u2028'].entries()) {
    const { status } = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: `text${index}`,
      email: `text${index}@example.com`,
      name,
      password: 'Correct-horse-9',
      ...(index === 1 ? { expirationDate: '2999-01-01T00:00:00.000Z' } : {}),
    });
    expect(status).toBe(200);
  }
  const scope = { actorId: 'test', headers: {} };
  // Profiles written by others in the shared collection: what any store accepts…
  await service.deps.users.insert(
    { userGroup: 'customer', username: 'lone', name: '\ud800 \u0000 \u{1f600}', tags: [1, 'a', null] },
    scope,
  );
  await service.deps.users.insert({ userGroup: 'customer', authUserId: 'ums|nobody', roles: ['r', 'q'], address: { a: { b: [] } } }, scope);
  await service.deps.users.insert({ userGroup: 'guest', username: 'draft', __STATE__: 'DRAFT' }, scope);
  // …and, where the store checks no types, what the schema's scalars coerce.
  if (!service.crud) await service.deps.users.insert({ userGroup: 'customer', username: 42, roles: ['a', 7, true], blocked: 'yes' }, scope);
  const { deps } = service;
  const observe = requestObserver(deps);
  const plain = buildApp(deps);
  yogaOnly = await listen((req, res) => observe(req, res, () => plain(req, res)));
  const textPlans = createTextPlans();
  const yoga = createGraphQLServer(deps, textPlans);
  const app = buildApp(deps, yoga);
  const counted = ((req, res, context) => {
    yogaCalls += 1;
    return yoga(req, res, context);
  }) as GraphQLHandler;
  counted.graphqlEndpoint = yoga.graphqlEndpoint;
  const trustProxy = app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  const handle = withGraphQLFastPath({ deps, yoga: counted, fallback: app, trustProxy, textPlans });
  withText = await listen((req, res) => observe(req, res, () => handle(req, res)));
});
afterAll(async () => {
  await Promise.all([yogaOnly, withText].filter(Boolean).map((server) => new Promise((resolve) => server.close(resolve))));
  await service.close();
});

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function send(server: Server, body: unknown, headers: Record<string, string> = admin) {
  const response = await fetch(`${urlOf(server)}/graphql`, { method: 'POST', headers, body: JSON.stringify(body) });
  const shown = Object.fromEntries([...response.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id'));
  return { status: response.status, headers: shown, body: await response.text() };
}

/** Sends `body` to yoga alone, then twice to the text path: the same answers; whether yoga answered the second. */
async function same(body: unknown, headers?: Record<string, string>) {
  const expected = await send(yogaOnly, body, headers);
  expect(await send(withText, body, headers)).toEqual(expected);
  const calls = yogaCalls;
  expect(await send(withText, body, headers)).toEqual(expected);
  return { answer: expected, byYoga: yogaCalls > calls };
}

const BENCH_PAGE = '{ users(first: 100) { nodes { id username email userGroup identity { blocked emailVerified lastLogin } } } }';
const USER_LEAVES =
  'id userGroup authUserId username email blocked roles expirationDate state createdAt updatedAt creatorId updaterId properties';
const IDENTITY_LEAVES = 'id username email blocked emailVerified loginsCount lastLogin createdAt updatedAt';

describe('GraphQL pages answered as text', () => {
  it('answers a page of users as yoga does, without yoga, once yoga has answered its document', async () => {
    const documents = [
      BENCH_PAGE,
      `{ users(first: 200) { nodes { __typename ${USER_LEAVES} identity { __typename ${IDENTITY_LEAVES} } } } }`,
      '{ users { nodes { identity { email } id } } }',
      '{ users(first: 3, offset: 1, sort: ["-username"]) { nodes { u: username id } } }',
      '{ users(filter: {userGroup: "customer"}, states: [PUBLIC, DRAFT]) { nodes { id state name: username } } }',
      '{ users(states: [DRAFT], after: "b2Zmc2V0OjA") { nodes { id } } }',
      '{ users(filter: {username: "nobody"}) { nodes { id } } }',
    ];
    for (const query of documents) {
      const { answer, byYoga } = await same({ query });
      expect(answer.status, query).toBe(200);
      expect(JSON.parse(answer.body).errors, query).toBeUndefined();
      expect(byYoga, query).toBe(false);
    }
    const named = { query: 'query Named { list: users(first: 2) { all: nodes { username } } }', operationName: 'Named' };
    expect((await same(named)).byYoga).toBe(false);
  });

  it('shows a change to a user or to its identity in the next answer', async () => {
    const query = '{ users(filter: {username: "text1"}) { nodes { id username name: email identity { blocked email } } } }';
    await same({ query });
    const [user] = (await service.call('GET', '/users/?username=text1')).body;
    expect((await service.call('PATCH', `/users/${user._id}`, { email: 'changed1@example.com' })).status).toBe(200);
    const changed = await same({ query });
    expect(JSON.parse(changed.answer.body).data.users.nodes[0]).toMatchObject({
      name: 'changed1@example.com',
      identity: { email: 'changed1@example.com' },
    });
    expect(changed.byYoga).toBe(false);
    expect((await service.call('POST', '/users/state', [{ filter: { _id: user._id }, stateTo: 'DRAFT' }])).status).toBe(200);
    const moved = await same({ query: '{ users(states: [DRAFT]) { nodes { id identity { blocked } } } }' });
    expect(JSON.parse(moved.answer.body).data.users.nodes).toContainEqual({ id: user._id, identity: { blocked: true } });
    expect(moved.byYoga).toBe(false);
  });

  it('leaves to yoga a caller who is no administrator, variables, and answers yoga would type otherwise', async () => {
    const query = '{ users(first: 2) { nodes { id } } }';
    await same({ query });
    const anonymous = await same({ query }, { 'content-type': 'application/json' });
    expect(anonymous.answer.status).toBe(401);
    expect(JSON.parse(anonymous.answer.body).errors).toHaveLength(1);
    expect(anonymous.byYoga).toBe(true);
    expect((await same({ query, variables: { unused: 1 } })).byYoga).toBe(true);
    expect((await same({ query, operationName: 'Other' })).byYoga).toBe(true);
    // A parameter yoga does not know is its 400 (a null one it ignores).
    const unknown = await same({ query, id: 'x' });
    expect(unknown.answer.status).toBe(400);
    expect(unknown.byYoga).toBe(true);
    expect((await same({ query, id: null })).byYoga).toBe(false);
    for (const accept of ['application/json', 'application/graphql-response+json', '*/*']) {
      const { answer, byYoga } = await same({ query }, { ...admin, accept });
      expect(answer.status).toBe(200);
      expect(byYoga, accept).toBe(false);
    }
    expect((await same({ query }, { ...admin, accept: 'text/event-stream' })).byYoga).toBe(true);
  });

  it('leaves to yoga a page holding a value no scalar can answer, which yoga answers with its error', async () => {
    const query = '{ users(filter: {username: "bad-date"}) { nodes { username expirationDate } } }';
    expect((await same({ query })).byYoga).toBe(false);
    // A store that checks types (the CRUD's date field) holds no such value.
    if (service.crud) return;
    await service.deps.users.insert(
      { userGroup: 'customer', username: 'bad-date', expirationDate: 'tomorrow' },
      { actorId: 'test', headers: {} },
    );
    const { answer, byYoga } = await same({ query });
    expect(JSON.parse(answer.body).errors).toHaveLength(1);
    expect(byYoga).toBe(true);
  });

  it('keeps no part of the parsed document in a plan', () => {
    // Each token of a document costs about 500 bytes with its AST (graphql-cache.ts), comments too;
    // a plan is bounded by its text only, so it must not hold the document's nodes or tokens.
    const text = `{ users(filter: {username: "a"}, first: 2) { nodes { id u: username identity { email } } } } ${'#\n'.repeat(10)}`;
    const plan = planOf(parse(text), 1);
    expect(plan).toBeDefined();
    const seen = new Set<unknown>();
    const located: unknown[] = [];
    const walk = (value: unknown) => {
      if (typeof value !== 'object' || value === null || seen.has(value) || Buffer.isBuffer(value)) return;
      seen.add(value);
      if ('loc' in value && value.loc) located.push(value);
      if ('startToken' in value) located.push(value);
      for (const child of Object.values(value)) walk(child);
    };
    walk(plan);
    expect(located).toEqual([]);
  });

  it('keeps identities as bytes up to a bound, whatever the number of documents asking for them', async () => {
    // Each document keeps its own bytes of an identity (its aliases are its keys): 20 documents of
    // 15 KB of aliases each kept 15 KB per identity of the page, far past the bound.
    const answers = createTextAnswers({ keptIdentityBytes: 64 * 1024 });
    const ctx = createContext({ headers: { 'x-api-key': TEST_API_KEY } }, service.deps);
    const aliases = (index: number) => Array.from({ length: 14 }, (_, field) => `${'a'.repeat(1000)}${index}x${field}: email`).join(' ');
    const shown: number[] = [];
    for (let index = 0; index < 20; index += 1) {
      const plan = planOf(parse(`{ users(first: 20) { nodes { identity { ${aliases(index)} } } } }`), index)!;
      for (let again = 0; again < 2; again += 1) {
        const answer = await answers.answer(plan, ctx);
        const nodes = JSON.parse(answer!.body.toString()).data.users.nodes as { identity: Record<string, string> | null }[];
        const identities = nodes.flatMap(({ identity }) => (identity ? [Object.values(identity)] : []));
        expect(identities.every((emails) => emails.length === 14 && emails.every((email) => email.includes('@')))).toBe(true);
        shown.push(identities.length);
      }
    }
    // Every answer shows the page's identities (2 or 3: an earlier test moves text1 to DRAFT).
    expect(shown[0]).toBeGreaterThanOrEqual(2);
    expect(shown).toEqual(shown.map(() => shown[0]));
    expect(answers.keptIdentityBytes()).toBeLessThanOrEqual(64 * 1024);
  });

  it('answers as yoga does the documents no plan may answer', async () => {
    const documents = [
      // Answered with an error: never planned (a page of 500 would be read).
      '{ users(first: 500) { nodes { id } } }',
      '{ users(first: 0) { nodes { id } } }',
      '{ users(after: "bad") { nodes { id } } }',
      // A variable's default, which the plan cannot read.
      'query ($n: Int = 1) { users(first: $n) { nodes { id } } }',
      '{ users(first: 3) { nodes { id name: username @skip(if: true) } } }',
      '{ users(first: 3) @include(if: false) { nodes { id } } }',
      '{ users(first: 3) { nodes @skip(if: true) { id } } }',
      '{ users(first: 3) { nodes { id } } usersCount }',
      '{ users(first: 1) { edges { __typename } } }',
      '{ users(first: 3) { ... on UserConnection { nodes { id } } } }',
      '{ users(first: 3) { nodes { ... on User { id } } } }',
      '{ users(first: 3) { nodes { id id } } }',
      '{ users(first: 3) { nodes { a: identity { email } b: identity { blocked } } } }',
    ];
    for (const query of documents) expect((await same({ query })).byYoga, query).toBe(true);
    // Two operations: yoga answers the one named, and without a name its error.
    const two = 'query A { users(first: 1) { nodes { id } } } query B { users(first: 2) { nodes { id } } }';
    expect(JSON.parse((await same({ query: two, operationName: 'B' })).answer.body).data.users.nodes).toHaveLength(2);
    const unnamed = await same({ query: two });
    expect(JSON.parse(unnamed.answer.body).errors).toHaveLength(1);
    expect(unnamed.byYoga).toBe(true);
    // Parameters yoga refuses (400): variables that are no object, extensions past the limits.
    const query = '{ users(first: 2) { nodes { id } } }';
    await same({ query });
    let deep: unknown = 1;
    for (let depth = 0; depth < 40; depth += 1) deep = { deep };
    for (const body of [
      { query, variables: [] },
      { query, variables: '' },
      { query, variables: false },
      { query, extensions: deep },
    ]) {
      const { answer, byYoga } = await same(body);
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(byYoga).toBe(true);
    }
  });

  it('leaves to yoga a user or an identity no scalar or list can answer, as stored', async () => {
    const query = (username: string, fields = 'username roles userGroup') =>
      `{ users(filter: {username: "${username}"}, states: [PUBLIC, DRAFT]) { nodes { ${fields} } } }`;
    const good = await same({ query: query('text0', 'username roles userGroup identity { blocked }') });
    expect(good.byYoga).toBe(false);
    if (!service.crud) {
      // Planned while the users hold what the schema answers, then changed in the file: a string
      // where a list stands (iterable, yet graphql-js refuses it), no group where one is required.
      const db = (service.deps as unknown as { db: import('better-sqlite3').Database }).db;
      const scope = { actorId: 'test', headers: {} };
      await service.deps.users.insert({ userGroup: 'customer', username: 'roles-text', roles: ['admin'] }, scope);
      await service.deps.users.insert({ userGroup: 'customer', username: 'no-group' }, scope);
      for (const username of ['roles-text', 'no-group']) expect((await same({ query: query(username) })).byYoga).toBe(false);
      const change = db.prepare("UPDATE users SET doc = json_set(doc, ?, ?) WHERE json_extract(doc, '$.username') = ?");
      change.run('$.roles', 'admin', 'roles-text');
      db.prepare("UPDATE users SET doc = json_remove(doc, '$.userGroup') WHERE json_extract(doc, '$.username') = 'no-group'").run();
      for (const username of ['roles-text', 'no-group']) {
        const { answer, byYoga } = await same({ query: query(username) });
        expect(JSON.parse(answer.body).errors, username).toHaveLength(1);
        expect(byYoga, username).toBe(true);
      }
      // The same through `list`, as a store without listKeyed reads it.
      const { users } = service.deps;
      const listKeyed = users.listKeyed;
      users.listKeyed = undefined;
      try {
        const { answer, byYoga } = await same({ query: query('roles-text') });
        expect(JSON.parse(answer.body).errors).toHaveLength(1);
        expect(byYoga).toBe(true);
      } finally {
        users.listKeyed = listKeyed;
      }
    }
    // An identity whose `blocked` is no boolean.
    const { identity } = service.deps;
    const getUsers = identity.getUsers;
    identity.getUsers = async (ids, fields) =>
      (await getUsers.call(identity, ids, fields)).map((user) => user && { ...user, blocked: 'no' as never });
    try {
      const { answer, byYoga } = await same({ query: query('text0', 'username roles userGroup identity { blocked }') });
      expect(JSON.parse(answer.body).errors).toHaveLength(1);
      expect(byYoga).toBe(true);
    } finally {
      identity.getUsers = getUsers;
    }
  });

  it('shows a user changed directly in the embedded file, its state alone or its text', async () => {
    if (service.crud) return;
    const db = (service.deps as unknown as { db: import('better-sqlite3').Database }).db;
    await service.deps.users.insert(
      { userGroup: 'customer', username: 'by-sql', email: 'before@example.com' },
      { actorId: 'test', headers: {} },
    );
    const query = '{ users(filter: {username: "by-sql"}, states: [PUBLIC, TRASH]) { nodes { username email state } } }';
    expect((await same({ query })).byYoga).toBe(false);
    db.prepare("UPDATE users SET state = 'TRASH' WHERE json_extract(doc, '$.username') = 'by-sql'").run();
    const moved = await same({ query });
    expect(JSON.parse(moved.answer.body).data.users.nodes).toEqual([{ username: 'by-sql', email: 'before@example.com', state: 'TRASH' }]);
    db.prepare(
      "UPDATE users SET doc = json_set(doc, '$.email', 'after@example.com') WHERE json_extract(doc, '$.username') = 'by-sql'",
    ).run();
    const changed = await same({ query });
    expect(JSON.parse(changed.answer.body).data.users.nodes).toEqual([{ username: 'by-sql', email: 'after@example.com', state: 'TRASH' }]);
    expect(changed.byYoga).toBe(false);
    // An identity changed in the file, then deleted (another process's writes), where the file holds them.
    if (CONNECTED_IDENTITY) return;
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'text9',
      email: 'text9@example.com',
      name: 'Nine',
      password: 'Correct-horse-9',
    });
    expect(created.status).toBe(200);
    const identityQuery = '{ users(filter: {username: "text9"}) { nodes { username identity { email blocked } } } }';
    const [user] = (await service.call('GET', '/users/?username=text9')).body;
    expect(JSON.parse((await same({ query: identityQuery })).answer.body).data.users.nodes[0].identity).toEqual({
      email: 'text9@example.com',
      blocked: false,
    });
    db.prepare('UPDATE identity_users SET email = ?, blocked = 1 WHERE id = ?').run('sql2@example.com', user.authUserId);
    const blocked = await same({ query: identityQuery });
    expect(JSON.parse(blocked.answer.body).data.users.nodes[0].identity).toEqual({ email: 'sql2@example.com', blocked: true });
    expect(blocked.byYoga).toBe(false);
    db.prepare('DELETE FROM identity_users WHERE id = ?').run(user.authUserId);
    const gone = await same({ query: identityQuery });
    expect(JSON.parse(gone.answer.body).data.users.nodes[0].identity).toBeNull();
  });

  it('keeps users as bytes up to a bound, and answers the same past it', async () => {
    const answers = createTextAnswers({ keptUserBytes: 4096 });
    const ctx = createContext({ headers: { 'x-api-key': TEST_API_KEY } }, service.deps);
    const documents = ['{ users(first: 20) { nodes { id username email } } }', '{ users(first: 20) { nodes { u: username properties } } }'];
    const plans = documents.map((query, index) => planOf(parse(query), index)!);
    const first = await Promise.all(plans.map(async (plan) => (await answers.answer(plan, ctx))!.body.toString()));
    for (let again = 0; again < 3; again += 1) {
      for (const [index, plan] of plans.entries()) expect((await answers.answer(plan, ctx))!.body.toString()).toBe(first[index]);
    }
    // Only a store that answers listKeyed (the embedded one) has users kept.
    if (!service.crud) expect(answers.keptUserBytes()).toBeGreaterThan(0);
    expect(answers.keptUserBytes()).toBeLessThanOrEqual(4096);
  });

  it('asks the identity provider for the identity fields the document selects', async () => {
    if (!service.auth0) return;
    const query = '{ users(first: 5) { nodes { id identity { __typename email lastLogin } } } }';
    await same({ query });
    const before = service.auth0.requests.length;
    expect((await same({ query })).byYoga).toBe(false);
    const reads = service.auth0.requests.slice(before).filter((request) => request.method === 'GET' && request.path === '/api/v2/users');
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) expect(read.query.get('fields')?.split(',').sort()).toEqual(['email', 'last_login', 'user_id']);
  });

  it('answers the rows and columns the acl_rows and acl_read_columns headers let through, as yoga', async () => {
    const query = '{ users(first: 20, sort: ["-username"]) { nodes { id username email identity { email } } } }';
    await same({ query });
    const rows = { acl_rows: JSON.stringify({ username: { $in: ['text0', 'text2'] } }) };
    const byRows = await same({ query }, { ...admin, ...rows });
    expect(JSON.parse(byRows.answer.body).data.users.nodes.map(({ username }: { username: string }) => username)).toEqual([
      'text2',
      'text0',
    ]);
    expect(byRows.byYoga).toBe(false);
    // Without authUserId among the columns, no identity; without email, null.
    const byColumns = await same({ query }, { ...admin, ...rows, acl_read_columns: 'username' });
    expect(JSON.parse(byColumns.answer.body).data.users.nodes).toEqual([
      expect.objectContaining({ username: 'text2', email: null, identity: null }),
      expect.objectContaining({ username: 'text0', email: null, identity: null }),
    ]);
    // A header no store can read is yoga's error.
    expect((await same({ query }, { ...admin, acl_rows: '{bad' })).answer.status).toBe(400);
  });

  it('answers as yoga does when the store or the identity provider fails, without their words', async () => {
    const query = '{ users(first: 5) { nodes { id identity { email } } } }';
    await same({ query });
    const { users, identity } = service.deps;
    const { list, listKeyed } = users;
    const { getUsers } = identity;
    const secret = 'SQLITE_IOERR at /var/secret/users.db';
    const failing = async () => {
      throw new Error(secret);
    };
    const failures: Record<string, () => void> = {
      store: () => {
        users.list = failing;
        if (listKeyed) users.listKeyed = failing;
      },
      'identity provider': () => {
        identity.getUsers = failing;
      },
      // Its first call fails (the text path's), the next ones answer.
      'identity provider once': () => {
        let calls = 0;
        identity.getUsers = (...args) => (calls++ === 0 ? failing() : getUsers.apply(identity, args));
      },
    };
    const restore = () => {
      Object.assign(users, { list, listKeyed });
      identity.getUsers = getUsers;
    };
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      for (const [name, fail] of Object.entries(failures)) {
        fail();
        const expected = await send(yogaOnly, { query });
        restore();
        fail();
        const calls = yogaCalls;
        const answer = await send(withText, { query });
        restore();
        expect(answer, name).toEqual(expected);
        expect(answer.body, name).not.toContain('secret');
        expect(yogaCalls, name).toBe(calls + 1);
      }
    } finally {
      restore();
      process.off('unhandledRejection', onRejection);
    }
    expect(rejections).toEqual([]);
  });
});
