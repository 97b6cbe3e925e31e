import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserStore } from '../../src/ports/user-store.js';
import { startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * Issue #16 follow-up: anonymous GraphQL requests and clients' bad input were logged at error
 * level with a stack trace, one per request, so any stranger could fill the error log. A client's
 * error (a DomainError under 500) is logged at debug; a real failure still at error.
 */
const anonymous = { 'x-api-key': '' };
const ERROR = 50;

let service: TestService;
let failing = false;
const logs: { level: number; msg?: string; err?: { message?: string; stack?: string } }[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  service = await startService({ logger: pino({ level: 'debug' }, sink), wrap: (deps) => ({ users: failingStore(deps.users) }) });
});
afterAll(() => service.close());

/** Every call of the store throws a plain Error (a bug, a broken backend) while `failing` is set. */
function failingStore(users: UserStore): UserStore {
  return new Proxy(users, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (failing) throw new Error('disk on fire');
        return value.apply(target, args);
      };
    },
  });
}

async function errorLinesOf(request: () => Promise<{ status: number }>) {
  logs.length = 0;
  const { status } = await request();
  // pino writes through a stream: give it a turn.
  await new Promise((resolve) => setImmediate(resolve));
  return { status, errors: logs.filter((line) => line.level >= ERROR) };
}

const graphql =
  (query: string, headers: Record<string, string> = {}) =>
  async () => {
    const { status, body } = await service.call('POST', '/graphql', { query }, headers);
    return { status, body };
  };

describe('client errors are not error-level logs', () => {
  it('anonymous { usersCount }: 401, no error log', async () => {
    const { status, errors } = await errorLinesOf(graphql('{ usersCount }', anonymous));
    expect(status).toBe(401);
    expect(errors).toEqual([]);
  });

  it('a bearer token that is not one (x.y.z): 401, no error log', async () => {
    const { status, errors } = await errorLinesOf(graphql('{ usersCount }', { ...anonymous, authorization: 'Bearer x.y.z' }));
    expect(status).toBe(401);
    expect(errors).toEqual([]);
  });

  it('a bad cursor and first: 0 from an administrator: 400, no error log', async () => {
    const cursor = await errorLinesOf(graphql('{ users(after: "not-a-cursor") { totalCount } }'));
    expect(cursor.status).toBe(400);
    expect(cursor.errors).toEqual([]);
    const zero = await errorLinesOf(graphql('{ users(first: 0) { totalCount } }'));
    expect(zero.errors).toEqual([]);
  });

  it('REST: an anonymous request and a bad body are no error logs either', async () => {
    const stranger = await errorLinesOf(() => service.call('GET', '/users/count', undefined, anonymous));
    expect(stranger.status).toBe(401);
    expect(stranger.errors).toEqual([]);
    const badToken = await errorLinesOf(() =>
      service.call('GET', '/users/count', undefined, { ...anonymous, authorization: 'Bearer x.y.z' }),
    );
    expect(badToken.status).toBe(401);
    expect(badToken.errors).toEqual([]);
  });

  it('an upload whose map names a file the request does not hold: a typed 400-class error, no error log', async () => {
    // graphql-upload rejects the Upload with its own BadRequestError; it was answered "Unexpected error." and logged as a failure.
    const query = 'mutation($f: Upload!) { importUsers(file: $f) { __typename ... on Error { message } } }';
    const send = async () => {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query, variables: { f: null } }));
      form.append('map', JSON.stringify({ 0: ['variables.f'] }));
      form.append('1', new Blob(['userGroup,name\n'], { type: 'text/csv' }), 'users.csv');
      const response = await fetch(`${service.url}/graphql`, { method: 'POST', body: form, headers: { 'x-api-key': TEST_API_KEY } });
      return { status: response.status, body: await response.json() };
    };
    const { errors } = await errorLinesOf(async () => {
      const res = await send();
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.importUsers).toEqual({
        __typename: 'InvalidInputError',
        message: 'the upload could not be read: File missing in the request.',
      });
      return res;
    });
    expect(errors).toEqual([]);
  });

  it.each(['variables', 'extensions'])('a GraphQL GET whose %s is no JSON: a 400, no error log', async (param) => {
    // yoga's GET parser let JSON.parse's SyntaxError through: "Unexpected error.", a 500 with an error log.
    const { status, errors } = await errorLinesOf(async () => {
      const res = await service.call('GET', `/graphql?query=${encodeURIComponent('{ usersCount }')}&${param}=%7B`);
      expect(res.body.errors).toEqual([expect.objectContaining({ message: `The ${param} parameter is not valid JSON.` })]);
      expect(JSON.stringify(res.body)).not.toMatch(/position|SyntaxError/);
      return res;
    });
    expect(status).toBe(400);
    expect(errors).toEqual([]);
  });

  it('a login with a 1 MB username writes a bounded log line', async () => {
    // login.failed carried the name typed, whole: any stranger wrote 1 MB of log per request, 429s included.
    // A name over 320 characters is now a 400 before any event; one of 320 is cut in the event.
    logs.length = 0;
    const huge = await service.call('POST', '/oauth/token', { username: 'u'.repeat(1_000_000), password: 'Wrong-guess-1' }, anonymous);
    expect(huge.status).toBe(400);
    const res = await service.call('POST', '/oauth/token', { username: 'u'.repeat(320), password: 'Wrong-guess-1' }, anonymous);
    expect(res.status).toBe(401);
    await new Promise((resolve) => setImmediate(resolve));
    const failed = logs.find((line) => (line as { event?: string }).event === 'login.failed') as { username?: string } | undefined;
    expect(failed?.username).toMatch(/^u{256}… \(320 characters\)$/);
    expect(JSON.stringify(logs).length).toBeLessThan(4_000);
  });

  it('still logs a real failure at error level, with its cause', async () => {
    failing = true;
    try {
      const answer = await errorLinesOf(graphql('{ usersCount }'));
      expect(answer.errors).toEqual([
        expect.objectContaining({ err: expect.objectContaining({ message: expect.stringMatching(/disk on fire/) }) }),
      ]);
      const rest = await errorLinesOf(() => service.call('GET', '/users/000000000000000000000001'));
      expect(rest.status).toBe(500);
      expect(rest.errors).toEqual([
        expect.objectContaining({ err: expect.objectContaining({ message: expect.stringMatching(/disk on fire/) }) }),
      ]);
    } finally {
      failing = false;
    }
  });
});
