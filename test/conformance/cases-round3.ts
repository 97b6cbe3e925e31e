import { type Case, count, list, O, q, U } from './cases-common.js';
import {
  BOOLEAN_NUMBER,
  NESTED_UNSET,
  STATE_FILTER_OBJECTS,
  STATE_FILTER_TYPES,
  TRUE_ONLY,
  UPDATES_AT_INDEXES,
  WRITE_COLUMNS_CASES,
} from './cases-round3-writes.js';

/**
 * Item 10: the third round over the CRUD Service's HTTP tests (crud-service 7.2.5: httpInterface.getList,
 * countList, patchById, changeStateBulk), the cases where an answer had drifted from the CRUD's
 * (docs/decisions.md, "CRUD fidelity, round three").
 */

/** `_s` that its querystring pattern refuses (crud-service JSONSchemaGenerator buildSortRegex): a 400 in both modes. */
const SORT_PATTERN: Case[] = [
  ['an empty _s', '_s='],
  ['an empty sort key', '_s=price,,name'],
  ['a trailing comma', '_s=price,'],
  ['a lone -', '_s=-'],
  ['a leading space', '_s=%20price'],
  ['a + (a space in a query string)', '_s=+price'],
  ['an empty last segment', '_s=price.'],
  ['an empty repeated _s', '_s=price&_s='],
].map(([what, query]): Case => ({ item: 10, name: `_s with ${what} is refused`, path: `/users/?userGroup=books&${query}`, status: 400 }));

/**
 * A parameter given twice is an array to the CRUD's querystring schema, whose ajv coerces types but
 * not arrays to scalars: a 400 naming the type the parameter must have (`_s` alone may be repeated).
 */
const REPEATED: Case[] = [
  ['_l', 'integer', '/users/?userGroup=books&_l=2&_l=3'],
  ['_sk', 'integer', '/users/?userGroup=books&_sk=1&_sk=2'],
  ['price', 'number', '/users/count?userGroup=books&price=1&price=2'],
  ['isPromoted', 'boolean', '/users/count?userGroup=books&isPromoted=true&isPromoted=false'],
  ['_st', 'string', '/users/count?userGroup=books&_st=PUBLIC&_st=DRAFT'],
  ['userGroup', 'string', '/users/?userGroup=books&userGroup=scratch'],
  ['_useEstimate', 'boolean', '/users/count?_useEstimate=true&_useEstimate=true'],
].map(([param, type, path]): Case => ({
  item: 10,
  name: `${param} given twice is refused`,
  path: path!,
  status: 400,
  answer: { statusCode: 400, error: 'Bad Request', message: `querystring/${param} must be ${type}` },
}));

/** `_l` and `_sk` as ajv coerces a string to an integer (`data == +data`, then no fraction): not only digits. */
const LIMITS: Case[] = [
  ...[
    ['an exponent', '_l=2e0'],
    ['a leading space', '_l=%202'],
    ['a fraction of zero', '_l=2.0'],
    ['a leading zero', '_l=02'],
  ].map(([what, query]): Case => ({ item: 10, name: `_l with ${what}`, path: list(`_p=_id&${query}`), status: 200, ids: [U, O] })),
  { item: 10, name: '_sk with an exponent', path: list('_p=_id&_l=1&_sk=1e0'), status: 200, ids: [O] },
  ...['Infinity', '1.5', '', 'x1'].map((value): Case => ({
    item: 10,
    name: `_l=${value} is refused`,
    path: list(`_l=${value}`),
    status: 400,
    holds: { message: 'querystring/_l must be integer' },
  })),
];

/**
 * Operators on a field of a type their cast does not list (crud-service QueryParser `supportedTypes`):
 * comparisons and `$regex` on arrays, `$size`/`$elemMatch` off arrays, all but `$exists` on objects.
 */
const OPERATOR_TYPES: Case[] = [
  [{ tags: { $ne: 'tag1' } }, 'Unsupported operator: $ne for Array field'],
  [{ tagIds: { $gt: 2 } }, 'Unsupported operator: $gt for Array field'],
  [{ tags: { $regex: '^tag' } }, 'Unsupported operator: $regex for Array field'],
  [{ 'tagIds.0': { $lte: 2 } }, 'Unsupported operator: $lte for Array field'],
  [{ 'metadata.somethingArrayOfNumbers': { $gte: 1 } }, 'Unsupported operator: $gte for Array field'],
  [{ name: { $size: 1 } }, 'Unsupported operator: $size for string field'],
  [{ price: { $elemMatch: { $gt: 1 } } }, 'Unsupported operator: $elemMatch for number field'],
  [{ publishDate: { $size: 1 } }, 'Unsupported operator: $size for Date field'],
  [{ additionalInfo: { $eq: null } }, 'Unsupported operator: $eq for RawObject field'],
  [{ metadata: { $in: [{}] } }, 'Unsupported operator: $in for RawObject field'],
  [{ name: { note: 'foo' } }, 'Unsupported operator: note'],
  [{ $or: [{ price: 1 }, { tags: { $lt: 'z' } }] }, 'Unsupported operator: $lt for Array field'],
].map(([filter, message]): Case => ({
  item: 10,
  name: `${JSON.stringify(filter)} is refused`,
  path: count(q(filter)),
  status: 400,
  answer: { statusCode: 400, error: 'Bad Request', message },
}));

