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

export const ROUND_FIVE: Case[] = [...RAW_ID, ...TEXT_IN_OR];
