import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, GUEST_GROUP, seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * Issue #16: property-based attacks with hostile names and shapes on every input that names
 * fields. Whatever the input: never a 5xx, never a change to Object.prototype (the service runs
 * in this process), never a backend's error text in the answer.
 */
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'a.__proto__.b',
  'constructor.prototype',
  '$where',
  '$regex',
  '$gt',
  '$in',
  '$expr',
  '$function',
  '$',
  '',
  '.',
  'a..b',
  'name',
  'userGroup',
  '_id',
  '__STATE__',
  'tags.0',
  'x'.repeat(2_000),
  'ünï\u0000cödé',
  "'; DROP TABLE users; --",
  '"quoted"',
];
const key = fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 12 }));
const leaf = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...HOSTILE_KEYS),
);
const value = fc.object({ key, values: [leaf], maxDepth: 4, maxKeys: 4 });
/** Deeper than any limit lets through: refused before anything walks it recursively. */
const deep = fc.integer({ min: 65, max: 1_000 }).map((depth) => {
  let nested: unknown = 'x';
  for (let level = 0; level < depth; level += 1) nested = { a: nested };
  return nested;
});
const fieldList = fc
  .array(fc.constantFrom(...HOSTILE_KEYS, '-name', '-__proto__'), { minLength: 1, maxLength: 3 })
  .map((items) => items.join(','));

const BACKEND_TEXT = /sqlite|E11000|mongo|no such column|syntax error|stack|\.ts:\d+|private_jwk|BEGIN PRIVATE/i;
const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 60) };

let service: TestService;
let userId: string;
let prototypeKeys: string[];

beforeAll(async () => {
  prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  service = await startService();
  await seedGroups(service, [CUSTOMER_GROUP, GUEST_GROUP]);
  userId = (await service.call('POST', '/users/', { userGroup: 'guest', name: 'target', tags: ['t'] })).body._id;
});
afterAll(async () => {
  await service.close();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
});

/** The answer a hostile request may get: a success or the client's own 4xx, in the documented shape. */
function expectHandled(res: { status: number; body: unknown }, input: unknown): void {
  const text = JSON.stringify(res.body) ?? '';
  expect({ status: res.status < 500, input }).toEqual({ status: true, input });
  expect(text).not.toMatch(BACKEND_TEXT);
  if (res.status >= 400) expect(res.body).toMatchObject({ statusCode: res.status });
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
}

const encoded = (input: unknown) => encodeURIComponent(JSON.stringify(input));

describe('hostile names and shapes', () => {
  it('in _q of the list and the count', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(value, deep), async (filter) => {
        expectHandled(await service.call('GET', `/users/?_q=${encoded(filter)}`), filter);
        expectHandled(await service.call('GET', `/users/count?_q=${encoded(filter)}`), filter);
      }),
      RUNS,
    );
  });

  it('in _p, _s and field filters', async () => {
    await fc.assert(
      fc.asyncProperty(fieldList, key, fc.string({ maxLength: 20 }), async (fields, name, text) => {
        const plain = `${encodeURIComponent(name || 'x')}=${encodeURIComponent(text)}`;
        for (const path of [`/users/?_p=${encodeURIComponent(fields)}`, `/users/?_s=${encodeURIComponent(fields)}`, `/users/?${plain}`]) {
          expectHandled(await service.call('GET', path), path);
        }
      }),
      RUNS,
    );
  });

  it('in PATCH bodies and their operators', async () => {
    const operator = fc.constantFrom('$set', '$unset', '$inc', '$mul', '$push', '$pull', '$addToSet', '$currentDate', '$rename');
    const body = fc.oneof(
      value,
      deep,
      fc.record({ op: operator, fields: value }).map(({ op, fields }) => ({ [op]: fields })),
    );
    await fc.assert(
      fc.asyncProperty(body, async (patch) => {
        expectHandled(await service.call('PATCH', `/users/${userId}`, patch), patch);
      }),
      RUNS,
    );
    const stored = (await service.call('GET', `/users/${userId}`)).body;
    expect(Object.keys(stored)).not.toEqual(expect.arrayContaining(['__proto__']));
  });

  it('in $pull conditions, which take the operators _q allows and no others', async () => {
    const before = (await service.call('GET', `/users/${userId}`)).body;
    // The last one is what the property above found: it reached the CRUD, whose 500 the service passed on.
    const conditions = [{ $expr: { $eq: [1, 1] } }, { a: 1, $where: 'true' }, { '': 1, $expr: '__proto__', _id: false, 'Om(': 'x' }];
    for (const condition of conditions) {
      const res = await service.call('PATCH', `/users/${userId}`, { $pull: { tags: condition } });
      expect({ status: res.status, message: res.body.message }).toEqual({
        status: 400,
        message: expect.stringMatching(/^body\/\$pull\/tags: operator \$(expr|where) is not allowed$/),
      });
    }
    expect((await service.call('GET', `/users/${userId}`)).body).toEqual(before);
  });

  it('in GraphQL JSONObject arguments', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(value, deep), async (input) => {
        const filtered = await service.graphql('query($f: JSONObject) { users(filter: $f, first: 5) { totalCount } }', { f: input });
        expect(JSON.stringify(filtered)).not.toMatch(BACKEND_TEXT);
        const updated = await service.graphql('mutation($id: ID!, $u: JSONObject!) { updateUser(id: $id, update: $u) { __typename } }', {
          id: userId,
          u: input,
        });
        expect(JSON.stringify(updated)).not.toMatch(BACKEND_TEXT);
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
      }),
      RUNS,
    );
  });
});