const OPERATOR_TYPES_TAKEN: Case[] = [
  [{ tags: { $in: ['tag1'] } }, 3],
  [{ tags: { $all: ['tag1', 'tag2'] } }, 2],
  [{ tags: { $eq: 'tag1' } }, 3],
  [{ tags: { $size: 2 } }, 4],
  [{ tags: { $exists: false } }, 1],
  [{ additionalInfo: { $exists: true } }, 2],
  [{ additionalInfo: { note: 'good' } }, 1],
  [{ 'attachments.name': { $regex: 'note' } }, 1],
  [{ 'additionalInfo.notes.mynote': { $ne: 'good' } }, 4],
  [{ attachments: { $elemMatch: { name: 'note' } } }, 1],
].map(([filter, answer]): Case => ({ item: 10, name: `${JSON.stringify(filter)} is taken`, path: count(q(filter)), status: 200, answer }));

const OPERATOR_TYPES_ELSEWHERE: Case[] = [
  // MongoDB fails these queries ("$size needs a number", "$elemMatch needs an Object": the CRUD's 500): a 400 in both modes.
  ...[
    { tags: { $size: '2' } },
    { tags: { $size: -1 } },
    { tags: { $size: 1.5 } },
    { tags: { $elemMatch: 5 } },
    { tags: { $elemMatch: [] } },
  ].map((filter): Case => ({
    item: 10,
    name: `${JSON.stringify(filter)}: an operand MongoDB refuses`,
    path: count(q(filter)),
    status: 400,
  })),
  // The CRUD's cast maps the operand (`array.map is not a function`, its 400); MongoDB would fail the query.
  ...[{ price: { $in: 5 } }, { 'additionalInfo.foo': { $nin: 'x' } }, { tags: { $all: 'tag1' } }].map((filter): Case => ({
    item: 10,
    name: `${JSON.stringify(filter)}: an operand that is no array is refused`,
    path: count(q(filter)),
    status: 400,
  })),
  {
    item: 10,
    name: 'POST /users/state with $ne on an array field is refused, and moves nobody',
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { isbn: '$isbn', tags: { $ne: 'x' } }, stateTo: 'DRAFT' }],
    status: 400,
    holds: { message: 'Unsupported operator: $ne for Array field' },
    stored: { __STATE__: 'PUBLIC' },
  },
  {
    item: 10,
    name: 'acl_rows with $gt on an array field is refused',
    path: list('_p=_id'),
    headers: { acl_rows: JSON.stringify([{ tagIds: { $gt: 1 } }]) },
    status: 400,
    holds: { message: 'Unsupported operator: $gt for Array field' },
  },
  {
    item: 10,
    name: 'GET /:id with $regex on an array field is refused',
    path: `/users/${U}?${q({ tags: { $regex: 'tag' } })}`,
    status: 400,
    holds: { message: 'Unsupported operator: $regex for Array field' },
  },
];

/** `_id` is a parameter of the list and count routes only: the by-id routes' querystring schemas leave it out. */
const ID_PARAM = 'querystring must NOT have additional properties. Property "_id" is not defined in validation schema';
const BY_ID_NO_ID_PARAM: Case[] = [
  { item: 10, name: 'GET /:id with an _id parameter is refused', path: `/users/${U}?_id=${U}`, status: 400, holds: { message: ID_PARAM } },
  {
    item: 10,
    name: 'PATCH /:id with an _id parameter is refused',
    method: 'PATCH',
    path: `/users/:scratch?_id=${U}`,
    body: { $set: { price: 1 } },
    status: 400,
    holds: { message: ID_PARAM },
    stored: { price: 33.33 },
  },
  {
    item: 10,
    name: 'DELETE /:id with an _id parameter is refused',
    method: 'DELETE',
    path: `/users/:scratch?_id=${U}`,
    status: 400,
    holds: { message: ID_PARAM },
    stored: { price: 33.33 },
  },
  { item: 10, name: 'a count takes an _id parameter', path: count(`_id=${U}`), status: 200, answer: 1 },
];

/**
 * `acl_read_columns` without `_p` keeps the collection's fields it names (projectionUtils
 * removeDisallowedFields over allFieldNames, the top-level names): a dotted name matches none.
 */
const READ_COLUMNS_TOP_LEVEL: Case[] = [
  {
    item: 10,
    name: 'acl_read_columns naming only a nested path keeps the _id alone',
    path: `/users/${U}`,
    headers: { acl_read_columns: 'attachments.name' },
    status: 200,
    answer: { _id: U },
  },
  {
    item: 10,
    name: 'acl_read_columns with a nested path and a field',
    path: `/users/${U}`,
    headers: { acl_read_columns: 'name,attachments.name' },
    status: 200,
    answer: { _id: U, name: 'Ulysses' },
  },
  {
    item: 10,
    name: 'acl_read_columns with a nested path on a list',
    path: list(`${q({ price: { $gt: 30 } })}`),
    headers: { acl_read_columns: 'price,attachments.name' },
    status: 200,
    answer: [{ _id: U, price: 33.33 }],
  },
];

/** Item 10, every case of the third round. */
export const ROUND_THREE: Case[] = [
  ...UPDATES_AT_INDEXES,
  ...SORT_PATTERN,
  ...REPEATED,
  ...LIMITS,
  ...OPERATOR_TYPES,
  ...OPERATOR_TYPES_TAKEN,
  ...OPERATOR_TYPES_ELSEWHERE,
  ...BY_ID_NO_ID_PARAM,
  ...READ_COLUMNS_TOP_LEVEL,
  ...TRUE_ONLY,
  ...STATE_FILTER_TYPES,
  ...BOOLEAN_NUMBER,
  ...STATE_FILTER_OBJECTS,
  ...NESTED_UNSET,
  ...WRITE_COLUMNS_CASES,
];
