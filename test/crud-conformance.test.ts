import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type StoreKind, type TestService } from './helpers/service.js';
import { BOOK_COLLECTIONS, BOOK_GROUPS, BOOK_USERS, bookById } from './conformance/books.js';
import { type Case, CASES } from './conformance/cases.js';

/**
 * Issue #19: the CRUD Service's answers to its own test queries (conformance/cases.ts), asked of
 * the service's REST API once with the embedded store and once with the CRUD emulator behind it,
 * in the same run, so the two modes cannot drift apart.
 */
const scope = { actorId: 'conformance', headers: {} };
let copies = 0;

describe.each<StoreKind>(['embedded', 'crud'])('CRUD conformance, %s store', (store) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startService({ store, crudCollections: BOOK_COLLECTIONS, env: { TEXT_SEARCH_FIELDS: 'name,author' } });
    await seedGroups(service, BOOK_GROUPS);
    for (const book of BOOK_USERS) await service.deps.users.insert(book, scope);
  });
  afterAll(() => service.close());

  /** A fresh copy of Ulysses, in the scratch group, with an isbn of its own. */
  async function scratchCopy(): Promise<{ id: string; isbn: string }> {
    copies += 1;
    const isbn = `scratch-${store}-${copies}`;
    const { _id: _ignored, ...ulysses } = bookById('111111111111111111111111');
    const created = await service.deps.users.insert({ ...ulysses, userGroup: 'scratch', isbn, __STATE__: 'PUBLIC' }, scope);
    return { id: created._id, isbn };
  }

  async function run(test: Case): Promise<void> {
    const copy = test.path.includes(':scratch') || JSON.stringify(test.body ?? '').includes('$isbn') ? await scratchCopy() : undefined;
    const fill = (text: string) => (copy ? text.replaceAll(':scratch', copy.id).replaceAll('"$isbn"', JSON.stringify(copy.isbn)) : text);
    const body = test.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(test.body)));
    const res = await service.call(test.method ?? 'GET', fill(test.path), body, test.headers);
    expect(res.status, JSON.stringify(res.body)).toBe(test.status);
    if (test.ids) expect(res.body.map((doc: { _id: string }) => doc._id)).toEqual(test.ids);
    if (test.answer !== undefined) expect(res.body).toEqual(JSON.parse(fill(JSON.stringify(test.answer))));
    if (test.holds) expect(Array.isArray(res.body) ? res.body[0] : res.body).toMatchObject(test.holds);
    if (test.status === 400) expect(res.body.message).toEqual(expect.any(String));
    if ((test.method ?? 'GET') === 'GET' && /^\/users\/(count)?\?/.test(test.path)) {
      // The same request spelled /Users/ skips the fast page path (src/rest/fast-path.ts) for Express's routes.
      const general = await service.call('GET', fill(test.path).replace('/users/', '/Users/'), undefined, test.headers);
      expect([general.status, general.body]).toEqual([res.status, res.body]);
    }
    if (test.stored || test.gone) {
      const stored = await service.call('GET', `/users/${copy!.id}`);
      expect(stored.body).toMatchObject(test.stored ?? {});
      for (const field of test.gone ?? []) expect(stored.body).not.toHaveProperty(field);
    }
  }

  for (const item of [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12] as const) {
    describe(`issue #19 item ${item}`, () => {
      it.each(CASES.filter((test) => test.item === item).map((test) => [test.name, test] as const))('%s', (_name, test) => run(test));
    });
  }

  it('answers the documented differences with a clear 400 (docs/decisions.md)', async () => {
    const U = '111111111111111111111111';
    const replace = await service.call('PATCH', `/users/${U}`, { $set: { 'attachments.$.replace': { name: 'x' } } });
    expect(replace.status).toBe(400);
    expect(replace.body.message).toContain('array-element updates (field.$.replace, field.$.merge) are not offered');
    if (store !== 'embedded') return; // the CRUD Service answers these itself
    // MongoDB refuses the mix (the CRUD's 500), `_id` aside: a 400 in MongoDB's words.
    const raw = await service.call('GET', `/users/?_rawp=${encodeURIComponent('{"name":0,"_id":0,"price":1}')}`);
    expect([raw.status, raw.body.message]).toEqual([400, 'querystring/_rawp: Cannot do exclusion on field name in inclusion projection']);
    // Expressions the embedded store does not evaluate, for the work they could cost (docs/decisions.md, round five).
    const refusals: [unknown, string][] = [
      [
        { total: { $reduce: { input: '$tags', initialValue: [], in: { $concatArrays: ['$$value', ['$$this']] } } } },
        '$reduce is not offered by the embedded store',
      ],
      [
        { x: { $filter: { input: '$tags', as: 't', cond: { $in: ['$$t', '$tags'] } } } },
        '$tags: a field is not read inside the cond or in',
      ],
      [
        { x: { $map: { input: '$tags', as: 't', in: { $filter: { input: ['$$t'], as: 'u', cond: true } } } } },
        '$filter inside the cond or in of $filter or $map is not offered',
      ],
      [{ first: { $first: '$attachments' }, price: 0 }, 'Cannot do exclusion on field price in inclusion projection'],
      [{ first: { $first: Array.from({ length: 300 }, () => 1) } }, 'holds more than 200 values'],
    ];
    for (const [projection, message] of refusals) {
      const res = await service.call('GET', `/users/?userGroup=books&_rawp=${encodeURIComponent(JSON.stringify(projection))}`);
      expect([res.status, res.body.message], message).toEqual([400, expect.stringContaining(message)]);
    }
    // What the users hold decides the rest: items past the budget, a value an expression cannot take (a 400, not mingo's 500).
    const long = await service.deps.users.insert(
      { userGroup: 'scratch', isbn: 'long-tags', tags: Array.from({ length: 30_000 }, (_, n) => `t${n}`) },
      scope,
    );
    const filter = { x: { $filter: { input: '$tags', as: 't', cond: { $eq: ['$$t', 't1'] } } } };
    const costly = await service.call('GET', `/users/${long._id}?_rawp=${encodeURIComponent(JSON.stringify(filter))}`);
    expect([costly.status, costly.body.message]).toEqual([400, expect.stringContaining('asks too much work of the embedded store')]);
    const listed = await service.call('GET', `/users/?isbn=long-tags&_rawp=${encodeURIComponent(JSON.stringify(filter))}`);
    expect([listed.status, listed.body.message]).toEqual([400, expect.stringContaining('asks too much work of the embedded store')]);
    const notDate = { d: { $dateToString: { date: '$name', format: '%Y' } } };
    const bad = await service.call('GET', `/users/?userGroup=books&_rawp=${encodeURIComponent(JSON.stringify(notDate))}`);
    expect([bad.status, bad.body.message]).toEqual([400, expect.stringContaining('querystring/_rawp cannot be evaluated')]);
    const near = await service.call('GET', `/users/?_q=${encodeURIComponent('{"price":{"$nearSphere":{"from":[0,0]}}}')}`);
    expect(near.status).toBe(400);
    expect(near.body.message).toContain('$nearSphere is not supported by the embedded store');
  });

  it('leaves out the fields a _rawp of exclusions names (getList "use of raw projection exclusive"), by id too', async () => {
    const U = '111111111111111111111111';
    const whole = (await service.call('GET', `/users/${U}`)).body;
    const { price: _price, isbn: _isbn, ...rest } = whole;
    const expected = { ...rest, attachments: whole.attachments.map(({ name: _name, ...item }: Record<string, unknown>) => item) };
    const rawp = encodeURIComponent(JSON.stringify({ price: 0, isbn: false, 'attachments.name': 0 }));
    const listed = await service.call('GET', `/users/?userGroup=books&_q=${encodeURIComponent('{"name":"Ulysses"}')}&_rawp=${rawp}`);
    expect([listed.status, listed.body]).toEqual([200, [expected]]);
    const general = await service.call('GET', `/Users/?userGroup=books&_q=${encodeURIComponent('{"name":"Ulysses"}')}&_rawp=${rawp}`);
    expect([general.status, general.body]).toEqual([200, [expected]]);
    const byId = await service.call('GET', `/users/${U}?_rawp=${rawp}`);
    expect([byId.status, byId.body]).toEqual([200, expected]);
    const withoutId = await service.call('GET', `/users/${U}?_rawp=${encodeURIComponent('{"_id":0}')}`);
    expect(withoutId.body).toEqual((({ _id, ...others }) => others)(whole));
    // No filter, no sort: the query the embedded store's keyed page would answer whole were _rawp not judged first.
    const page = await service.call('GET', `/users/?_rawp=${encodeURIComponent('{"price":0}')}`);
    const wholePage = await service.call('GET', '/users/');
    expect(page.status).toBe(200);
    expect(page.body).toEqual(wholePage.body.map(({ price: _price, ...others }: Record<string, unknown>) => others));
    expect(page.body.some((user: Record<string, unknown>) => 'price' in user)).toBe(false);
  });

  it('answers $text inside a $or whose other clauses name indexed fields (queryParser "parseAndCastTextSearchQuery")', async () => {
    const ids = (body: { _id: string }[]) => body.map((user) => user._id);
    const indexed = { $or: [{ isbn: 'fake isbn 2' }, { $and: [{ $text: { $search: 'Ulysses' } }] }] };
    const found = await service.call('GET', `/users/?userGroup=books&_s=_id&_p=_id&_q=${encodeURIComponent(JSON.stringify(indexed))}`);
    const notIndexed = { $or: [{ author: 'James Joyce' }, { $text: { $search: 'Ulysses' } }] };
    const refused = await service.call('GET', `/users/?userGroup=books&_q=${encodeURIComponent(JSON.stringify(notIndexed))}`);
    if (store === 'crud') {
      expect([found.status, ids(found.body)]).toEqual([200, ['111111111111111111111111', '222222222222222222222222']]);
      expect([refused.status, refused.body.message]).toEqual([
        400,
        'To use a $text query in an $or expression, all clauses in the $or array must be indexed',
      ]);
    } else {
      // The embedded store's indexed fields are its standard columns: isbn is none of them (docs/decisions.md).
      for (const res of [found, refused])
        expect([res.status, res.body.message]).toEqual([
          400,
          'To use a $text query in an $or expression, all clauses in the $or array must be indexed',
        ]);
    }
  });

  it('counts every user, whatever the filters, with _useEstimate=true (countList "should ignore other query parameters")', async () => {
    const all = await service.call('GET', '/users/count?_st=PUBLIC,DRAFT,TRASH,DELETED');
    const estimate = await service.call(
      'GET',
      `/users/count?_useEstimate=true&userGroup=books&_q=${encodeURIComponent('{"price":{"$gt":null}}')}`,
    );
    expect([estimate.status, estimate.body]).toEqual([200, all.body]);
    expect(all.body).toBeGreaterThan(BOOK_USERS.length - 1);
    const exact = await service.call('GET', '/users/count?_useEstimate=false&userGroup=books');
    expect(exact.body).toBe(5);
    const bad = await service.call('GET', '/users/count?_useEstimate=maybe');
    expect([bad.status, bad.body.message]).toEqual([400, 'querystring/_useEstimate must be boolean']);
  });

  it('sorts values of mixed types in BSON order: null and missing, numbers, strings, objects, booleans', async () => {
    const values: Record<string, unknown> = {
      missing: undefined,
      n: null,
      t: true,
      f: false,
      one: 1,
      ten: 10,
      a: 'a',
      z: 'z',
      o: { k: 1 },
    };
    for (const [isbn, mix] of Object.entries(values)) {
      await service.deps.users.insert(
        { userGroup: 'scratch', name: isbn, isbn: `mix-${isbn}`, additionalInfo: mix === undefined ? {} : { mix } },
        scope,
      );
    }
    const query = `_q=${encodeURIComponent(JSON.stringify({ isbn: { $regex: '^mix-' } }))}&_p=name`;
    const names = async (sort: string) =>
      (await service.call('GET', `/users/?${query}&_s=${sort},name`)).body.map((user: { name: string }) => user.name);
    expect(await names('additionalInfo.mix')).toEqual(['missing', 'n', 'one', 'ten', 'a', 'z', 'o', 'f', 't']);
    expect(await names('-additionalInfo.mix')).toEqual(['t', 'f', 'o', 'z', 'a', 'ten', 'one', 'missing', 'n']);
  });

  it('sorts an array by its smallest (largest, descending) element in BSON order, booleans and objects after strings', async () => {
    const values: Record<string, unknown> = { num: [5, 'b'], str: ['c'], bool: [true], obj: [{ k: 1 }, 'd'], mixed: [false, 2] };
    for (const [name, list] of Object.entries(values)) {
      await service.deps.users.insert({ userGroup: 'scratch', name, isbn: `arr-${name}`, additionalInfo: { list } }, scope);
    }
    const query = `_q=${encodeURIComponent(JSON.stringify({ isbn: { $regex: '^arr-' } }))}&_p=name`;
    const names = async (sort: string) =>
      (await service.call('GET', `/users/?${query}&_s=${sort},name`)).body.map((user: { name: string }) => user.name);
    // Ascending by the smallest element: 2 (mixed), 5 (num), 'c' (str), 'd' (obj), true (bool).
    expect(await names('additionalInfo.list')).toEqual(['mixed', 'num', 'str', 'obj', 'bool']);
    // Descending by the largest: true (bool), false (mixed), {k: 1} (obj), 'c' (str), 'b' (num).
    expect(await names('-additionalInfo.list')).toEqual(['bool', 'mixed', 'obj', 'str', 'num']);
  });

  it('sorts expirationDate written with offsets by instant, and stores it as its instant', async () => {
    const users = [];
    for (const [username, expirationDate] of [
      ['exp-a', '2099-01-01T06:00:00Z'],
      ['exp-b', '2099-01-01T10:00:00+05:00'],
    ]) {
      const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'scratch',
        username,
        expirationDate,
        name: username,
        isbn: username,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      users.push(res.body._id as string);
    }
    const query = `_q=${encodeURIComponent(JSON.stringify({ username: { $in: ['exp-a', 'exp-b'] } }))}`;
    const sorted = await service.call('GET', `/users/?${query}&_s=expirationDate&_p=username,expirationDate`);
    expect(sorted.body).toEqual([
      { _id: users[1], username: 'exp-b', expirationDate: '2099-01-01T05:00:00.000Z' },
      { _id: users[0], username: 'exp-a', expirationDate: '2099-01-01T06:00:00.000Z' },
    ]);
    const later = await service.call('GET', `/users/count?${query}&expirationDate=2099-01-01T06:00:00%2B00:00`);
    expect(later.body).toBe(1);
  });
});
