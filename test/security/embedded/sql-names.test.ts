import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPollutedPrototype } from '../../helpers/pollute.js';
import { GUEST_GROUP, seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * Issue #16, part 1, on the embedded store: no text from a request reaches SQL, and no backend's
 * error text reaches an answer. The attack polluted `Object.prototype.x` with a SQL expression
 * reading the signing keys, then sorted by `x`; the 500 carried the private key.
 */
const STOLEN = "json_extract('{}',(SELECT group_concat(private_jwk) FROM signing_keys))";

let service: TestService;

beforeAll(async () => {
  service = await startService({ store: 'embedded', identity: 'embedded' });
  await seedGroups(service, [GUEST_GROUP]);
  for (const name of ['b', 'a', 'c']) await service.call('POST', '/users/', { userGroup: 'guest', name });
  await service.call('POST', '/oauth/token', { username: 'nobody', password: 'x' }); // creates the signing key
});
afterAll(() => service.close());

describe('names from requests never become SQL', () => {
  it('sorts by a field whose name Object.prototype also holds, as a plain JSON field', async () => {
    await withPollutedPrototype('x', STOLEN, async () => {
      const sorted = await service.call('GET', '/users/?_s=x,name&_q={"userGroup":"guest"}');
      expect(sorted.status).toBe(200);
      expect(sorted.body.map((user: { name: string }) => user.name)).toEqual(['a', 'b', 'c']);
    });
  });

  it('sorts by a quoted, dotted JSON path given as data', async () => {
    await service.call('POST', '/users/', { userGroup: 'guest', name: 'nested' });
    const res = await service.call('GET', '/users/?_s=-address.city-name,name&_p=name');
    expect(res.status).toBe(200);
    expect(res.body.map((user: { name: string }) => user.name)).toEqual(['a', 'b', 'c', 'nested']);
  });
});

describe('sort keys', () => {
  it('refuses more than 32 sort keys (400, as MongoDB does), REST and GraphQL: 2,000 were a 500 from SQLite', async () => {
    const many = Array.from({ length: 2000 }, (_, index) => `f${index}`);
    for (const keys of [many, many.slice(0, 33)]) {
      const res = await service.call('GET', `/users/?_s=${keys.join(',')}`);
      expect(res.status, `${keys.length} keys`).toBe(400);
      expect(res.body.message).toContain('at most 32 sort keys');
      const graphql = await service.graphql('query($s: [String!]) { users(sort: $s) { totalCount } }', { s: keys });
      expect(graphql.errors?.[0]?.message).toContain('at most 32 sort keys');
    }
    const allowed = await service.call('GET', `/users/?_s=${many.slice(0, 32).join(',')},-name&_q={"userGroup":"guest"}`);
    expect(allowed.status).toBe(400);
    const thirtyTwo = await service.call('GET', `/users/?_s=${many.slice(0, 31).join(',')},-name&_q={"userGroup":"guest"}&_p=name`);
    expect(thirtyTwo.status).toBe(200);
    expect(thirtyTwo.body[0].name).toBe('nested');
  });
});

describe('5xx answers carry the service words, never a backend text', () => {
  it('logs a store failure and answers without its message', async () => {
    const failing = await startService({
      store: 'embedded',
      identity: 'embedded',
      wrap: (deps) => {
        const fail = async (): Promise<never> => {
          throw Object.assign(new Error('no such column: private_jwk -----BEGIN PRIVATE KEY-----'), { code: 'SQLITE_ERROR' });
        };
        // Both ways of reading a page: REST's from the stored text, GraphQL's as objects.
        return { users: { ...deps.users, list: fail, listText: fail } };
      },
    });
    try {
      const res = await failing.call('GET', '/users/?_l=1');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'Error while listing users: an unexpected error occurred',
      });
      const graphql = await failing.graphql('{ users(first: 1) { totalCount } }');
      expect(JSON.stringify(graphql)).not.toMatch(/private|SQLITE|column/i);
    } finally {
      await failing.close();
    }
  });
});
