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

export const ROUND_FIVE: Case[] = [...RAW_ID];
