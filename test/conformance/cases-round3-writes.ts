import { type Case, U } from './cases-common.js';

/**
 * Item 10, the writes of the third round (crud-service 7.2.5 httpInterface.patchById and changeStateBulk):
 * update operators at array indexes, `$unset`/`$currentDate` operands, the types of a state filter.
 */
export const UPDATES_AT_INDEXES: Case[] = [
  {
    item: 10,
    name: '$inc at an index of an array of numbers (patchById "patch sub property of raw object with raw schema - $inc")',
    method: 'PATCH',
    path: '/users/:scratch',
    body: { $inc: { 'metadata.somethingNumber': 4, 'metadata.somethingArrayOfNumbers.0': 2 } },
    status: 200,
    holds: { metadata: { somethingNumber: 6, somethingArrayOfNumbers: [7] } },
    stored: { metadata: { somethingNumber: 6, somethingArrayOfNumbers: [7] } },
  },
  {
    item: 10,
    name: '$mul at an index of an array of numbers (patchById "... with raw schema - $mul")',
    method: 'PATCH',
    path: '/users/:scratch',
    body: { $mul: { 'metadata.somethingNumber': 2, 'metadata.somethingArrayOfNumbers.0': 3 } },
    status: 200,
    stored: { metadata: { somethingNumber: 4, somethingArrayOfNumbers: [15] } },
  },
  {
    item: 10,
    name: '$set at an index of an array of numbers coerces to the item type',
    method: 'PATCH',
    path: '/users/:scratch',
    body: { $set: { 'tagIds.1': '7' } },
    status: 200,
    stored: { tagIds: [1, 7] },
  },
  {
    item: 10,
    name: '$inc at an index of an array of strings is refused',
    method: 'PATCH',
    path: '/users/:scratch',
    body: { $inc: { 'tags.0': 1 } },
    status: 400,
    stored: { tags: ['tag1', 'tag2'] },
  },
];

/**
 * `$unset` and `$currentDate` on a declared field take `true` (the CRUD's PATCH schema gives each
 * `{type: "boolean", enum: [true]}`, ajv coercing `"true"` and 1); MongoDB would unset on any value.
 */
export const TRUE_ONLY: Case[] = [
  ...(
    [
      [{ $unset: { tags: false } }, 'body/$unset/tags must be equal to one of the allowed values'],
      [{ $unset: { tags: 0 } }, 'body/$unset/tags must be equal to one of the allowed values'],
      [{ $unset: { tags: 'yes' } }, 'body/$unset/tags must be boolean'],
      [
        { $unset: { 'metadata.somethingNumber': false } },
        'body/$unset/metadata.somethingNumber must be equal to one of the allowed values',
      ],
      [{ $currentDate: { publishDate: { $type: 'date' } } }, 'body/$currentDate/publishDate must be boolean'],
      [{ $currentDate: { publishDate: false } }, 'body/$currentDate/publishDate must be equal to one of the allowed values'],
    ] as const
  ).map(([body, message]): Case => ({
    item: 10,
    name: `PATCH ${JSON.stringify(body)} is refused`,
    method: 'PATCH',
    path: '/users/:scratch',
    body,
    status: 400,
    holds: { message },
    stored: { tags: ['tag1', 'tag2'], metadata: { somethingNumber: 2 }, publishDate: '2018-02-04T00:00:00.000Z' },
  })),
  ...(
    [
      [{ $unset: { tags: 'true' } }, 'tags'],
      [{ $unset: { tags: 1 } }, 'tags'],
      [{ $unset: { 'additionalInfo.foo': false } }, 'additionalInfo.foo'],
    ] as const
  ).map(([body, gone]): Case => ({
    item: 10,
    name: `PATCH ${JSON.stringify(body)} is taken`,
    method: 'PATCH',
    path: '/users/:scratch',
    body,
    status: 200,
    stored: { price: 33.33 },
    gone: [gone],
  })),
];

/**
 * A `POST /users/state` filter is checked by the CRUD's body schema, which types each declared
 * scalar field (and `_id`): an operator object there is `body/0/filter/<field> must be <type>`.
 */
export const STATE_FILTER_TYPES: Case[] = (
  [
    [{ price: { $gt: 1 } }, 'body/0/filter/price must be number'],
    [{ isPromoted: { $ne: true } }, 'body/0/filter/isPromoted must be boolean'],
    [{ publishDate: { $lt: '2020-01-01' } }, 'body/0/filter/publishDate must be string'],
    [{ _id: { $in: [U] } }, 'body/0/filter/_id must be string'],
  ] as const
).map(([filter, message]): Case => ({
  item: 10,
  name: `POST /users/state with ${JSON.stringify(filter)} is refused`,
  method: 'POST',
  path: '/users/state',
  body: [{ filter: { isbn: '$isbn', ...filter }, stateTo: 'DRAFT' }],
  status: 400,
  answer: { statusCode: 400, error: 'Bad Request', message },
  stored: { __STATE__: 'PUBLIC' },
}));

