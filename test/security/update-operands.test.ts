import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * Operands of PATCH operators that MongoDB refuses: the embedded store answered 200 and did
 * something (or nothing), and connected mode sent them on to the CRUD, where MongoDB fails the
 * update and the CRUD answers 500. Each is a 400 now, before anything is written, every backend,
 * REST and GraphQL alike (docs/security.md).
 */
let service: TestService;
let userId: string;

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
  const created = await service.call('POST', '/users/', {
    userGroup: 'guest',
    name: 'target',
    tags: ['a', 'b'],
    address: { list: [{ k: 1 }, { k: 2 }] },
  });
  userId = created.body._id;
});
afterAll(() => service.close());

const stored = async () => (await service.call('GET', `/users/${userId}`)).body;

/** Each body is a 400 naming its operator and field, and the user is as it was. */
async function expectRefused(bodies: unknown[], field: string): Promise<void> {
  const before = await stored();
  for (const body of bodies) {
    const res = await service.call('PATCH', `/users/${userId}`, body);
    expect({ status: res.status, message: res.body.message }, JSON.stringify(body)).toEqual({
      status: 400,
      message: expect.stringContaining(field),
    });
    const graphql = await service.graphql(
      'mutation($id: ID!, $u: JSONObject!) { updateUser(id: $id, update: $u) { __typename ... on Error { message } } }',
      { id: userId, u: body },
    );
    expect(graphql.data?.updateUser, JSON.stringify(body)).toEqual({ __typename: 'InvalidInputError', message: res.body.message });
  }
  expect(await stored()).toEqual(before);
}

