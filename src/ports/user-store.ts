/** The profile store: the `users` collection (CRUD Service, or the embedded store). */
import type { Filter } from '../crud/filter.js';
import type { CrudQuery } from '../crud/query.js';
import type { State } from '../crud/states.js';
import type { CallScope } from './call-scope.js';
import type { JsonText } from '../domain/json-text.js';

/** A document of the `users` collection as the CRUD Service returns it. */
export interface UserDoc {
  _id: string;
  __STATE__: State;
  userGroup: string;
  authUserId?: string;
  username?: string;
  email?: string;
  blocked?: boolean;
  roles?: string[];
  expirationDate?: string;
  expirationId?: string;
  createdAt: string;
  updatedAt: string;
  creatorId: string;
  updaterId: string;
  [field: string]: unknown;
}

/** A CRUD PATCH body: update operators only (a bare object is turned into `$set` before). */
export type UpdateExpr = Partial<
  Record<'$set' | '$unset' | '$inc' | '$mul' | '$currentDate' | '$push' | '$pull' | '$addToSet', Record<string, unknown>>
>;

/** A user of a page as stored (UserStore.listKeyed): the same id, state and text, the same document. */
export interface KeyedDoc {
  readonly id: string;
  readonly state: State;
  readonly text: string;
  doc(): UserDoc;
}

export interface ByIdOptions {
  /** The states the document may be in (the CRUD's `_st`); internal calls always say. */
  states: readonly State[];
  /** Headers to forward; internal calls without a request forward none. */
  scope?: CallScope;
  /**
   * The caller's query string on `GET|PATCH|DELETE /users/:id` (`_q`, `field=value`, without
   * `_st`): the document must match it, and the caller's acl_rows, or it is not found (the CRUD's rule).
   */
  query?: string;
  /**
   * `delete` only: the document must have no `authUserId` (a profile read without identity), or it
   * is not deleted: an identity linked since that read would be left with no profile.
   */
  unlinked?: boolean;
}

export interface UserStore {
  /**
   * `GET /users/`: the caller's CRUD query (the raw query string, or an object built by GraphQL),
   * validated exactly as the CRUD does, or passed on to it unchanged.
   */
  list(query: CrudQuery | string, scope: CallScope): Promise<Record<string, unknown>[]>;
  /**
   * `GET /users/` as JSON text the store writes itself (the embedded store: without parsing its
   * documents), validated as `list` validates: the bytes of `JSON.stringify(await list(query, scope))`.
   */
  listText?(query: string, scope: CallScope): Promise<JsonText>;
  /**
   * The users of `list` (whole documents, no projection applies) as the store holds them: each
   * with its id, state and stored text, which together determine the document, so that what is
   * made of a document can be kept until its text changes (the embedded store: its rows, parsed
   * only when `doc` is called). Undefined when the store cannot answer so (then `list`).
   */
  listKeyed?(query: string, scope: CallScope): Promise<readonly KeyedDoc[] | undefined>;
  /** `GET /users/count`. */
  count(query: CrudQuery | string, scope: CallScope): Promise<number>;
  /**
   * `GET /users/` and `/users/count` answered with the store's own JSON text, for a store whose
   * answer goes back unchanged (the CRUD Service): no parse and no serialization on the way.
   */
  passThrough?: {
    list(query: string, scope: CallScope): Promise<JsonText>;
    count(query: string, scope: CallScope): Promise<JsonText>;
  };
  /**
   * One page of an export (`GET /users/export`): the users a list query's filters select (`_q`,
   * `_st`, `field=value` and the acl_rows header, validated as `count` does), in an order new
   * writes cannot shift, after `after` (a cursor an earlier page gave). A page may hold fewer than
   * `limit` users before the end: a store that filters in the process examines a bounded number of
   * rows per call, so that no call holds the event loop for long. Users come whole: the export
   * applies acl_read_columns itself, after reading their identities.
   */
  scan(query: CrudQuery, page: { after?: string; limit: number }, scope: CallScope): Promise<ScanPage>;
  /** Internal search: every match of an allow-listed filter in the given states. */
  find(filter: Filter, options: ByIdOptions & { limit?: number }): Promise<UserDoc[]>;
  get(id: string, options: ByIdOptions): Promise<UserDoc | undefined>;
  /** Inserts a new document (`_id` and `__STATE__` may be given, to restore a deleted one). */
  insert(doc: Record<string, unknown>, scope: CallScope): Promise<UserDoc>;
  /**
   * Inserts documents in order, as the CRUD's `POST /bulk` does: it stops at the first refused one
   * (a duplicate), and answers the ids inserted before it and why it was refused.
   */
  insertMany(docs: Record<string, unknown>[], scope: CallScope): Promise<InsertManyResult>;
  /** Applies update operators; undefined when no document with that id is in those states. */
  patch(id: string, update: UpdateExpr, options: ByIdOptions, scope: CallScope): Promise<UserDoc | undefined>;
  /** Many `patch`es in one store call (the CRUD's `PATCH /bulk`); answers how many documents were found and updated. */
  patchMany(updates: { id: string; update: UpdateExpr }[], options: ByIdOptions, scope: CallScope): Promise<number>;
  /** True when a document was deleted. */
  delete(id: string, options: ByIdOptions): Promise<boolean>;
  /** `POST /:id/state`: NotFoundError, or TransitionError when the CRUD would refuse it. */
  setState(id: string, stateTo: State, scope: CallScope): Promise<void>;
}

export interface ScanPage {
  users: UserDoc[];
  /** Where the next page starts; absent after the last. */
  next?: string;
}

export interface InsertManyResult {
  ids: string[];
  /** The first document refused: its index in the batch and the error. */
  failure?: { index: number; error: Error };
}
