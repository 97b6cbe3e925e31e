import { type Case, count, list, q, U } from './cases-common.js';

/**
 * Issue #19 item 7: fields the collection does not define (crud-service 7.2.5: httpInterface.getList,
 * countList, getById, patchById, deleteById "with not fields not included in JSON Schema", and the
 * `_s` "(missing property)" cases). The books groups refuse other properties, so the embedded
 * store knows every field a user can hold, as the CRUD does.
 */
const unknown = { message: 'Unknown field: not_a_field' };

export const UNKNOWN_FIELDS: Case[] = [
  { item: 7, name: '_q naming an unknown field', path: list(q({ not_a_field: { $gt: 20 } })), status: 400, holds: unknown },
  { item: 7, name: 'count _q naming an unknown field', path: count(q({ not_a_field: { $gt: 20 } })), status: 400, holds: unknown },
  {
    item: 7,
    name: '_q naming an unknown field inside $or',
    path: list(q({ $or: [{ price: 1 }, { not_a_field: 1 }] })),
    status: 400,
    holds: unknown,
  },
  {
    item: 7,
    name: '_q with a nested path under a known field',
    path: list(q({ 'metadata.somethingNumber': { $exists: true }, 'attachments.0.name': { $exists: true } })),
    status: 200,
    ids: [U],
  },
  {
    item: 7,
    name: '_q on a standard field',
    path: count(q({ createdAt: { $exists: true }, username: { $exists: false } })),
    status: 200,
    answer: 5,
  },
  {
    item: 7,
    name: '_s naming an unknown field',
    path: '/users/?userGroup=books&_s=nonexistent',
    status: 400,
    holds: { message: 'Unknown field: nonexistent' },
  },
  { item: 7, name: '_s with a known and an unknown field', path: '/users/?userGroup=books&_s=price,-nonexistent', status: 400 },
  { item: 7, name: '_s with a nested known field', path: '/users/?userGroup=books&_s=attachments.name,_id&_p=_id', status: 200 },
  {
    item: 7,
    name: 'field filter naming an unknown field',
    path: list('not_a_field=1'),
    status: 400,
    holds: { message: 'querystring must NOT have additional properties. Property "not_a_field" is not defined in validation schema' },
  },
  {
    item: 7,
    name: 'an unknown underscore parameter (the CRUD names it)',
    path: count('_l=1'),
    status: 400,
    answer: {
      statusCode: 400,
      error: 'Bad Request',
      message: 'querystring must NOT have additional properties. Property "_l" is not defined in validation schema',
    },
  },
  { item: 7, name: 'GET by id with an unknown field in _q', path: `/users/${U}?${q({ not_a_field: 1 })}`, status: 400, holds: unknown },
  {
    item: 7,
    name: 'PATCH by id with an unknown field in _q',
    method: 'PATCH',
    path: `/users/:scratch?${q({ not_a_field: 1 })}`,
    body: { $set: { price: 1 } },
    status: 400,
    holds: unknown,
    stored: { price: 33.33 },
  },
  {
    item: 7,
    name: 'DELETE by id with an unknown field in _q',
    method: 'DELETE',
    path: `/users/:scratch?${q({ not_a_field: 1 })}`,
    status: 400,
    holds: unknown,
    stored: { price: 33.33 },
  },
];
