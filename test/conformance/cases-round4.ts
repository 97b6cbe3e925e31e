import { bookById } from './books.js';
import { type Case, list, O, q, U } from './cases-common.js';

/**
 * Item 11: the fourth round over the CRUD Service's HTTP tests (crud-service 7.2.5:
 * httpInterface.getList "use of raw projection …", "fails", projectionUtils): `_rawp`, the raw
 * MongoDB projection, as far as both stores offer it (docs/decisions.md, "CRUD fidelity, round four").
 */
const rawp = (projection: unknown) => `_rawp=${encodeURIComponent(JSON.stringify(projection))}`;
const INCLUSIVE = { attachments: 1, price: 1, isbn: 1 };
const ULYSSES = q({ name: 'Ulysses' });
const u = bookById(U);
const o = bookById(O);
const bad = (message: string) => ({ statusCode: 400, error: 'Bad Request', message });

export const RAW_PROJECTION: Case[] = [
  {
    item: 11,
    name: '_rawp inclusive projects the fields it names (getList "use of raw projection in url with _q")',
    path: list(`${ULYSSES}&${rawp(INCLUSIVE)}`),
    status: 200,
    answer: [{ _id: U, isbn: u.isbn, price: u.price, attachments: u.attachments }],
  },
  {
    item: 11,
    name: '_rawp inclusive with true and a nested path',
    path: list(`_l=2&${rawp({ price: true, 'attachments.name': 1 })}`),
    status: 200,
    answer: [
      { _id: U, price: u.price, attachments: (u.attachments as { name: string }[]).map(({ name }) => ({ name })) },
      { _id: O, price: o.price },
    ],
  },
  {
    item: 11,
    name: '_rawp inclusive keeps what acl_read_columns allows (getList "… with _q with acl_columns")',
    path: list(`${ULYSSES}&${rawp(INCLUSIVE)}`),
    headers: { acl_read_columns: 'price,author,name' },
    status: 200,
    answer: [{ _id: U, price: u.price }],
  },
  {
    item: 11,
    name: '_rawp with acl_read_columns naming what a plain object inherits',
    path: list(`${ULYSSES}&${rawp({ price: 1 })}`),
    headers: { acl_read_columns: 'constructor,toString,price' },
    status: 200,
    answer: [{ _id: U, price: u.price }],
  },
  {
    item: 11,
    name: '_rawp exclusive that acl_read_columns does not intersect answers the _id (getList)',
    path: list(`${ULYSSES}&${rawp({ attachments: 0, price: 0, isbn: 0 })}`),
    headers: { acl_read_columns: 'author' },
    status: 200,
    answer: [{ _id: U }],
  },
  {
    item: 11,
    name: '_rawp exclusive overriding acl_read_columns is refused (getList "fails")',
    path: list(rawp({ attachments: 0, price: 0, isbn: 0 })),
    headers: { acl_read_columns: 'price,author,name' },
    status: 400,
    answer: bad('_rawp exclusive projection is overriding at least one acl_read_column value'),
  },
  {
    item: 11,
    name: '_rawp with _p is refused (getList "with 400 for mixed _rawp and _p")',
    path: list(`${rawp(INCLUSIVE)}&_p=author`),
    status: 400,
    answer: bad('Use of both _rawp and _p parameter is not allowed'),
  },
  {
    item: 11,
    name: '_rawp base64-encoded (json-query-params-encoding) by id (getById "use of encoded raw projection in url")',
    path: `/users/${U}?_rawp=${encodeURIComponent(Buffer.from(JSON.stringify({ price: 1 })).toString('base64'))}`,
    headers: { 'json-query-params-encoding': 'base64' },
    status: 200,
    answer: { _id: U, price: u.price },
  },
  {
    item: 11,
    name: '_rawp base64-encoded on a list',
    path: list(`_l=1&_rawp=${encodeURIComponent(Buffer.from(JSON.stringify({ price: 1 })).toString('base64'))}`),
    headers: { 'json-query-params-encoding': 'base64' },
    status: 200,
    answer: [{ _id: U, price: u.price }],
  },
  {
    item: 11,
    name: 'GET /users/:id with _rawp inclusive (getById "use of raw projection in url")',
    path: `/users/${U}?${rawp({ price: 1, isbn: 1 })}`,
    status: 200,
    answer: { _id: U, price: u.price, isbn: u.isbn },
  },
  {
    item: 11,
    name: 'GET /users/:id with _rawp exclusive overriding acl_read_columns is refused (getById "fails with 400")',
    path: `/users/${U}?${rawp({ price: 0 })}`,
    headers: { acl_read_columns: 'price,name' },
    status: 400,
    answer: bad('_rawp exclusive projection is overriding at least one acl_read_column value'),
  },
  {
    item: 11,
    name: 'GET /users/:id with _rawp and _p is refused',
    path: `/users/${U}?${rawp({ price: 1 })}&_p=name`,
    status: 400,
    answer: bad('Use of both _rawp and _p parameter is not allowed'),
  },
  {
    item: 11,
    name: '_rawp is no parameter of the count',
    path: `/users/count?userGroup=books&${rawp({ price: 1 })}`,
    status: 400,
    answer: bad('querystring must NOT have additional properties. Property "_rawp" is not defined in validation schema'),
  },
  ...[
    [{ ent: '$$ROOT' }, '$$ROOT'],
    [{ precious: '$$CURRENT' }, '$$CURRENT'],
    [{ now: '$$NOW' }, '$$NOW'],
    [{ foo: '$bar' }, '$bar'],
  ].map(([projection, operator]): Case => ({
    item: 11,
    name: `_rawp with ${operator as string} is refused (getList "with 400 due to usage of forbidden operators")`,
    path: list(rawp(projection)),
    status: 400,
    answer: bad(`Operator ${operator as string} is not allowed in raw projection`),
  })),
];

