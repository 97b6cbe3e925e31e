/**
 * The CRUD Service's answers to its own test queries (crud-service 7.2.5: httpInterface.getList,
 * countList, getById, patchById, patchById.special, changeStateBulk), stated as requests to the
 * service's REST API and the answers the CRUD gives, over the `books` fixtures (conformance/books.ts).
 *
 * `:scratch` in a path or an answer (and `"$isbn"` in a body) is a fresh copy of Ulysses (the first
 * fixture) in the `scratch` group, with an isbn of its own, for the cases that change a user.
 */
export interface Case {
  /** The item of issue #19 the case belongs to. */
  item: 1 | 2 | 3 | 4 | 5;
  name: string;
  method?: 'GET' | 'PATCH' | 'DELETE' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  status: number;
  /** The `_id`s answered, in order (lists). */
  ids?: string[];
  /** The body answered, exactly. */
  answer?: unknown;
  /** Fields the answer holds (toMatchObject). */
  holds?: Record<string, unknown>;
  /** Fields the scratch user holds afterwards, read back with GET (what was stored). */
  stored?: Record<string, unknown>;
}

const U = '111111111111111111111111';
const O = '222222222222222222222222';
const W = '333333333333333333333333';
const M = '444444444444444444444444';
const P = '888888888888888888888888';
const FEB_4 = [U, O, M];
const q = (filter: unknown) => `_q=${encodeURIComponent(JSON.stringify(filter))}`;
/** A list of the fixture users only, in `_id` order. */
const list = (query: string) => `/users/?userGroup=books&_s=_id&${query}`;
const count = (query: string) => `/users/count?userGroup=books&${query}`;
const acl = (rows: unknown) => ({ acl_rows: JSON.stringify(rows) });

const DATES: Case[] = [
  { item: 1, name: '_q date as milliseconds', path: list(q({ publishDate: 1517702400000 })), status: 200, ids: FEB_4 },
  { item: 1, name: '_q date $in milliseconds', path: list(q({ publishDate: { $in: [1517702400000] } })), status: 200, ids: FEB_4 },
  { item: 1, name: '_q date-only text', path: list(q({ publishDate: '2018-02-04' })), status: 200, ids: FEB_4 },
  {
    item: 1,
    name: '_q $gte with an offset',
    path: list(q({ publishDate: { $gte: '2018-02-04T01:00:00+01:00' } })),
    status: 200,
    ids: FEB_4,
  },
  { item: 1, name: 'field filter date-only', path: list('publishDate=2018-02-04'), status: 200, ids: FEB_4 },
  {
    item: 1,
    name: 'count $lt with an offset',
    path: count(q({ publishDate: { $lt: '2018-01-01T00:30:00+01:00' } })),
    status: 200,
    answer: 2,
  },
  {
    item: 1,
    name: 'nested date in an array of objects (ISO text)',
    path: list(q({ 'editionsDates.date': { $lt: '2020-01-01T00:00:00.000Z' } })),
    status: 200,
    ids: [U],
  },
  {
    item: 1,
    name: 'acl_rows date as milliseconds',
    path: list('_p=_id'),
    headers: acl([{ publishDate: { $gte: 1517702400000 } }]),
    status: 200,
    ids: FEB_4,
  },
  {
    item: 1,
    name: 'sort by publishDate, then _id',
    path: `/users/?userGroup=books&_s=-publishDate,_id&_p=_id`,
    status: 200,
    ids: [U, O, M, W, P],
  },
  { item: 1, name: 'unparseable date in _q', path: list(q({ publishDate: 'not a date' })), status: 400 },
  { item: 1, name: 'unparseable date in $in', path: count(q({ publishDate: { $in: ['2018-02-31x'] } })), status: 400 },
  { item: 1, name: 'unparseable date in a field filter', path: list('publishDate=yesterday'), status: 400 },
  {
    item: 1,
    name: '$set of a date with an offset is stored as its instant',
    method: 'PATCH',
    path: '/users/:scratch',
    body: { $set: { publishDate: '2020-01-01T01:00:00+01:00' } },
    status: 200,
    stored: { publishDate: '2020-01-01T00:00:00.000Z' },
  },
  {
    item: 1,
    name: 'state filter on a date with an offset',
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { isbn: '$isbn', publishDate: '2018-02-04T01:00:00+01:00' }, stateTo: 'DRAFT' }],
    status: 200,
    answer: 1,
  },
];