describe('$pull conditions', () => {
  it('refuses the shapes MongoDB fails (as _q refuses them)', async () => {
    await expectRefused(
      [
        { $pull: { tags: { $size: 'x' } } },
        { $pull: { tags: { $size: -1 } } },
        { $pull: { tags: { $elemMatch: 5 } } },
        { $pull: { tags: { $all: 5 } } },
        { $pull: { tags: { $nin: 'a' } } },
        { $pull: { tags: { $or: [] } } },
        { $pull: { tags: { $nor: [] } } },
        { $pull: { tags: { $and: [1] } } },
        { $pull: { tags: { $gt: 'a', x: 1 } } },
        { $pull: { 'address.list': { $or: [{ k: { $gt: 1, x: 1 } }] } } },
        { $pull: { 'address.list': { k: { $size: 'x' } } } },
        { $pull: { 'address.list': { k: { $elemMatch: { $or: [] } } } } },
      ],
      '$pull',
    );
  });

  it('still pulls by value, by operator and by the fields of document items', async () => {
    const res = await service.call('PATCH', `/users/${userId}`, {
      $pull: { tags: { $in: ['a'] }, 'address.list': { $or: [{ k: 1 }, { k: { $gt: 5 } }] } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tags: ['b'], address: { list: [{ k: 2 }] } });
    await service.call('PATCH', `/users/${userId}`, { $set: { tags: ['a', 'b'], address: { list: [{ k: 1 }, { k: 2 }] } } });
  });
});

describe('$push and $addToSet modifiers', () => {
  it('refuses the modifiers MongoDB refuses', async () => {
    const push = (modifiers: Record<string, unknown>) => ({ $push: { tags: { $each: ['c'], ...modifiers } } });
    await expectRefused(
      [
        push({ $sort: {} }),
        push({ $sort: 2 }),
        push({ $sort: 'x' }),
        push({ $sort: { k: 5 } }),
        push({ $sort: { 'a..b': 1 } }),
        push({ $slice: 1.5 }),
        push({ $slice: 'x' }),
        push({ $position: 0.5 }),
        push({ $bogus: 1 }),
        { $addToSet: { tags: { $each: ['c'], $slice: 1 } } },
        { $addToSet: { tags: { $each: ['c'], $sort: 1 } } },
      ],
      'tags',
    );
  });

  it('still applies $each with $position, $sort and $slice', async () => {
    const res = await service.call('PATCH', `/users/${userId}`, {
      $push: { tags: { $each: ['d', 'c'], $position: 0, $sort: -1, $slice: 3 } },
      $addToSet: { 'address.list': { $each: [{ k: 2 }, { k: 3 }] } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tags: ['d', 'c', 'b'], address: { list: [{ k: 1 }, { k: 2 }, { k: 3 }] } });
  });
});

describe('long $in and $nin lists', () => {
  it('a $pull over 8,000 items with a list of 8,000 answers within 2 s, and pulls what it names', async () => {
    const tags = Array.from({ length: 8000 }, (_, index) => `t${index}`);
    expect((await service.call('PATCH', `/users/${userId}`, { $set: { tags } })).status).toBe(200);
    // mingo hashed the whole list again for every item tested: 5,000 × 5,000 held the event loop 6.5 s.
    const list = [...Array.from({ length: 7999 }, (_, index) => `u${index}`), 't7'];
    for (const [condition, left] of [
      [{ $in: list }, 7999],
      [{ $nin: tags.slice(1) }, 7998],
    ] as const) {
      const started = performance.now();
      const res = await service.call('PATCH', `/users/${userId}`, { $pull: { tags: condition } });
      expect({ status: res.status, left: res.body.tags?.length }).toEqual({ status: 200, left });
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });
});

describe('costly $pull conditions', () => {
  it('refuses a condition whose terms times the array items pass the budget (400), and still takes a small one', async () => {
    const list = Array.from({ length: 8000 }, (_, index) => ({ k: index }));
    expect((await service.call('PATCH', `/users/${userId}`, { $set: { 'address.list': list } })).status).toBe(200);
    // 2,000 branches over 8,000 items: 6.5 s of a held event loop, for a 24 KB body.
    const branches = (count: number) => Array.from({ length: count }, (_, index) => ({ k: -index - 1 }));
    const started = performance.now();
    const refused = await service.call('PATCH', `/users/${userId}`, { $pull: { 'address.list': { $or: branches(2000) } } });
    expect({ status: refused.status, message: refused.body.message }).toEqual({
      status: 400,
      message: expect.stringMatching(/^body\/\$pull\/address\.list: .*too costly/),
    });
    expect(performance.now() - started).toBeLessThan(1000);
    const taken = await service.call('PATCH', `/users/${userId}`, { $pull: { 'address.list': { $or: [...branches(20), { k: 3 }] } } });
    expect({ status: taken.status, left: taken.body.address?.list?.length }).toEqual({ status: 200, left: 7999 });
  });

  it('counts the values of nested arrays and each value of an $all list (400 within 1 s)', async () => {
    // Each item's own array is walked for every term: a 5 KB $elemMatch of 500 branches over 50
    // items of 1,000 held the event loop 15 s, and a 31 KB $all of 4,000 over 10 items of 4,000 8 s.
    const objects = Array.from({ length: 1000 }, (_, index) => ({ k: index }));
    const names = Array.from({ length: 4000 }, (_, index) => `s${index}`);
    const branches = Array.from({ length: 500 }, (_, index) => ({ k: -index - 1 }));
    const list10 = () => Array.from({ length: 10 }, () => ({ sub: objects.slice(0, 10) }));
    for (const [list, condition] of [
      [Array.from({ length: 50 }, () => ({ sub: objects })), { sub: { $elemMatch: { $or: branches } } }],
      [Array.from({ length: 10 }, () => ({ sub: names })), { sub: { $all: names } }],
    ] as const) {
      expect((await service.call('PATCH', `/users/${userId}`, { $set: { 'address.list': list } })).status).toBe(200);
      const started = performance.now();
      const refused = await service.call('PATCH', `/users/${userId}`, { $pull: { 'address.list': condition } });
      expect({ status: refused.status, message: refused.body.message }).toEqual({
        status: 400,
        message: expect.stringMatching(/^body\/\$pull\/address\.list: .*too costly/),
      });
      expect(performance.now() - started).toBeLessThan(1000);
    }
    // 400,000 numbers (0.8 MB of JSON) are counted one by one: a spread of them overflowed the stack, a 500.
    const numbers = new Array(400_000).fill(1);
    expect((await service.call('PATCH', `/users/${userId}`, { $set: { 'address.list': numbers } })).status).toBe(200);
    const flat = await service.call('PATCH', `/users/${userId}`, { $pull: { 'address.list': { $or: branches.slice(0, 10) } } });
    expect({ status: flat.status, message: flat.body.message }).toEqual({ status: 400, message: expect.stringContaining('too costly') });
    expect((await service.call('PATCH', `/users/${userId}`, { $set: { 'address.list': list10() } })).status).toBe(200);
    const small = { sub: { $elemMatch: { $or: branches.slice(0, 5) } } };
    const taken = await service.call('PATCH', `/users/${userId}`, { $pull: { 'address.list': small } });
    expect({ status: taken.status, left: taken.body.address?.list?.length }).toEqual({ status: 200, left: 10 });
  });
});
