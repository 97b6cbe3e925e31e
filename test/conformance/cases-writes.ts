import { type Case, list, O, U } from './cases-common.js';

/** Issue #19 items 3 to 5: operators on the wrong type, coercion by the schema, projection. */
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

export const OPERATOR_TYPES: Case[] = [
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

export const COERCION: Case[] = [
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

export const PROJECTION: Case[] = [
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
