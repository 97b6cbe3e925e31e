import { type Case, count, list, q, U } from './cases-common.js';

/** The CRUD's `json-query-params-encoding: base64` header: `_q` (and `_rawp`) come base64-encoded. */
const INVALID_ID = { message: 'Invalid objectId' };
/** The querystring schema's pattern for a date field (crud-service 7.2.5 JSONSchemaGenerator). */
const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?(Z|[+-]\\d{2}:\\d{2}))?$';
const BASE64 = { 'json-query-params-encoding': 'base64' };
const b64 = (filter: unknown) => encodeURIComponent(Buffer.from(JSON.stringify(filter)).toString('base64'));

/**
 * Item 9: further cases of the CRUD Service's HTTP tests (crud-service 7.2.5, httpInterface.getList,
 * getById, changeStateBulk) where the answers had drifted from the CRUD's.
 */
const FIXTURE_IDS = [U, '222222222222222222222222', '333333333333333333333333', '444444444444444444444444', '888888888888888888888888'];

export const FIDELITY: Case[] = [
  {
    item: 9,
    name: '_p naming no field returns only the _id (getList "wrong project with _p")',
    path: list('_p=a wrong projection'),
    status: 200,
    answer: FIXTURE_IDS.map((_id) => ({ _id })),
  },
  {
    item: 9,
    name: '_p naming no field, with a _q',
    path: list(`${q({ price: { $gt: 30 } })}&_p=a wrong projection,price`),
    status: 200,
    answer: [{ _id: U, price: 33.33 }],
  },
  { item: 9, name: '_p naming no field on GET /:id', path: `/users/${U}?_p=not a field`, status: 200, answer: { _id: U } },
  {
    item: 9,
    name: 'POST /users/state with a filter naming an unknown field (QueryParser "Unknown field")',
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { isbn: '$isbn', not_a_field: 1 }, stateTo: 'DRAFT' }],
    status: 400,
    answer: { statusCode: 400, error: 'Bad Request', message: 'Unknown field: not_a_field' },
    stored: { __STATE__: 'PUBLIC' },
  },
  {
    item: 9,
    name: 'POST /users/state with an unknown field inside $or',
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { isbn: '$isbn', $or: [{ price: 1 }, { not_a_field: 1 }] }, stateTo: 'DRAFT' }],
    status: 400,
    holds: { message: 'Unknown field: not_a_field' },
  },
  {
    item: 9,
    name: 'POST /users/state moves nothing when a later filter is refused (the CRUD parses every filter first)',
    method: 'POST',
    path: '/users/state',
    body: [
      { filter: { isbn: '$isbn' }, stateTo: 'DRAFT' },
      { filter: { isbn: '$isbn', not_a_field: 1 }, stateTo: 'TRASH' },
    ],
    status: 400,
    holds: { message: 'Unknown field: not_a_field' },
    stored: { __STATE__: 'PUBLIC' },
  },
  {
    item: 9,
    name: 'GET /:id with a base64 _q (json-query-params-encoding, getById "with filter encoded")',
    path: `/users/${U}?_q=${b64({ price: { $gt: 30 } })}`,
    headers: BASE64,
    status: 200,
    holds: { _id: U, name: 'Ulysses' },
  },
  {
    item: 9,
    name: 'GET /:id with a non-matching base64 _q',
    path: `/users/${U}?_q=${b64({ price: { $gt: 40 } })}`,
    headers: BASE64,
    status: 404,
  },
  {
    item: 9,
    name: 'a list with a base64 _q',
    path: list(`_q=${b64({ price: { $gt: 20 } })}&_p=_id`),
    headers: BASE64,
    status: 200,
    ids: [U, '222222222222222222222222', '333333333333333333333333'],
  },
  { item: 9, name: 'a count with a base64 _q', path: count(`_q=${b64({ price: { $gt: 20 } })}`), headers: BASE64, status: 200, answer: 3 },
  {
    item: 9,
    name: 'PATCH /:id with a non-matching base64 _q',
    method: 'PATCH',
    path: `/users/:scratch?_q=${b64({ price: { $gt: 40 } })}`,
    headers: BASE64,
    body: { $set: { price: 1 } },
    status: 404,
    stored: { price: 33.33 },
  },
  { item: 9, name: 'an empty _q is no filter (the CRUD skips a falsy _q)', path: list('_q=&_p=_id'), status: 200, ids: FIXTURE_IDS },
  { item: 9, name: 'count with an empty _q', path: count('_q='), status: 200, answer: 5 },
  { item: 9, name: 'GET /:id with an empty _q', path: `/users/${U}?_q=&_p=name`, status: 200, answer: { _id: U, name: 'Ulysses' } },
  {
    item: 9,
    name: '_p with the positional $ keeps the matching array element (getList "use of $ operator")',
    path: list(`${q({ 'attachments.name': 'another-note' })}&_p=attachments.$`),
    status: 200,
    answer: [{ _id: U, attachments: [{ name: 'another-note', other: 'stuff' }] }],
  },
  {
    item: 9,
    name: '_p with the positional $ and another field',
    path: list(`${q({ tags: 'tag2', price: { $gt: 30 } })}&_p=tags.$,name`),
    status: 200,
    answer: [{ _id: U, name: 'Ulysses', tags: ['tag2'] }],
  },
  {
    item: 9,
    name: '_p with the positional $ on GET /:id',
    path: `/users/${U}?${q({ 'attachments.name': 'another-note' })}&_p=attachments.$`,
    status: 200,
    answer: { _id: U, attachments: [{ name: 'another-note', other: 'stuff' }] },
  },
  { item: 9, name: '_p with $ elsewhere than at the end is refused', path: list('_p=attachments.$.name'), status: 400 },
  {
    item: 9,
    name: '_p with the positional $ and no condition on the array is refused (MongoDB fails the query)',
    path: `/users/${U}?_p=attachments.$`,
    status: 400,
  },
  {
    item: 9,
    name: 'POST /users/state with a whole nested object, values coerced (changeStateBulk "object notation")',
    method: 'POST',
    path: '/users/state',
    body: [
      {
        filter: {
          isbn: '$isbn',
          metadata: {
            somethingNumber: '2',
            somethingString: 'the-saved-string',
            somethingArrayObject: [{ arrayItemObjectChildNumber: '4' }],
            somethingArrayOfNumbers: ['5'],
          },
        },
        stateTo: 'DRAFT',
      },
    ],
    status: 200,
    answer: 1,
    stored: { __STATE__: 'DRAFT' },
  },
  {
    item: 9,
    name: 'POST /users/state with a whole array of objects',
    method: 'POST',
    path: '/users/state',
    body: [
      {
        filter: {
          isbn: '$isbn',
          attachments: [
            { name: 'note', nestedArr: [1, 2, 3], detail: { size: 9 } },
            { name: 'another-note', other: 'stuff' },
          ],
        },
        stateTo: 'DRAFT',
      },
    ],
    status: 200,
    answer: 1,
  },
  {
    item: 9,
    name: '_q _id that is no ObjectId (QueryParser "Invalid objectId")',
    path: list(q({ _id: 'notanid' })),
    status: 400,
    holds: INVALID_ID,
  },
  {
    item: 9,
    name: '_q _id $in with one id that is no ObjectId',
    path: count(q({ _id: { $in: [U, 'zzz'] } })),
    status: 400,
    holds: INVALID_ID,
  },
  { item: 9, name: '_q _id $exists is not cast', path: count(q({ _id: { $exists: true } })), status: 200, answer: 5 },
  {
    item: 9,
    name: 'acl_rows _id that is no ObjectId',
    path: count(''),
    headers: { acl_rows: JSON.stringify([{ _id: 'x' }]) },
    status: 400,
    holds: INVALID_ID,
  },
  {
    item: 9,
    name: 'field filter _id that is no ObjectId (the querystring pattern)',
    path: list('_id=notanid'),
    status: 400,
    holds: { message: 'querystring/_id must match pattern "^[a-fA-F\\d]{24}$"' },
  },
  { item: 9, name: 'GET /:id with a _q _id that is no ObjectId', path: `/users/${U}?${q({ _id: 7 })}`, status: 400, holds: INVALID_ID },
  {
    item: 9,
    name: 'POST /users/state with a filter _id that is no ObjectId',
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { _id: 'notanid' }, stateTo: 'DRAFT' }],
    status: 400,
    holds: INVALID_ID,
  },
  ...['1517702400000', '2018', '2018-02', '2018-02-04T00:00:00', '2018-02-04T00:00:00.0000Z'].map((value): Case => ({
    item: 9,
    name: `a date field filter must match the querystring pattern: ${value}`,
    path: list(`publishDate=${encodeURIComponent(value)}`),
    status: 400,
    holds: { message: `querystring/publishDate must match pattern "${DATE_PATTERN}"` },
  })),
  {
    item: 9,
    name: 'a date field filter with an offset',
    path: list(`publishDate=${encodeURIComponent('2018-02-04T01:00:00+01:00')}&_p=_id`),
    status: 200,
    ids: [U, '222222222222222222222222', '444444444444444444444444'],
  },
  { item: 9, name: 'a standard date field filter must match the pattern', path: count('createdAt=2018'), status: 400 },
  {
    item: 9,
    name: '_s repeated (getList "MULTIPLE QUERYSTRING")',
    path: '/users/?userGroup=books&_s=price&_s=-name&_p=_id',
    status: 200,
    ids: ['888888888888888888888888', '444444444444444444444444', '222222222222222222222222', '333333333333333333333333', U],
  },
];
