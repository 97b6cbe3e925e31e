import { Query } from 'mingo';
import { update } from 'mingo/updater';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRegex, createLinearQuery, linearQueryOptions, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE } from '../../../src/crud/regex.js';
import { InvalidInputError } from '../../../src/errors.js';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * `$regex` on the embedded store runs on RE2 (linear time). With JavaScript's backtracking RegExp,
 * `^(a+)+$` over 48 `a`s and a `!` takes 2^48 steps: each attack below would hang until its timeout.
 */
const EVIL = '^(a+)+$';
const MATCHING = 'a'.repeat(48);
const NOT_MATCHING = `${'a'.repeat(48)}!`;
/** Far below what the backtracking engine needs (hours), far above what RE2 needs (milliseconds). */
const QUICK = { timeout: 5_000 };

let service: TestService;
const ids: Record<string, string> = {};

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
  const users = { matching: [MATCHING, ['x']], evil: [NOT_MATCHING, [NOT_MATCHING]], plain: ['Bob', ['b']] } as const;
  for (const [key, [name, tags]] of Object.entries(users)) {
    const res = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: `regex-${key}`,
      email: `regex-${key}@example.com`,
      name,
      tags,
    });
    expect(res.status).toBe(200);
    ids[key] = res.body._id;
  }
});
afterAll(() => service.close());

const q = (filter: unknown) => encodeURIComponent(JSON.stringify(filter));
const usernames = (body: { username: string }[]) => body.map((user) => user.username).sort();

describe('a backtracking $regex against the embedded store', () => {
  it('GET /users/ answers the matching users at once', QUICK, async () => {
    const res = await service.call('GET', `/users/?_q=${q({ name: { $regex: EVIL } })}`);
    expect(res.status).toBe(200);
    expect(usernames(res.body)).toEqual(['regex-matching']);
  });

  it('GET /users/count answers at once', QUICK, async () => {
    const res = await service.call('GET', `/users/count?_q=${q({ name: { $regex: EVIL, $options: 'i' } })}`);
    expect(res).toMatchObject({ status: 200, body: 1 });
  });

  it('reaches no backtracking engine through $elemMatch, $all, $or or $and', QUICK, async () => {
    const filters = [
      { tags: { $elemMatch: { $regex: EVIL } } },
      { tags: { $all: [{ $elemMatch: { $regex: EVIL } }] } },
      { $or: [{ name: { $regex: EVIL } }, { name: 'nobody' }] },
      { $and: [{ name: { $regex: EVIL } }, { $or: [{ tags: { $elemMatch: { $regex: EVIL } } }, { tags: 'x' }] }] },
    ];
    for (const filter of filters) {
      const res = await service.call('GET', `/users/?_q=${q(filter)}`);
      expect({ filter, status: res.status, users: usernames(res.body) }).toEqual({ filter, status: 200, users: expect.any(Array) });
      expect(res.body.map((user: { _id: string }) => user._id)).not.toContain(ids.evil);
    }
    // `$regex` straight on the array field is the CRUD's 400 (its query parser takes no $regex on an Array field).
    const straight = await service.call('GET', `/users/?_q=${q({ $or: [{ tags: { $regex: EVIL } }, { tags: 'x' }] })}`);
    expect([straight.status, straight.body.message]).toEqual([400, 'Unsupported operator: $regex for Array field']);
  });

  it('GraphQL users(filter:) answers at once', QUICK, async () => {
    const res = await service.graphql('query ($f: JSONObject) { users(filter: $f) { totalCount } }', { f: { name: { $regex: EVIL } } });
    expect(res).toEqual({ data: { users: { totalCount: 1 } } });
  });

  it('PATCH /users/:id with {$pull: {tags: {$regex}}} answers at once', QUICK, async () => {
    const res = await service.call('PATCH', `/users/${ids.evil}`, { $pull: { tags: { $regex: EVIL } } });
    expect(res.status).toBe(200);
    expect(res.body.tags).toEqual([NOT_MATCHING]);
    const refused = await service.call('PATCH', `/users/${ids.evil}`, { $pull: { tags: { $regex: '(a)\\1' } } });
    expect(refused.status).toBe(400);
  });

  it('POST /users/state with a $regex filter moves only what matches, at once', QUICK, async () => {
    // Inside `$or`: on `name` itself the CRUD's body schema wants a string (a 400, docs/decisions.md round three).
    const res = await service.call('POST', '/users/state', [
      { filter: { _id: ids.evil, $or: [{ name: { $regex: EVIL } }] }, stateTo: 'DRAFT' },
    ]);
    expect(res).toMatchObject({ status: 200, body: 0 });
  });
});