const BY_ID: Case[] = [
  { item: 2, name: 'GET with matching _q', path: `/users/${U}?${q({ price: { $gt: 30 } })}`, status: 200, holds: { _id: U } },
  { item: 2, name: 'GET with non-matching _q', path: `/users/${U}?${q({ price: { $gt: 40 } })}`, status: 404 },
  { item: 2, name: 'GET with matching field filter', path: `/users/${U}?price=33.33`, status: 200, holds: { _id: U } },
  { item: 2, name: 'GET with non-matching field filter', path: `/users/${U}?price=1`, status: 404 },
  { item: 2, name: 'GET with matching acl_rows', path: `/users/${U}`, headers: acl([{ price: { $gt: 30 } }]), status: 200 },
  { item: 2, name: 'GET with non-matching acl_rows', path: `/users/${U}`, headers: acl([{ price: { $gt: 40 } }]), status: 404 },
  { item: 2, name: 'GET with acl_rows as one object', path: `/users/${U}`, headers: acl({ isPromoted: false }), status: 404 },
  { item: 2, name: 'GET with _st not holding the user', path: `/users/${U}?_st=DRAFT`, status: 404 },
  { item: 2, name: 'GET with a date _q', path: `/users/${U}?${q({ publishDate: '2018-02-04' })}`, status: 200 },
  {
    item: 2,
    name: 'PATCH with non-matching _q',
    method: 'PATCH',
    path: `/users/:scratch?${q({ price: { $gt: 40 } })}`,
    body: { $set: { price: 1 } },
    status: 404,
    stored: { price: 33.33 },
  },
  {
    item: 2,
    name: 'PATCH with matching _q',
    method: 'PATCH',
    path: `/users/:scratch?${q({ price: { $gt: 30 } })}`,
    body: { $set: { price: 1 } },
    status: 200,
    stored: { price: 1 },
  },
  {
    item: 2,
    name: 'PATCH with non-matching field filter',
    method: 'PATCH',
    path: '/users/:scratch?isPromoted=false',
    body: { $set: { price: 1 } },
    status: 404,
    stored: { price: 33.33 },
  },
  {
    item: 2,
    name: 'PATCH with non-matching acl_rows',
    method: 'PATCH',
    path: '/users/:scratch',
    headers: acl([{ price: { $gt: 40 } }]),
    body: { $set: { price: 1 } },
    status: 404,
    stored: { price: 33.33 },
  },
  {
    item: 2,
    name: 'PATCH with matching _q, field filter and acl_rows',
    method: 'PATCH',
    path: `/users/:scratch?${q({ isPromoted: true })}&price=33.33`,
    headers: acl([{ price: { $gt: 30 } }]),
    body: { $set: { price: 2 } },
    status: 200,
    stored: { price: 2 },
  },
  {
    item: 2,
    name: 'DELETE with non-matching _q',
    method: 'DELETE',
    path: `/users/:scratch?${q({ price: { $gt: 40 } })}`,
    status: 404,
    stored: { price: 33.33 },
  },
  { item: 2, name: 'DELETE with matching _q', method: 'DELETE', path: `/users/:scratch?${q({ price: 33.33 })}`, status: 204 },
  {
    item: 2,
    name: 'POST /users/state with non-matching acl_rows',
    method: 'POST',
    path: '/users/state',
    headers: acl([{ price: { $gt: 40 } }]),
    body: [{ filter: { isbn: '$isbn' }, stateTo: 'DRAFT' }],
    status: 200,
    answer: 0,
  },
  {
    item: 2,
    name: 'POST /users/state with matching acl_rows',
    method: 'POST',
    path: '/users/state',
    headers: acl([{ price: { $gt: 30 } }]),
    body: [{ filter: { isbn: '$isbn' }, stateTo: 'DRAFT' }],
    status: 200,
    answer: 1,
  },
];

/** A PATCH of the scratch copy that must be refused, leaving it as it was. */
const refused = (name: string, body: unknown): Case => ({
  item: 3,
  name,
  method: 'PATCH',
  path: '/users/:scratch',
  body,
  status: 400,
  stored: { name: 'Ulysses', author: 'James Joyce', tags: ['tag1', 'tag2'], price: 33.33, additionalInfo: { foo: 42 } },
});

const OPERATOR_TYPES: Case[] = [
  refused('$push on a string field', { $push: { name: 'x' } }),
  refused('$addToSet on a string field', { $addToSet: { author: 'x' } }),
  refused('$pull on a string field', { $pull: { isbn: 'x' } }),
  refused('$inc on a string field', { $inc: { name: 1 } }),
  refused('$mul on an array field', { $mul: { tags: 2 } }),
  refused('$currentDate on a string field', { $currentDate: { author: true } }),
  refused('$push on an untyped number', { $push: { 'additionalInfo.foo': 1 } }),
  refused('$inc on an untyped object', { $inc: { 'additionalInfo.notes': 1 } }),
  refused('$inc with a non-number', { $inc: { price: 'much' } }),
  {
    item: 3,
    name: '$inc on a number field',
    method: 'PATCH',
    path: '/users/:scratch',
    body: { $inc: { price: 1 } },
    status: 200,
    stored: { price: 34.33 },
  },
];

const NOTE = { name: 'note', nestedArr: [1, 2, 3], detail: { size: 9 } };
const ANOTHER = { name: 'another-note', other: 'stuff' };
const patch = (name: string, body: unknown, stored: Record<string, unknown>): Case => ({
  item: 4,
  name,
  method: 'PATCH',
  path: '/users/:scratch',
  body,
  status: 200,
  stored,
});

