import type { CallScope } from '../../ports/call-scope.js';
import type { ByIdOptions, UpdateExpr, UserDoc, UserStore } from '../../ports/user-store.js';
import type { Filter } from '../../crud/filter.js';
import { MAX_LIMIT, type CrudQuery, parseCountQuery } from '../../crud/query.js';
import { ALL_STATES, type State } from '../../crud/states.js';
import { checkPassedOnQuery } from '../../crud/raw-query.js';
import { newObjectId } from '../../crud/ids.js';
import { ConflictError } from '../../errors.js';
import { systemClock } from '../../domain/clock.js';
import type { Clock } from '../../ports/clock.js';
import type { CrudCollection, CrudDoc } from './collection.js';
import { SERVICE_OWNED_FIELDS } from '../../domain/user-fields.js';
import { createDeclaredFields } from './declared-fields.js';

/** Fields the CRUD Service writes itself; sending them would be refused or ignored. */
const SERVER_FIELDS = ['createdAt', 'updatedAt', 'creatorId', 'updaterId'];

/** The `users` collection in a Mia-Platform CRUD Service. */
export function createCrudUserStore(users: CrudCollection, options: { clock?: Clock } = {}): UserStore {
  // POST /import drops what the collection does not declare, where POST / would refuse it: checked first.
  const declared = createDeclaredFields(() => users.schema(), { clock: options.clock ?? systemClock });
  // The caller's acl_rows goes with every call, judged as list's is (the embedded store judges it
  // on every read and write): relayed unjudged, a malformed one (`{`, `$where`, an invalid `$regex`)
  // was the CRUD's 500, or its closed connection, on POST /users/state, creations, registers, deletions.
  const relayed = (scope?: CallScope): Record<string, string> => {
    checkPassedOnQuery('', scope?.headers.acl_rows);
    return scope?.headers ?? {};
  };
  // A user read or written by id is the whole user (the service compares it, validates it, keeps
  // identities in step): acl_read_columns is applied to the REST answer, never to these calls.
  const headersOf = (scope?: CallScope) => {
    const { acl_read_columns: _answerOnly, ...headers } = relayed(scope);
    return headers;
  };

  const store: UserStore = {
    // A filter from GraphQL's users(filter:) is checked as a passed-on REST query is: what the CRUD
    // would fail (an invalid $regex: MongoDB's 500) is the caller's 400, unsent.
    async list(query, scope) {
      const text = toQueryString(query);
      checkPassedOnQuery(text, scope.headers.acl_rows, { aclReadColumns: scope.headers.acl_read_columns });
      return users.list(text, scope.headers);
    },
    async count(query, scope) {
      const text = toQueryString(query);
      checkPassedOnQuery(text, scope.headers.acl_rows);
      return users.count(text, scope.headers);
    },
    passThrough: {
      list: (query, scope) => users.passThrough('/', query, scope.headers),
      count: (query, scope) => users.passThrough('/count', query, scope.headers),
    },
    async scan(query, page, scope) {
      // Keyset pages in `_id` order: each page starts after the last `_id` of the one before,
      // instead of a growing `_sk` that MongoDB would walk again for every page.
      parseCountQuery(query, scope.headers.acl_rows);
      const after = page.after === undefined ? undefined : { _id: { $gt: page.after } };
      const filter = typeof query._q === 'string' && query._q !== '' ? (JSON.parse(query._q) as Filter) : undefined;
      const q = filter && after ? { $and: [filter, after] } : (filter ?? after);
      const fields = Object.entries(query).filter(([key]) => !key.startsWith('_') || key === '_id');
      const found = await users.list(
        {
          ...Object.fromEntries(fields.map(([key, value]) => [key, String(value)])),
          _st: typeof query._st === 'string' ? query._st : undefined,
          _q: q && JSON.stringify(q),
          _s: '_id',
          _l: String(page.limit),
        },
        // Whole users, as every read here: the export applies acl_read_columns itself (identities need authUserId).
        headersOf(scope),
      );
      return { users: found.map(asUser), ...(found.length === page.limit ? { next: found.at(-1)!._id } : {}) };
    },
    async find(filter: Filter, options: ByIdOptions & { limit?: number }) {
      const found: UserDoc[] = [];
      const wanted = options.limit ?? Number.POSITIVE_INFINITY;
      // The CRUD answers at most 200 documents a call: page through them in _id order.
      for (let skip = 0; found.length < wanted; skip += MAX_LIMIT) {
        const size = Math.min(MAX_LIMIT, wanted - found.length);
        const page = await users.list(
          { _q: JSON.stringify(filter), _st: options.states.join(','), _s: '_id', _l: String(size), _sk: String(skip) },
          headersOf(options.scope),
        );
        found.push(...page.map(asUser));
        if (page.length < size) break;
      }
      return found;
    },
    async get(id, options) {
      const doc = await users.get(id, options.states, headersOf(options.scope), options.query);
      return doc && asUser(doc);
    },
    async insert(doc, scope) {
      const body = toInsertBody(doc);
      // An `_id` of our own (the creation's intent is named after it) can only go through POST /import.
      let _id = body._id;
      if (typeof _id === 'string') {
        const refused = await declared.firstRefused([body]);
        if (refused) throw refused.error;
        await users.importMany([body], relayed(scope));
      } else _id = await users.create(body, relayed(scope));
      const now = new Date().toISOString();
      return { createdAt: now, updatedAt: now, creatorId: scope.actorId, updaterId: scope.actorId, ...body, _id } as UserDoc;
    },
    async insertMany(docs, scope) {
      // Our own ids, so that after a refused document the ones inserted before it can be told apart.
      const bodies = docs.map((doc) => ({ ...toInsertBody(doc), _id: typeof doc._id === 'string' ? doc._id : newObjectId() }));
      // The documents before one with an undeclared field go in; that one is this batch's failure.
      const refused = await declared.firstRefused(bodies);
      if (!refused) return importOrdered(bodies, scope);
      const before = refused.index > 0 ? await importOrdered(bodies.slice(0, refused.index), scope) : { ids: [] };
      return before.failure ? before : { ids: before.ids, failure: refused };
    },
    async patch(id: string, update: UpdateExpr, options, scope) {
      const doc = await users.patch(id, update, options.states, writeHeaders(headersOf(scope), [update]), options.query);
      return doc && asUser(doc);
    },
    async patchMany(updates, options, scope) {
      const states = options.states.join(',');
      return users.patchMany(
        updates.map(({ id, update }) => ({ filter: { _id: id, _st: states }, update })),
        writeHeaders(
          relayed(scope),
          updates.map(({ update }) => update),
        ),
      );
    },
    async delete(id, options) {
      return users.delete(id, options.states, headersOf(options.scope), options.unlinked ? unlinkedQuery(options.query) : options.query);
    },
    async setState(id: string, stateTo: State, scope) {
      await users.setState(id, stateTo, relayed(scope));
    },
  };

  /** `POST /import` of documents with our own ids: ordered, so after a duplicate the ones before it are in. */
  async function importOrdered(bodies: (Record<string, unknown> & { _id: string })[], scope: CallScope) {
    const ids = bodies.map((body) => body._id);
    try {
      await users.importMany(bodies, relayed(scope));
      return { ids };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const present = new Set((await store.find({ _id: { $in: ids } }, { states: ALL_STATES, scope })).map((user) => user._id));
      const index = ids.findIndex((id) => !present.has(id));
      if (index < 0) return { ids };
      return { ids: ids.slice(0, index), failure: { index, error } };
    }
  }
  return store;
}

