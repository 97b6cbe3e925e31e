import { bookById } from './books.js';
import { type Case, list, O, q, U } from './cases-common.js';

/**
 * Item 12: the fifth round over the CRUD Service's HTTP tests (crud-service 7.2.5: httpInterface.getList
 * "use of raw projection …", lib/projectionUtils.js, queryParser.test "parseAndCastTextSearchQuery"):
 * what round four left as differences (docs/decisions.md, "CRUD fidelity, round five").
 */
const rawp = (projection: unknown) => `_rawp=${encodeURIComponent(JSON.stringify(projection))}`;
const ULYSSES = q({ name: 'Ulysses' });
const u = bookById(U);
const o = bookById(O);

/** `_id: 0` among inclusions, and `_id: 1` among exclusions: MongoDB allows `_id` either way in either kind. */
export const RAW_ID: Case[] = [
  {
    item: 12,
    name: '_rawp inclusive with _id: 0 leaves the _id out',
    path: list(`${ULYSSES}&${rawp({ price: 1, isbn: 1, _id: 0 })}`),
    status: 200,
    answer: [{ isbn: u.isbn, price: u.price }],
  },
  {
    item: 12,
    name: '_rawp inclusive with _id: false first and a nested path',
    path: list(`_l=2&${rawp({ _id: false, 'attachments.name': 1, price: true })}`),
    status: 200,
    answer: [{ price: u.price, attachments: (u.attachments as { name: string }[]).map(({ name }) => ({ name })) }, { price: o.price }],
  },
  {
    item: 12,
    name: '_rawp inclusive with _id: 0 where acl_read_columns does not list _id keeps the _id (the CRUD drops the name)',
    path: list(`${ULYSSES}&${rawp({ price: 1, _id: 0 })}`),
    headers: { acl_read_columns: 'price,name' },
    status: 200,
    answer: [{ _id: U, price: u.price }],
  },
  {
    item: 12,
    name: 'GET /users/:id with _rawp inclusive and _id: 0',
    path: `/users/${U}?${rawp({ _id: 0, price: 1, isbn: 1 })}`,
    status: 200,
    answer: { price: u.price, isbn: u.isbn },
  },
  {
    item: 12,
    name: 'GET /users/:id with _rawp exclusive and _id: 1',
    path: `/users/${U}?${rawp({ _id: 1, price: 0, attachments: 0 })}`,
    status: 200,
    holds: { _id: U, name: u.name, isbn: u.isbn },
  },
  {
    item: 12,
    name: '_rawp exclusive with _id: 1 keeps the _id',
    path: list(`${ULYSSES}&${rawp({ _id: 1, price: 0, attachments: 0 })}`),
    status: 200,
    holds: { _id: U, name: u.name, isbn: u.isbn },
  },
];

/**
 * `$text` inside a `$or` (queryParser.test "parseAndCastTextSearchQuery"): answered when every clause
 * of the `$or` names indexed fields only, else the CRUD's 400. The fields both stores index: the
 * users' unique ones (the embedded store's indexed columns, the CRUD collection's unique indexes).
 */