const COERCION: Case[] = [
  patch(
    '$push coerces a nested number',
    { $push: { attachments: { name: 'new-note', detail: { size: '9999' } } } },
    { attachments: [NOTE, ANOTHER, { name: 'new-note', detail: { size: 9999 } }] },
  ),
  patch(
    '$addToSet coerces a nested number',
    { $addToSet: { attachments: { name: 'new-note', detail: { size: '9999' } } } },
    { attachments: [NOTE, ANOTHER, { name: 'new-note', detail: { size: 9999 } }] },
  ),
  patch('$push $each coerces each item', { $push: { tagIds: { $each: ['7', 8] } } }, { tagIds: [1, 5, 7, 8] }),
  patch(
    '$set coerces dotted paths',
    { $set: { 'metadata.somethingNumber': '3', 'metadata.somethingArrayOfNumbers.0': '7', 'attachments.0.detail.size': '10' } },
    { metadata: { somethingNumber: 3, somethingArrayOfNumbers: [7] }, attachments: [{ ...NOTE, detail: { size: 10 } }, ANOTHER] },
  ),
  patch(
    '$set coerces a whole object',
    { $set: { 'metadata.somethingObject': { childNumber: '5', extra: '6' } } },
    { metadata: { somethingObject: { childNumber: 5, extra: '6' } } },
  ),
  patch('$set coerces scalars', { $set: { price: '12.5', isPromoted: 'false' } }, { price: 12.5, isPromoted: false }),
  patch('a bare body is $set and coerces', { price: '7' }, { price: 7 }),
  { ...refused('an uncoercible number', { $set: { price: 'abc' } }), item: 4 },
  { ...refused('an uncoercible nested number', { $push: { attachments: { name: 'n', detail: { size: 'big' } } } }), item: 4 },
  {
    item: 4,
    name: 'state filter coerces an array of numbers',
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { isbn: '$isbn', 'metadata.somethingArrayOfNumbers': ['5'] }, stateTo: 'DRAFT' }],
    status: 200,
    answer: 1,
  },
  {
    item: 4,
    name: 'state filter coerces numbers at dotted paths',
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { isbn: '$isbn', 'metadata.somethingNumber': '2', 'metadata.somethingArrayOfNumbers.0': '5' }, stateTo: 'DRAFT' }],
    status: 200,
    answer: 1,
  },
  {
    item: 4,
    name: 'field filters coerce by type',
    path: list('metadata.somethingNumber=2&tagIds=5&isPromoted=true'),
    status: 200,
    ids: [U],
  },
  { item: 4, name: 'an uncoercible field filter', path: list('price=cheap'), status: 400 },
];

const PROJECTION: Case[] = [
  {
    item: 5,
    name: '_p descends into an array of objects',
    path: `/users/?_id=${U}&_p=attachments.name`,
    status: 200,
    answer: [{ _id: U, attachments: [{ name: 'note' }, { name: 'another-note' }] }],
  },
  {
    item: 5,
    name: '_p keeps an empty object for a missing nested field',
    path: list(`_p=metadata.somethingObject&_q=${encodeURIComponent(JSON.stringify({ _id: { $in: [U, O] } }))}`),
    status: 200,
    answer: [{ _id: U, metadata: {} }, { _id: O }],
  },
  {
    item: 5,
    name: 'an empty _p means every field',
    path: `/users/?_id=${U}&_p=`,
    status: 200,
    holds: { _id: U, name: 'Ulysses', price: 33.33, attachments: [NOTE, ANOTHER] },
  },
  {
    item: 5,
    name: 'acl_read_columns restricts a list',
    path: `/users/?_id=${U}`,
    headers: { acl_read_columns: 'price,author' },
    status: 200,
    answer: [{ _id: U, price: 33.33, author: 'James Joyce' }],
  },
  {
    item: 5,
    name: 'acl_read_columns and _p intersect',
    path: `/users/?_id=${U}&_p=price,isbn`,
    headers: { acl_read_columns: 'price,author' },
    status: 200,
    answer: [{ _id: U, price: 33.33 }],
  },
  {
    item: 5,
    name: 'acl_read_columns restricts GET /:id',
    path: `/users/${U}`,
    headers: { acl_read_columns: 'name' },
    status: 200,
    answer: { _id: U, name: 'Ulysses' },
  },
  {
    item: 5,
    name: '_p on GET /:id descends into arrays',
    path: `/users/${U}?_p=attachments.detail`,
    status: 200,
    answer: { _id: U, attachments: [{ detail: { size: 9 } }, {}] },
  },
  {
    item: 5,
    name: 'acl_read_columns restricts the PATCH answer',
    method: 'PATCH',
    path: '/users/:scratch',
    headers: { acl_read_columns: 'price' },
    body: { $set: { price: 3 } },
    status: 200,
    answer: { _id: ':scratch', price: 3 },
    stored: { price: 3, name: 'Ulysses' },
  },
];

export const CASES: Case[] = [...DATES, ...BY_ID, ...OPERATOR_TYPES, ...COERCION, ...PROJECTION];
