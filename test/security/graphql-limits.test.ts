import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../src/ports/authenticator.js';
import { startService, type TestService } from '../helpers/service.js';

/** Issue #16, part 4 (and part 3's aliased resetPassword): what one GraphQL request may ask for. */
const anonymous = { 'x-api-key': '' };
const badToken = { 'x-api-key': '', authorization: 'Bearer not-a-token' };
const INTROSPECTION = '{ __schema { queryType { name } } }';

let service: TestService;
const logs: { level: number; msg?: string; err?: unknown }[] = [];
const hashingCalls: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  service = await startService({
    logger: pino({ level: 'debug' }, sink),
    wrap: (deps) => ({ auth: countHashing(deps.auth) }),
  });
});
afterAll(() => service.close());

/** Records the calls that hash a password (login, reset). */
function countHashing(auth: Authenticator): Authenticator {
  return new Proxy(auth, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if ((property === 'login' || property === 'resetPassword') && typeof value === 'function') {
        return (...args: unknown[]) => {
          hashingCalls.push(property);
          return value.apply(target, args);
        };
      }
      return value;
    },
  });
}

async function post(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = anonymous) {
  const { status, body } = await service.call('POST', '/graphql', { query, variables }, headers);
  return { status, data: body.data, messages: ((body.errors ?? []) as { message: string }[]).map((error) => error.message) };
}

/** A refusal: a 400 with no data, one of whose errors matches. */
function expectRefused(answer: Awaited<ReturnType<typeof post>>, message: RegExp) {
  expect(answer.status).toBe(400);
  expect(answer.data).toBeUndefined();
  expect(answer.messages).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
}

const aliases = (count: number, field: string) => Array.from({ length: count }, (_, index) => `a${index}: ${field}`).join(' ');

describe('GraphQL query limits', () => {
  it('refuses 55,000 aliases of __typename from an anonymous caller while parsing', async () => {
    expectRefused(await post(`{ ${aliases(55_000, '__typename')} }`), /Token limit of \d+ exceeded/);
  });

  it('counts aliases of __typename against GRAPHQL_MAX_ALIASES (15)', async () => {
    expect((await post(`{ ${aliases(15, '__typename')} }`)).status).toBe(200);
    expectRefused(await post(`{ ${aliases(16, '__typename')} }`), /Aliases limit of 15 exceeded/);
  });

  it('refuses a selection nested deeper than GRAPHQL_MAX_DEPTH (10)', async () => {
    const deep = '{ me '.repeat(11) + '}'.repeat(11);
    expectRefused(await post(deep), /depth limit of 10 exceeded/i);
  });

  it('refuses more directives than GRAPHQL_MAX_DIRECTIVES (50)', async () => {
    expectRefused(await post(`{ __typename ${'@include(if: true) '.repeat(51)} }`), /Directives limit of 50 exceeded/);
  });

  it('refuses a query costing more than GRAPHQL_MAX_COST (50000)', async () => {
    const page = 'users(first: 200) { edges { node { id username email userGroup state identity { id username blocked } } } }';
    const query = `{ ${Array.from({ length: 6 }, (_, index) => `p${index}: ${page}`).join(' ')} }`;
    expectRefused(await post(query), /Cost limit of 50000 exceeded/);
  });

  it('refuses a 60,000-deep filter variable with a 400 before any resolver, logging no error', async () => {
    // Written by hand: JSON.stringify itself would overflow on such a value.
    const filter = `${'{"a":'.repeat(60_000)}"x"${'}'.repeat(60_000)}`;
    const body = `{"query":"query ($f: JSONObject) { usersCount(filter: $f) }","variables":{"f":${filter}}}`;
    logs.length = 0;
    const { status, body: answer } = await service.call('POST', '/graphql', body, { ...anonymous, 'content-type': 'application/json' });
    expect(status).toBe(400);
    expect(answer).toEqual({
      errors: [expect.objectContaining({ message: expect.stringMatching(/^variables\/f\/a\/.* is nested more than 32 levels deep$/) })],
    });
    expect(logs.filter((line) => line.level >= 50)).toEqual([]);
  });
});