describe('$regex refused with a 400 when RE2 cannot run it', () => {
  const refused: [string, unknown][] = [
    ['a backreference', { name: { $regex: '(a)\\1' } }],
    ['a lookahead', { name: { $regex: 'a(?=b)' } }],
    ['a lookbehind', { name: { $regex: '(?<!a)b' } }],
    ['the x flag', { name: { $regex: 'a b', $options: 'x' } }],
    ['a JavaScript-only flag', { name: { $regex: 'a', $options: 'g' } }],
    ['a pattern over the length limit', { name: { $regex: 'a'.repeat(MAX_PATTERN_LENGTH + 1) } }],
    ['a pattern over the size limit', { name: { $regex: '(.*a){900}' } }],
    ['a repeat over 1000', { name: { $regex: '((a{100}){100})' } }],
    ['a non-string $regex', { name: { $regex: 5 } }],
    ['a non-string $options', { name: { $regex: 'a', $options: 1 } }],
    ['$options without $regex', { name: { $options: 'i' } }],
    ['a refused pattern inside $elemMatch', { tags: { $elemMatch: { $regex: '(a)\\1' } } }],
  ];
  it.each(refused)('%s', async (_, filter) => {
    const res = await service.call('GET', `/users/?_q=${q(filter)}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/^querystring\/_q /) });
  });
});

describe('the regex module', () => {
  const texts = ['', 'abc', 'ABC', 'a\nb', 'line1\nline2', 'John Smith', 'jane.doe@example.com', 'N1', 'N12', 'café', 'a/b/i', '  x  '];
  const ordinary: [string, string][] = [
    ['^abc$', ''],
    ['abc', 'i'],
    ['^j', 'i'],
    ['^line2$', 'm'],
    ['^line2$', ''],
    ['a.b', 's'],
    ['a.b', ''],
    ['\\d+$', ''],
    ['^N1\\d?$', ''],
    ['^[a-z]+\\.[a-z]+@', ''],
    ['\\bSmith\\b', ''],
    ['caf(é|e)', 'i'],
    ['^\\s+x', ''],
    ['(?:ab|cd)+', ''],
    ['', ''],
    ['x{2,}', ''],
  ];

  it.each(ordinary)('/%s/%s matches what JavaScript matches', (pattern, options) => {
    const re2 = compileRegex({ pattern, options });
    const js = new RegExp(pattern, options);
    expect(texts.map((text) => re2.test(text))).toEqual(texts.map((text) => js.test(text)));
  });

  it('filters like mingo with a JavaScript RegExp, arrays and nesting included', () => {
    const docs = [
      { name: 'Ann', tags: ['admin', 'ops'], groups: [{ name: 'Alpha' }] },
      { name: 'bob', tags: [['nested', 'ADMIN']], groups: [{ name: 'beta' }] },
      { name: 42, tags: [] },
      {},
    ];
    const filters = [
      { name: { $regex: '^a', $options: 'i' } },
      { tags: { $regex: 'admin', $options: 'i' } },
      { groups: { $elemMatch: { name: { $regex: '^b' } } } },
      { $or: [{ name: { $regex: 'nn$' } }, { tags: { $all: [{ $elemMatch: { $regex: '^o' } }] } }] },
      { name: { $regex: 'o', $ne: 'boo' } },
      { $nor: [{ name: { $regex: '^A' } }] },
      { name: { $not: { $regex: '^A' } } },
    ];
    for (const filter of filters) {
      const expected = docs.map((doc) => new Query(filter).test(doc));
      expect({ filter, matched: docs.map((doc) => createLinearQuery(filter).test(doc)) }).toEqual({ filter, matched: expected });
    }
  });

  it('reads RE2 (PCRE-like) syntax, and a /pattern/flags string as literal text, as MongoDB does', () => {
    expect(compileRegex({ pattern: '(?i)^ann$' }).test('ANN')).toBe(true);
    expect(compileRegex({ pattern: '^[[:alpha:]]+$' }).test('Ann')).toBe(true);
    expect(compileRegex({ pattern: '^\\pL+$' }).test('Zoë')).toBe(true);
    expect(createLinearQuery({ name: { $regex: '/ann/i' } }).test({ name: 'ANN' })).toBe(false);
    expect(createLinearQuery({ name: { $regex: '/ann/i' } }).test({ name: 'x/ann/i' })).toBe(true);
  });

  it('runs the backtracking pattern in linear time, on long texts too', QUICK, () => {
    const re = compileRegex({ pattern: EVIL });
    expect(re.test(`${'a'.repeat(100_000)}!`)).toBe(false);
    expect(re.test('a'.repeat(100_000))).toBe(true);
  });

  it('refuses with InvalidInputError, naming where the pattern came from', () => {
    expect(() => compileRegex({ pattern: '(a)\\1' }, ['body', 'filter'])).toThrow(
      expect.objectContaining({ constructor: InvalidInputError, status: 400, message: expect.stringMatching(/^body\/filter \$regex /) }),
    );
    expect(() => compileRegex({ pattern: 'a', options: 'ix' })).toThrow(/querystring\/_q \$options .*"x" is not supported/);
    expect(() => compileRegex({ pattern: 'a'.repeat(MAX_PATTERN_LENGTH) })).not.toThrow();
    expect(() => compileRegex({ pattern: `(.*a){${Math.ceil(MAX_PROGRAM_SIZE / 4)}}` })).toThrow(/too complex/);
    expect(() => createLinearQuery({ $where: 'true' })).toThrow();
    expect(() => createLinearQuery({ $expr: { $regexMatch: { input: '$name', regex: EVIL } } })).toThrow();
  });

  it('makes $pull conditions of the updater linear too', QUICK, () => {
    const doc = { tags: [NOT_MATCHING, MATCHING, 'b'] };
    update(doc, { $pull: { tags: { $regex: EVIL } } }, undefined, undefined, { queryOptions: linearQueryOptions(['body', '$pull']) });
    expect(doc.tags).toEqual([NOT_MATCHING, 'b']);
  });
});