/** ajv's coercion (coerceTypes: true) of body values: a number 1/0 is a boolean, a boolean 1/0 a number. */
export const BOOLEAN_NUMBER: Case[] = [
  ...(
    [
      [{ $set: { isPromoted: 0 } }, { isPromoted: false }],
      [{ $set: { isPromoted: 1 } }, { isPromoted: true }],
      [{ $set: { price: true } }, { price: 1 }],
      [{ $set: { 'metadata.somethingNumber': false } }, { metadata: { somethingNumber: 0 } }],
      [{ $push: { tagIds: true } }, { tagIds: [1, 5, 1] }],
      [{ $inc: { price: true } }, { price: 34.33 }],
    ] as const
  ).map(([body, stored]): Case => ({
    item: 10,
    name: `PATCH ${JSON.stringify(body)} is coerced as ajv coerces`,
    method: 'PATCH',
    path: '/users/:scratch',
    body,
    status: 200,
    stored,
  })),
  { ...refusedBoolean({ $set: { isPromoted: 2 } }), name: 'PATCH a number other than 1 or 0 is no boolean' },
  {
    item: 10,
    name: 'POST /users/state with a filter value 1 on a boolean field',
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { isbn: '$isbn', isPromoted: 1 }, stateTo: 'DRAFT' }],
    status: 200,
    answer: 1,
    stored: { __STATE__: 'DRAFT' },
  },
];

function refusedBoolean(body: unknown): Case {
  return {
    item: 10,
    name: '',
    method: 'PATCH',
    path: '/users/:scratch',
    body,
    status: 400,
    holds: { message: 'body/$set/isPromoted must be boolean' },
    stored: { isPromoted: true },
  };
}

/** patchById.special "$unset": nested properties, through objects and array elements. */
export const NESTED_UNSET: Case[] = [
  {
    item: 10,
    name: '$unset of nested properties (patchById.special "can unset a nested property")',
    method: 'PATCH',
    path: '/users/:scratch',
    body: {
      $unset: {
        'metadata.somethingString': true,
        'metadata.somethingObject.childNumber': true,
        'metadata.somethingArrayObject.0.anotherNumber': true,
      },
    },
    status: 200,
    stored: { metadata: { somethingNumber: 2, somethingArrayObject: [{ arrayItemObjectChildNumber: 4 }], somethingArrayOfNumbers: [5] } },
    gone: ['metadata.somethingString'],
  },
  {
    item: 10,
    name: '$unset of a nested required property is refused before anything is stored (the CRUD stores it, then answers 500)',
    method: 'PATCH',
    path: '/users/:scratch',
    body: { $unset: { 'metadata.somethingNumber': true } },
    status: 400,
    stored: { metadata: { somethingNumber: 2 } },
  },
];

/**
 * A state filter's whole object is checked by the object's schema (changeStateBulk "filter on
 * RawObject"): its required properties, and no other property when it allows none.
 */
export const STATE_FILTER_OBJECTS: Case[] = [
  [{ somethingString: 'foo' }, "body/0/filter/metadata must have required property 'somethingNumber'"],
  [
    { somethingNumber: '3', unknownField: 2 },
    'body/0/filter/metadata must NOT have additional properties. Property "unknownField" is not defined in validation schema',
  ],
  [
    { somethingNumber: 2, somethingArrayObject: [{}] },
    "body/0/filter/metadata/somethingArrayObject/0 must have required property 'arrayItemObjectChildNumber'",
  ],
].map(([metadata, message]): Case => ({
  item: 10,
  name: `POST /users/state with the object ${JSON.stringify(metadata)} is refused`,
  method: 'POST',
  path: '/users/state',
  body: [{ filter: { isbn: '$isbn', metadata }, stateTo: 'DRAFT' }],
  status: 400,
  answer: { statusCode: 400, error: 'Bad Request', message },
  stored: { __STATE__: 'PUBLIC' },
}));

/**
 * `acl_write_columns` (httpInterface getEditableFields, QueryParser traverseCommands): a top-level
 * field it does not list cannot be set; arrays, nested paths, `$unset` and `$currentDate` are not judged.
 */
const WRITE_COLUMNS = { acl_write_columns: 'name,author' };
export const WRITE_COLUMNS_CASES: Case[] = [
  ...(
    [
      [{ $set: { price: 1 } }, 'price'],
      [{ $inc: { price: 1 } }, 'price'],
      [{ price: 1 }, 'price'],
      [{ $set: { name: 'x', isPromoted: false } }, 'isPromoted'],
    ] as const
  ).map(([body, field]): Case => ({
    item: 10,
    name: `PATCH ${JSON.stringify(body)} with acl_write_columns not naming ${field} is refused`,
    method: 'PATCH',
    path: '/users/:scratch',
    headers: WRITE_COLUMNS,
    body,
    status: 400,
    answer: { statusCode: 400, error: 'Bad Request', message: `You cannot edit "${field}" field` },
    stored: { name: 'Ulysses', price: 33.33, isPromoted: true },
  })),
  ...[
    { $set: { name: 'Ulysses II', author: 'J. J.' } },
    { $push: { tags: 'x' } },
    { $set: { 'metadata.somethingNumber': 5 } },
    { $unset: { price: true } },
  ].map((body): Case => ({
    item: 10,
    name: `PATCH ${JSON.stringify(body)} with acl_write_columns is taken`,
    method: 'PATCH',
    path: '/users/:scratch',
    headers: WRITE_COLUMNS,
    body,
    status: 200,
  })),
  {
    item: 10,
    name: 'PATCH with an empty acl_write_columns edits any field',
    method: 'PATCH',
    path: '/users/:scratch',
    headers: { acl_write_columns: '' },
    body: { $set: { price: 2 } },
    status: 200,
    stored: { price: 2 },
  },
];