describe('introspection and suggestions (GRAPHQL_INTROSPECTION=authenticated)', () => {
  it('refuses introspection to anonymous callers and to a bad token', async () => {
    expectRefused(await post(INTROSPECTION), /introspection has been disabled/);
    expectRefused(await post('{ __type(name: "User") { name } }'), /introspection has been disabled/);
    expectRefused(await post(INTROSPECTION, undefined, badToken), /introspection has been disabled/);
  });

  it('answers introspection to an authenticated caller', async () => {
    const answer = await service.graphql(INTROSPECTION);
    expect(answer).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('does not suggest field names to anonymous callers, but does to authenticated ones', async () => {
    const typo = '{ userz { totalCount } }';
    const anonymousAnswer = await post(typo);
    expect(anonymousAnswer.messages).toEqual(['Cannot query field "userz" on type "Query".']);
    const badTokenAnswer = await post(typo, undefined, badToken);
    expect(badTokenAnswer.messages.join()).not.toMatch(/Did you mean/);
    expect((await service.graphql(typo)).errors?.[0].message).toMatch(/Did you mean .*"users"/);
  });

  it('does not suggest enum values to anonymous callers', async () => {
    // An object literal sends the document through graphql-js, whose enum coercion suggests.
    const answer = await post('query ($s: [UserState!]) { usersCount(states: $s, filter: {}) }', { s: ['PUBLC'] });
    expect(answer.messages.length).toBeGreaterThan(0);
    expect(answer.messages.join()).not.toMatch(/Did you mean|PUBLIC/);
  });
});

describe('input shapes in coercion errors (GRAPHQL_INTROSPECTION=authenticated)', () => {
  const save = 'mutation ($v: UserGroupInput!) { saveUserGroup(input: $v) { __typename } }';
  const FIELDS = /crudSchema|userGroup|JSONObject/;

  it("does not tell anonymous callers which fields a variable's input type requires", async () => {
    const answer = await post(save, { v: { label: 'x' } });
    expect(answer.messages.length).toBeGreaterThan(0);
    expect(answer.messages.join()).not.toMatch(FIELDS);
    const wrongType = await post(save, { v: { label: 3, userGroup: 'g', crudSchema: {} } });
    expect(wrongType.messages.join()).not.toMatch(/label|String/);
    expect((await post(save, { v: { label: 'x' } }, badToken)).messages.join()).not.toMatch(FIELDS);
  });

  it('does not tell them through an object literal either (graphql-js coercion)', async () => {
    const answer = await post('mutation { saveUserGroup(input: {label: "x"}) { __typename } }');
    expect(answer.messages.length).toBeGreaterThan(0);
    expect(answer.messages.join()).not.toMatch(FIELDS);
  });

  it('still tells authenticated callers', async () => {
    const answer = await service.graphql(save, { v: { label: 'x' } });
    expect(answer.errors?.map((error) => error.message).join()).toMatch(/crudSchema/);
  });
});

describe('aliased mutations (issue #16, part 3)', () => {
  const reset = (index: number) => `r${index}: resetPassword(ticket: "ticket-${index}", password: "Another-horse-${index}") { __typename }`;
  const login = (alias: string) => `${alias}: login(username: "nobody", password: "Wrong-horse-9") { __typename }`;

  it('refuses 40 aliased resetPassword calls in one request without hashing anything', async () => {
    hashingCalls.length = 0;
    const answer = await post(`mutation { ${Array.from({ length: 40 }, (_, index) => reset(index)).join(' ')} }`);
    expectRefused(answer, /At most 1 of login, resetPassword, changeOwnPassword per request/);
    expect(hashingCalls).toEqual([]);
  });

  it('refuses two password mutations in one request, even when one hides in a fragment', async () => {
    hashingCalls.length = 0;
    expectRefused(await post(`mutation { ${reset(1)} ${login('l')} }`), /At most 1 of login, resetPassword, changeOwnPassword per request/);
    const fragment = `mutation { ${login('a')} ...More } fragment More on Mutation { ... on Mutation { ${login('b')} } }`;
    expectRefused(await post(fragment), /At most 1 of login, resetPassword, changeOwnPassword per request/);
    expect(hashingCalls).toEqual([]);
  });

  it('still runs one password mutation', async () => {
    hashingCalls.length = 0;
    const answer = await post(`mutation { ${login('only')} }`);
    expect(answer.status).toBe(200);
    expect(answer.data.only.__typename).toBe('UnauthorizedError');
    expect(hashingCalls).toEqual(['login']);
  });

  it('refuses more root mutation fields than GRAPHQL_MAX_ROOT_MUTATIONS (10)', async () => {
    const logouts = Array.from({ length: 11 }, (_, index) => `o${index}: logout { __typename }`).join(' ');
    expectRefused(await post(`mutation { ${logouts} }`), /At most 10 mutation fields per request/);
  });
});

describe('GRAPHQL_INTROSPECTION', () => {
  it('never: refuses introspection to administrators too', async () => {
    const strict = await startService({ env: { GRAPHQL_INTROSPECTION: 'never' } });
    try {
      const answer = await strict.graphql(INTROSPECTION);
      expect(answer.data).toBeUndefined();
      expect(answer.errors?.[0].message).toMatch(/introspection has been disabled/);
      expect((await strict.graphql('{ userz }')).errors?.[0].message).not.toMatch(/Did you mean/);
    } finally {
      await strict.close();
    }
  });

  it('always: answers introspection to anonymous callers', async () => {
    const open = await startService({ env: { GRAPHQL_INTROSPECTION: 'always' } });
    try {
      const { status, body } = await open.call('POST', '/graphql', { query: INTROSPECTION }, anonymous);
      expect(status).toBe(200);
      expect(body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    } finally {
      await open.close();
    }
  });
});

describe('bulk jobs read more than once in one request', () => {
  // A completed job of 100,000 users is read whole (its payload parsed, its lists built): 15 aliased
  // passwordChangeJob answered 163 MB in 7 s, the process up by 1.3 GB, where its REST path answers 11 MB.
  const job = (alias: string, field = 'passwordChangeJob') => `${alias}: ${field}(jobId: "no-such-job") { __typename }`;
  const admin = {};

  it('refuses two, aliased or in a fragment, before any job is read', async () => {
    const message = /At most 1 of bulkActivationJob, passwordChangeJob per request, found 2\./;
    expectRefused(await post(`{ ${job('a')} ${job('b')} }`, undefined, admin), message);
    expectRefused(await post(`{ ${job('a')} ${job('b', 'bulkActivationJob')} }`, undefined, admin), message);
    expectRefused(await post(`{ ${job('a')} ...More } fragment More on Query { ${job('b')} }`, undefined, admin), message);
  });

  it('still reads one', async () => {
    const answer = await post(`{ ${job('only')} }`, undefined, admin);
    expect(answer.status).toBe(200);
    expect(answer.data).toEqual({ only: { __typename: 'NotFoundError' } });
  });
});