/** Always PUBLIC unless said otherwise: the collection's own default may be DRAFT. */
function toInsertBody(doc: Record<string, unknown>): Record<string, unknown> {
  const body = Object.fromEntries(Object.entries(doc).filter(([field]) => !SERVER_FIELDS.includes(field)));
  body.__STATE__ ??= 'PUBLIC';
  return body;
}

function asUser(doc: CrudDoc): UserDoc {
  return doc as unknown as UserDoc;
}

/** GraphQL builds a query object; REST hands over the raw query string, which goes on unchanged. */
function toQueryString(query: CrudQuery | string): string {
  if (typeof query === 'string') return query;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) params.append(key, String(item));
  }
  return params.toString();
}

/**
 * The CRUD refuses (a 500) a PATCH that sets a column `acl_write_columns` does not list. The
 * caller's own fields were judged against the header before anything was written
 * (assertWritableColumns); the fields only the service writes (`expirationId` when the caller
 * changes `expirationDate`, `authUserId` at a creation) are added to it, so the caller's update
 * does not fail on the service's bookkeeping (docs/decisions.md).
 */
function writeHeaders(headers: Record<string, string>, updates: UpdateExpr[]): Record<string, string> {
  const listed = headers.acl_write_columns;
  if (!listed) return headers;
  const columns = new Set(listed.split(','));
  for (const update of updates) {
    for (const fields of Object.values(update)) {
      for (const field of SERVICE_OWNED_FIELDS) if (fields && Object.hasOwn(fields, field)) columns.add(field);
    }
  }
  return { ...headers, acl_write_columns: [...columns].join(',') };
}

/**
 * The caller's query string on a `DELETE /:id`, its `_q` also requiring no `authUserId` (`unlinked`):
 * the CRUD deletes the document only if it still matches (MongoDB's single-document atomicity). A
 * `_q` that is no JSON is left as it is: the CRUD refuses it (400), deleting nothing.
 */
function unlinkedQuery(query: string | undefined): string {
  const params = new URLSearchParams(query ?? '');
  const own = params.get('_q');
  const absent = { authUserId: { $exists: false } };
  let filter: unknown = absent;
  if (own !== null) {
    try {
      filter = { $and: [JSON.parse(own) as unknown, absent] };
    } catch {
      return params.toString();
    }
  }
  params.set('_q', JSON.stringify(filter));
  return params.toString();
}