/**
 * A `field=value` parameter naming an object field: the CRUD's querystring schema has properties for
 * its scalar and array fields and for the scalar paths inside objects, never the object itself
 * (getList "filter on nested object with object notation cannot be used").
 */
export const OBJECT_PARAMS: Case[] = [
  ['metadata', encodeURIComponent(JSON.stringify({ somethingNumber: 2 }))],
  ['additionalInfo', 'x'],
  ['metadata.somethingObject', 'x'],
  ['attachments.0', 'x'],
].map(([field, value]): Case => ({
  item: 11,
  name: `${field}= (an object field) is no parameter`,
  path: `/users/?userGroup=books&${field}=${value}`,
  status: 400,
  answer: bad(`querystring must NOT have additional properties. Property "${field}" is not defined in validation schema`),
}));

/**
 * An operator off the allow-list in `_q`, in the CRUD's query parser's words (lib/QueryParser.js
 * traverse; queryParser.test "Unknown $ operator"): `Unknown operator` where a field name stands
 * (`$nor` included: the parser walks `$and` and `$or` only), `Unsupported operator` in a field's condition.
 */
export const OPERATOR_WORDS: Case[] = [
  [{ $foo: 'foo' }, 'Unknown operator: $foo'],
  [{ $nor: [{ price: 1 }] }, 'Unknown operator: $nor'],
  [{ $or: [{ $where: '1' }] }, 'Unknown operator: $where'],
  [{ name: { $unknown: 'foo' } }, 'Unsupported operator: $unknown'],
  [{ publishDate: { $unknown: 'foo' } }, 'Unsupported operator: $unknown'],
  [{ tags: { $elemMatch: { $where: '1' } } }, 'Unsupported operator: $where'],
].map(([filter, message]): Case => ({
  item: 11,
  name: `_q ${JSON.stringify(filter)} is refused as the CRUD's parser words it`,
  path: list(q(filter)),
  status: 400,
  answer: bad(message as string),
}));
OPERATOR_WORDS.push(
  {
    item: 11,
    name: "acl_rows with an unknown operator is refused as the CRUD's parser words it",
    path: list('_p=_id'),
    headers: { acl_rows: JSON.stringify([{ price: { $foo: 1 } }]) },
    status: 400,
    answer: bad('Unsupported operator: $foo'),
  },
  {
    item: 11,
    name: "a POST /users/state filter with an unknown operator is refused as the CRUD's parser words it (changeStateMany)",
    method: 'POST',
    path: '/users/state',
    body: [{ filter: { isbn: '$isbn', $where: '1' }, stateTo: 'DRAFT' }],
    status: 400,
    answer: bad('Unknown operator: $where'),
  },
);