const MUST_BE_INDEXED = 'To use a $text query in an $or expression, all clauses in the $or array must be indexed';
const ulysses = { $text: { $search: 'Ulysses' } };
export const TEXT_IN_OR: Case[] = [
  {
    item: 12,
    name: '$text in a $and clause of a $or beside an indexed clause is answered',
    path: list(q({ $or: [{ username: 'nobody' }, { $and: [ulysses] }] })),
    status: 200,
    ids: [U],
  },
  {
    item: 12,
    name: '$text as a clause of a $or beside an indexed clause with an operator is answered',
    path: list(q({ $or: [{ email: { $in: ['nobody@example.com'] } }, ulysses] })),
    status: 200,
    ids: [U],
  },
  {
    item: 12,
    name: '$text and a non-indexed condition in one clause of a $or (the CRUD checks the clauses only)',
    path: list(q({ $or: [{ username: 'nobody' }, { $and: [ulysses, { price: { $gt: 0 } }] }] })),
    status: 200,
    ids: [U],
  },
  {
    item: 12,
    name: '$text in a $or beside a $regex on an indexed field is answered',
    path: list(q({ $or: [{ username: { $regex: '^nobody' } }, ulysses], price: { $gt: 0 } })),
    status: 200,
    ids: [U],
  },
  {
    item: 12,
    name: '$text in a $or beside a clause naming a field without an index is refused (queryParser.test)',
    path: list(q({ $or: [{ author: 'James Joyce' }, ulysses] })),
    status: 400,
    answer: { statusCode: 400, error: 'Bad Request', message: MUST_BE_INDEXED },
  },
  {
    item: 12,
    name: '$text in a nested $or beside a clause without an index is refused',
    path: list(q({ $or: [{ username: 'nobody' }, { $or: [{ author: 'James Joyce' }, { $and: [ulysses] }] }] })),
    status: 400,
    answer: { statusCode: 400, error: 'Bad Request', message: MUST_BE_INDEXED },
  },
  {
    item: 12,
    name: '$text in a $or is counted as listed',
    path: `/users/count?userGroup=books&${q({ $or: [{ username: 'nobody' }, ulysses] })}`,
    status: 200,
    answer: 1,
  },
];

/**
 * `_rawp` with aggregation expressions (getList "[only in mongo 4.4+] use of raw projection …",
 * tests/utils.js RAW_PROJECTION and RAW_PROJECTION_FIRST_OP): the embedded store and
 * `GET /users/:id` evaluate them as MongoDB does; the CRUD's dictionary still refuses the rest.
 */
const NOTES = { attachments: { $filter: { input: '$attachments', as: 'item', cond: { $in: ['$$item.name', ['note']] } } } };
const attachments = u.attachments as { name: string }[];
export const RAW_EXPRESSIONS: Case[] = [
  {
    item: 12,
    name: '_rawp with $filter (getList "[only in mongo 4.4+] use of raw projection in url with _q")',
    path: list(`${ULYSSES}&${rawp(NOTES)}`),
    status: 200,
    answer: [{ _id: U, attachments: attachments.filter(({ name }) => name === 'note') }],
  },
  {
    item: 12,
    name: '_rawp with $filter over users without the array answers null (getList "… in url")',
    path: list(`_l=2&${rawp(NOTES)}`),
    status: 200,
    answer: [
      { _id: U, attachments: attachments.filter(({ name }) => name === 'note') },
      { _id: O, attachments: null },
    ],
  },
  {
    item: 12,
    name: '_rawp with $first (getList "[only in mongo 4.4+] use of raw projection with $first operator")',
    path: list(`${ULYSSES}&${rawp({ attachments: { $first: '$attachments' } })}`),
    status: 200,
    answer: [{ _id: U, attachments: attachments[0] }],
  },
  {
    item: 12,
    name: '_rawp with $dateToString on a date field (getList "… with $dateToString operator")',
    path: list(
      `${ULYSSES}&${rawp({ publishDate: { $dateToString: { date: '$publishDate', format: '%Y-%m-%d %H', timezone: '+10:00' } } })}`,
    ),
    status: 200,
    answer: [{ _id: U, publishDate: '2018-02-04 10' }],
  },
  {
    item: 12,
    name: '_rawp with field references, $size, $cond and _id: 0',
    path: list(
      `${ULYSSES}&${rawp({ _id: 0, cost: '$price', count: { $size: '$tags' }, cheap: { $cond: [{ $lt: ['$price', 10] }, 'yes', 'no'] }, isbn: 1 })}`,
    ),
    status: 200,
    answer: [{ cost: u.price, count: (u.tags as string[]).length, cheap: 'no', isbn: u.isbn }],
  },
  {
    item: 12,
    name: '_rawp with $map and $concatArrays',
    path: list(`${ULYSSES}&${rawp({ names: { $concatArrays: [{ $map: { input: '$attachments', as: 'a', in: '$$a.name' } }, ['x']] } })}`),
    status: 200,
    answer: [{ _id: U, names: [...attachments.map(({ name }) => name), 'x'] }],
  },
  {
    item: 12,
    name: 'GET /users/:id with _rawp $first (getById)',
    path: `/users/${U}?${rawp({ attachments: { $first: '$attachments' }, price: 1 })}`,
    status: 200,
    answer: { _id: U, attachments: attachments[0], price: u.price },
  },
  {
    item: 12,
    name: '_rawp with expressions under acl_read_columns keeps only the names it lists',
    path: list(`${ULYSSES}&${rawp({ attachments: { $first: '$attachments' }, price: 1 })}`),
    headers: { acl_read_columns: 'attachments,name' },
    status: 200,
    answer: [{ _id: U, attachments: attachments[0] }],
  },
  {
    item: 12,
    name: '_rawp with $elemMatch, the projection operator',
    path: list(`${ULYSSES}&${rawp({ attachments: { $elemMatch: { name: 'another-note' } }, isbn: 1 })}`),
    status: 200,
    answer: [{ _id: U, attachments: attachments.filter(({ name }) => name === 'another-note'), isbn: u.isbn }],
  },
  {
    item: 12,
    name: '_rawp with a sub-projection (MongoDB reads {"a": {"b": 1}} as a.b)',
    path: list(`${ULYSSES}&${rawp({ _id: 0, metadata: { somethingNumber: 1, somethingString: true } })}`),
    status: 200,
    answer: [{ metadata: { somethingNumber: 2, somethingString: 'the-saved-string' } }],
  },
  ...[
    [{ first: { $slice: ['$attachments', 1] } }, '$slice'],
    [{ attachments: { $first: '$$ROOT' } }, '$$ROOT'],
    [{ doubled: { $add: ['$price', '$price'] } }, '$add'],
  ].map(([projection, operator]): Case => ({
    item: 12,
    name: `_rawp with ${operator as string} is refused in the CRUD's words (its dictionary)`,
    path: list(rawp(projection)),
    status: 400,
    answer: { statusCode: 400, error: 'Bad Request', message: `Operator ${operator as string} is not allowed in raw projection` },
  })),
];

