/**
 * The CRUD Service's answers to its own test queries (crud-service 7.2.5: httpInterface.getList,
 * countList, getById, patchById, patchById.special, changeStateBulk), stated as requests to the
 * service's REST API and the answers the CRUD gives, over the `books` fixtures (conformance/books.ts).
 *
 * `:scratch` in a path or an answer (and `"$isbn"` in a body) is a fresh copy of Ulysses (the first
 * fixture) in the `scratch` group, with an isbn of its own, for the cases that change a user.
 */
export interface Case {
  /** The item of issue #19 the case belongs to (10: the third round, 11: the fourth, 12: the fifth, docs/decisions.md). */
  item: 1 | 2 | 3 | 4 | 5 | 7 | 8 | 9 | 10 | 11 | 12;
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
  /** Fields the scratch user no longer holds afterwards. */
  gone?: string[];
}

export const U = '111111111111111111111111';
export const O = '222222222222222222222222';
export const W = '333333333333333333333333';
export const M = '444444444444444444444444';
export const P = '888888888888888888888888';
export const FEB_4 = [U, O, M];
export const q = (filter: unknown) => `_q=${encodeURIComponent(JSON.stringify(filter))}`;
/** A list of the fixture users only, in `_id` order. */
export const list = (query: string) => `/users/?userGroup=books&_s=_id&${query}`;
export const count = (query: string) => `/users/count?userGroup=books&${query}`;
export const acl = (rows: unknown) => ({ acl_rows: JSON.stringify(rows) });