/**
 * What MongoDB refuses in a projection (the CRUD's 500, as it passes `_rawp` on): a 400 in its
 * words in both modes, judged on what the CRUD keeps of `_rawp` (acl_read_columns' names).
 */
const bad = (message: string) => ({ statusCode: 400, error: 'Bad Request', message });
export const RAW_MONGO_REFUSALS: Case[] = [
  {
    item: 12,
    name: "_rawp mixing an exclusion and an inclusion other than _id is MongoDB's refusal, a 400",
    path: list(rawp({ name: 0, price: 1 })),
    status: 400,
    answer: bad('querystring/_rawp: Cannot do exclusion on field name in inclusion projection'),
  },
  {
    item: 12,
    name: "_rawp mixing an exclusion and an expression is MongoDB's refusal, a 400",
    path: list(rawp({ name: 0, first: { $first: '$attachments' } })),
    status: 400,
    answer: bad('querystring/_rawp: Cannot do exclusion on field name in inclusion projection'),
  },
  {
    item: 12,
    name: '_rawp mixing names of which acl_read_columns keeps one kind only is answered (the CRUD drops the others)',
    path: list(`${ULYSSES}&${rawp({ name: 0, price: 1 })}`),
    headers: { acl_read_columns: 'price' },
    status: 200,
    answer: [{ _id: U, price: u.price }],
  },
  ...['{"x":"$$this"}', '{"x":{"$first":["$$item.name"]}}', '{"x":{"$map":{"input":"$tags","as":"t","in":"$$u"}}}'].map((text): Case => ({
    item: 12,
    name: `_rawp ${text} names a variable nothing binds: MongoDB's refusal, a 400`,
    path: list(`_rawp=${encodeURIComponent(text)}`),
    status: 400,
    answer: bad(`querystring/_rawp Use of undefined variable: ${/\$\$(\w+)/.exec(text)![1]}`),
  })),
];

export const ROUND_FIVE: Case[] = [...RAW_ID, ...TEXT_IN_OR, ...RAW_EXPRESSIONS, ...RAW_MONGO_REFUSALS];
