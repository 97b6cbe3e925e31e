/**
 * A Mia-Platform CRUD Service emulator for the tests, written from spec/mia-platform.md §2 (v7):
 * default `_st` PUBLIC, the `_q` operator allow-list, unknown parameters 400, `{"error":"not
 * found"}` 404s, 409 on unique indexes, both state routes with their own transition tables,
 * PATCH operators, ordered `POST /bulk`, `POST /import` (the one insert that may name its `_id`:
 * `POST /` and `POST /bulk` refuse it, as v7.2.5's body schemas do). It also records every request
 * and can hang or fail on demand. Test code only: never the product's storage.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { closeServer, dropOnFailure, readBody } from './http.js';
import { textMatcher } from './crud-text.js';
import { firstUndeclared, itemSchema, withoutUndeclared } from './crud-schema.js';
import { applyPull } from './crud-pull.js';
import { Query } from 'mingo';
import { update as applyUpdate } from 'mingo/updater';
import {
  castParam,
  coerce,
  castQuery,
  checkUpdate,
  coerceAt,
  coerceItem,
  compareDocs,
  CrudError,
  OBJECT_ID,
  type FieldType,
  project,
  projectionOf,
  rawProjectionOf,
  projectExpression,
  exclude,
  typeOf,
} from './crud-semantics.js';

type Doc = Record<string, unknown> & { _id: string; __STATE__: string };

export interface CollectionSpec {
  /** e.g. `/users`. */
  path: string;
  /**
   * Declared fields: plain `field=value` filters are cast by these types; others are a 400. Dotted
   * paths declare nested fields and `path.__items` an array's items, as the CRUD's field definitions
   * do; `date` fields are stored as ISO text and compared as instants.
   */
  fields: Record<string, FieldType>;
  unique?: string[];
  defaultState?: string;
  /** The fields of the collection's text index, for `$text` (none: `$text` is MongoDB's error). */
  textIndex?: string[];
  /** The fields of its other indexes (default: `unique`): the clauses a `$or` holding `$text` may name. */
  indexes?: string[];
  /** Top-level object fields declared with `additionalProperties: false`: only their declared keys. */
  closed?: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

const OPERATORS = new Set([
  '$gt',
  '$lt',
  '$gte',
  '$lte',
  '$eq',
  '$ne',
  '$in',
  '$nin',
  '$all',
  '$exists',
  '$nearSphere',
  '$regex',
  '$options',
  '$elemMatch',
  '$text',
  '$size',
  '$and',
  '$or',
]);
const PATCH_OPERATORS = new Set(['$set', '$unset', '$inc', '$mul', '$currentDate', '$push', '$pull', '$addToSet']);
const INTERNAL = new Set(['_id', '__STATE__', 'createdAt', 'updatedAt', 'creatorId', 'updaterId']);
/** `_st`'s schema pattern, which ajv does not anchor. */
const STATE_PATTERN = /(PUBLIC|DRAFT|TRASH|DELETED)(,(PUBLIC|DRAFT|TRASH|DELETED))*/;
/** POST /:id/state: source → targets. */
const ONE = { PUBLIC: ['DRAFT', 'TRASH'], DRAFT: ['PUBLIC', 'TRASH'], TRASH: ['DRAFT', 'DELETED'], DELETED: ['TRASH'] } as Record<
  string,
  string[]
>;
/** POST /state: target ← sources. */
const MANY = { PUBLIC: ['DRAFT'], DRAFT: ['PUBLIC', 'TRASH'], TRASH: ['PUBLIC', 'DRAFT', 'DELETED'], DELETED: ['TRASH'] } as Record<
  string,
  string[]
>;
const LIST_PARAMS = new Set(['_q', '_st', '_p', '_s', '_l', '_sk', '_rawp']);
const COUNT_PARAMS = new Set(['_q', '_st', '_useEstimate']);
const BY_ID_PARAMS = new Set(['_q', '_st', '_p', '_rawp']);

/** The CRUD's error handler (index.js) names the property ajv refused. */
const additionalProperty = (where: string, key: string) =>
  `${where} must NOT have additional properties. Property "${key}" is not defined in validation schema`;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/**
 * MongoDB failing a query as it runs (an invalid `$regex`, `$text` without a text index): the
 * CRUD's 500 with MongoDB's text, except on the list route, which streams the cursor into the
 * response (httpInterface handleGetList's pipeline): the failure destroys the response before its
 * head, and the client sees the connection closed with no answer.
 */
class MongoQueryError extends HttpError {
  constructor(message: string) {
    super(500, message);
  }
}

/** The list route's answer to a MongoQueryError: the connection closed, nothing sent. */
class StreamDestroyed extends Error {}

export class CrudEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly collections = new Map<string, { spec: CollectionSpec; docs: Doc[] }>();
  /** When true, requests are read and never answered (a hung upstream). */
  hang = false;
  /**
   * When true, a stand-in of the CRUD that serves no `POST /import` nor `GET /schema` (404, as
   * Fastify answers an unknown route) and takes the `_id` in `POST /` and `POST /bulk`.
   */
  withoutImport = false;
  /**
   * The time the CRUD stamps `createdAt` and `updatedAt` with (ms since the epoch): the system's, or
   * a test's FakeClock, when what the service compares with them runs on it (the jobs' retention).
   */
  now: () => number = () => Date.now();
  /** Status codes to answer, in order, for the next matching requests (`"PATCH /users/:id"`). */
  readonly failures: { route: RegExp; status: number; body?: unknown; query?: RegExp }[] = [];
  /** Requests held before they are answered (see `holdNext`). */
  private readonly holds: { route: RegExp; query?: RegExp; reached: () => void; released: Promise<void> }[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(specs: CollectionSpec[]) {
    for (const spec of specs) this.collections.set(spec.path, { spec, docs: [] });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer(dropOnFailure((req, res) => this.handle(req, res)));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops every connection (an upstream going down). */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
  }

  /**
   * The next matching request gets `status` (with `body`, or an error envelope) instead of its
   * answer; `query`, when given, must match its decoded query string too (one read among several).
   */
  failNext(method: string, pathPattern: RegExp, status: number, body?: unknown, query?: RegExp): void {
    this.failures.push({ route: new RegExp(`^${method} ${pathPattern.source}`), status, body, query });
  }

  /**
   * The next matching request is applied (a read reads now), then its answer waits until
   * `release()` (one request's step held while others go on); `reached` resolves once it waits.
   */
  holdNext(method: string, pathPattern: RegExp, query?: RegExp): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ route: new RegExp(`^${method} ${pathPattern.source}`), query, reached, released });
    return { reached: arrived, release };
  }

  /**
   * The answer, after a hold armed for this request is released: a copy taken before, since the
   * stored documents it refers to may change meanwhile (a read answers the state it read).
   */
  private async held(route: string, answer: unknown, search = ''): Promise<unknown> {
    const hold = this.holds.findIndex((h) => h.route.test(route) && (!h.query || h.query.test(search)));
    if (hold < 0) return answer;
    const { reached, released } = this.holds.splice(hold, 1)[0]!;
    const copy = answer === undefined ? undefined : structuredClone(answer);
    reached();
    await released;
    return copy;
  }

  docs(path: string): Doc[] {
    return this.collections.get(path)!.docs;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://crud');
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = await parseBody(raw, req.headers['content-type']);
    } catch {
      return send(res, 400, { statusCode: 400, error: 'Bad Request', message: 'Body is not valid JSON' });
    }
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body });
    if (this.hang) return;
    const search = decodeURIComponent(url.search);
    const failure = this.failures.findIndex((f) => f.route.test(`${req.method} ${url.pathname}`) && (!f.query || f.query.test(search)));
    if (failure >= 0) {
      const { status, body: injected } = this.failures.splice(failure, 1)[0]!;
      return send(res, status, injected ?? { statusCode: status, error: 'Injected', message: 'injected failure' });
    }
    try {
      const [status, answer] = this.route(req.method ?? 'GET', url, body, req.headers);
      const held = await this.held(`${req.method} ${url.pathname}`, answer, search);
      send(res, status, held);
    } catch (error) {
      if (error instanceof StreamDestroyed) return void res.destroy();
      if (error instanceof HttpError)
        return send(res, error.status, error.body ?? { statusCode: error.status, error: reason(error.status), message: error.message });
      if (error instanceof CrudError) return send(res, 400, { statusCode: 400, error: 'Bad Request', message: error.message });
      send(res, 500, { statusCode: 500, error: 'Internal Server Error', message: String(error) });
    }
  }

  private route(method: string, url: URL, body: unknown, headers: IncomingMessage['headers']): [number, unknown] {
    if (url.pathname === '/-/healthz' || url.pathname === '/-/ready') return [200, { status: 'OK' }];
    const entry = [...this.collections.values()].find((c) => url.pathname === c.spec.path || url.pathname.startsWith(`${c.spec.path}/`));
    if (!entry) throw new HttpError(404, 'not found', { error: 'not found' });
    const rest = url.pathname.slice(entry.spec.path.length).replace(/^\//, '');
    const actor = typeof headers.miauserid === 'string' && headers.miauserid ? headers.miauserid : 'public';
    const collection = new Collection(entry.spec, entry.docs, actor, aclRows(headers), headers.acl_read_columns, this.withoutImport);
    collection.writeColumns = typeof headers.acl_write_columns === 'string' ? headers.acl_write_columns : undefined;
    collection.now = this.now;
    const q = url.searchParams;
    if (method === 'GET' && rest === '') return [200, streamed(() => collection.list(q))];
    if (method === 'GET' && rest === 'count') return [200, collection.count(q)];
    if (method === 'GET' && rest === 'schema' && !this.withoutImport) return [200, itemSchema(entry.spec.fields, entry.spec.closed)];
    if (method === 'POST' && rest === '') return [200, { _id: collection.insert(body)._id }];
    if (method === 'POST' && rest === 'bulk') return [200, collection.insertMany(body)];
    if (method === 'POST' && rest === 'import' && !this.withoutImport) return [201, collection.importFile(body)];
    if (method === 'POST' && rest === 'state') return [200, collection.changeStateMany(body)];
    if (method === 'PATCH' && rest === 'bulk') return [200, collection.patchMany(body)];
    if (method === 'PATCH' && rest === '') return [200, collection.patchWhere(q, body)];
    if (method === 'DELETE' && rest === '') return [200, collection.removeWhere(q)];
    const [id, action] = rest.split('/');
    if (!id) throw new HttpError(404, 'not found', { error: 'not found' });
    if (method === 'GET' && !action) return [200, collection.get(id, q)];
    if (method === 'PATCH' && !action) return [200, collection.patch(id, q, body)];
    if (method === 'DELETE' && !action) return collection.remove(id, q) ? [204, undefined] : notFound();
    if (method === 'POST' && action === 'state') {
      collection.changeState(id, body);
      return [204, undefined];
    }
    throw new HttpError(404, 'not found', { error: 'not found' });
  }
}

class Collection {
  /** The `acl_write_columns` header: the top-level fields a PATCH may set (all when absent or empty). */
  writeColumns?: string;
  /** The clock of `createdAt` and `updatedAt` (the emulator's `now`). */
  now: () => number = () => Date.now();

  constructor(
    private readonly spec: CollectionSpec,
    private readonly docs: Doc[],
    private readonly actor: string,
    private readonly acl: Record<string, unknown>[],
    private readonly readColumns: unknown,
    /** A stand-in without `POST /import` takes the `_id` in `POST /` and `POST /bulk`. */
    private readonly idsInInserts = false,
  ) {}

  list(q: URLSearchParams): Doc[] {
    this.checkParams(q, LIST_PARAMS);
    this.rawProjection(q);
    const limit = integer(q.get('_l'), '_l', 1, 200) ?? 25;
    const skip = integer(q.get('_sk'), '_sk', 0) ?? 0;
    let found = this.matching(q);
    const sort = q.getAll('_s').flatMap((s) => s.split(','));
    // The querystring schema's pattern (JSONSchemaGenerator buildSortRegex): no empty key nor segment, nothing trimmed.
    if (sort.some((key) => !/^-?[^.,]+(\.[^.,]+)*$/.test(key) || /^-?\s/.test(key)))
      throw new HttpError(400, 'querystring/_s must match pattern');
    for (const key of sort) if (!this.declares(key.replace(/^-/, ''))) throw new CrudError(`Unknown field: ${key.replace(/^-/, '')}`);
    if (sort.length) found = [...found].sort((a, b) => compareDocs(a, b, sort));
    found = found.slice(skip, skip + limit);
    const conditions = this.conditions(q);
    return found.map((doc) => this.readable(doc, q, conditions));
  }

  count(q: URLSearchParams): number {
    this.checkParams(q, COUNT_PARAMS);
    const estimate = q.get('_useEstimate');
    // The querystring schema's boolean, as ajv coerces it.
    if (estimate !== null && estimate !== 'true' && estimate !== 'false') {
      throw new HttpError(400, 'querystring/_useEstimate must be boolean');
    }
    if (estimate === 'true') return this.docs.length;
    return this.matching(q).length;
  }

  get(id: string, q: URLSearchParams): Doc {
    this.checkParams(q, BY_ID_PARAMS);
    this.rawProjection(q);
    return this.readable(this.byId(id, q) ?? notFound(), q, this.conditions(q));
  }

  /** `_rawp` as the CRUD resolves it before it queries (its 400s whatever is found). */
  private rawProjection(q: URLSearchParams) {
    const topFields = Object.keys(this.spec.fields).filter((field) => !field.includes('.'));
    return rawProjectionOf(q.get('_rawp'), q.get('_p'), this.readColumns, topFields);
  }

  /** `_p` (or `_rawp`) and acl_read_columns applied to an answer. */
  private readable(doc: Doc, q: URLSearchParams, conditions?: Record<string, unknown>): Doc {
    const raw = this.rawProjection(q);
    if (raw && 'expression' in raw) return projectExpression(doc, raw.expression, this.spec.fields) as Doc;
    if (raw && 'exclude' in raw) return exclude(doc, raw.exclude) as Doc;
    if (raw) {
      const { _id: _id, ...rest } = project(doc, raw.include);
      return (raw.withoutId ? rest : { _id, ...rest }) as Doc;
    }
    const fields = projectionOf(q.get('_p'), this.readColumns);
    return (fields ? project(doc, fields, conditions) : doc) as Doc;
  }

  /** `POST /` (and each item of `POST /bulk`): `_id` is no property of its body schema; `POST /import` may set it. */
  insert(input: unknown, { idAllowed = this.idsInInserts, where = 'body', dropUndeclared = false } = {}): Doc {
    if (!isObject(input)) throw new HttpError(400, 'body must be object');
    // `POST /import`'s item validator removes what its schema does not declare; `POST /` refuses it.
    const body = dropUndeclared ? withoutUndeclared(input, this.spec.fields, this.spec.closed) : input;
    const undeclared = firstUndeclared(body, this.spec.fields, this.spec.closed);
    if (undeclared) throw new HttpError(400, additionalProperty(`${where}${undeclared.at}`, undeclared.key));
    for (const key of Object.keys(body))
      if (INTERNAL.has(key) && key !== '__STATE__' && !(key === '_id' && idAllowed))
        throw new HttpError(400, additionalProperty(where, key));
    const now = new Date(this.now()).toISOString();
    const cast = Object.fromEntries(
      Object.entries(body).map(([key, value]) => [key, coerceAt(value, key, this.spec.fields, `body/${key}`)]),
    );
    const doc = {
      ...cast,
      _id: typeof body._id === 'string' ? body._id : objectId(),
      __STATE__: typeof body.__STATE__ === 'string' ? body.__STATE__ : (this.spec.defaultState ?? 'DRAFT'),
      creatorId: this.actor,
      updaterId: this.actor,
      createdAt: now,
      updatedAt: now,
    } as Doc;
    this.assertUnique(doc);
    this.docs.push(doc);
    return doc;
  }

  insertMany(body: unknown): { _id: string }[] {
    if (!Array.isArray(body) || body.length === 0) throw new HttpError(400, 'body must NOT have fewer than 1 items');
    // Ordered: the documents before a duplicate stay inserted.
    return body.map((item, index) => ({ _id: this.insert(item, { where: `body/${index}` })._id }));
  }

  /**
   * `POST /import` with a JSON file (an array of documents): ordered inserts that may name their
   * `_id` (an ObjectId); a duplicate is a 409 and the documents before it stay. 201.
   */
  importFile(body: unknown): { message: string } {
    // As the CRUD's handler: the request's first file part, whatever its field's name
    // (`request.file()`), parsed by the type that part declares (an exact match: a JSON file must
    // say application/json; the CRUD's csv, ndjson and excel parsers are not played here).
    if (!(body instanceof MultipartBody)) throw new HttpError(400, 'Request is not multipart');
    const [file] = body.files;
    if (!file) throw new HttpError(400, 'Missing file');
    if (file.type !== 'application/json') throw new HttpError(415, `Unsupported file type ${file.type}`);
    let docs: unknown;
    try {
      docs = JSON.parse(file.text);
    } catch {
      throw new HttpError(400, '(index: 0) error in parsing record');
    }
    if (!Array.isArray(docs)) throw new HttpError(400, '(index: 0) error in parsing record');
    docs.forEach((doc, index) => {
      if (isObject(doc) && doc._id !== undefined && !(typeof doc._id === 'string' && OBJECT_ID.test(doc._id)))
        throw new HttpError(400, `(index: ${index}, /_id) must match pattern "${OBJECT_ID.source}"`);
      this.insert(doc, { idAllowed: true, where: `(index: ${index})`, dropUndeclared: true });
    });
    return { message: 'File uploaded successfully' };
  }

  patch(id: string, q: URLSearchParams, body: unknown): Doc {
    if (!isObject(body)) throw new HttpError(400, 'body must be object');
    for (const [operator, fields] of Object.entries(body)) {
      if (!PATCH_OPERATORS.has(operator)) throw new HttpError(400, 'body must NOT have additional properties');
      for (const field of Object.keys(fields as object)) if (INTERNAL.has(field)) throw new HttpError(400, `${field} is not editable`);
    }
    this.assertWritable(body);
    const doc = this.byId(id, q) ?? notFound();
    checkUpdate(doc, body, this.spec.fields);
    const next = structuredClone(doc);
    const { $pull, ...others } = this.coerceUpdate(body);
    applyUpdate(next, others as never);
    if ($pull) applyPull(next, $pull as Record<string, unknown>);
    Object.assign(next, { updaterId: this.actor, updatedAt: new Date(this.now()).toISOString() });
    this.assertUnique(JSON.parse(JSON.stringify(next)) as Doc, doc._id);
    Object.assign(doc, JSON.parse(JSON.stringify(next)));
    for (const key of Object.keys(doc)) if (!(key in next)) delete doc[key];
    return this.readable(doc, new URLSearchParams());
  }

  /** The PATCH schema's coercion: `$set` values by their field, `$push`/`$addToSet` items by the array's items. */
  private coerceUpdate(body: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [operator, fields] of Object.entries(body)) {
      out[operator] = {};
      for (const [path, value] of Object.entries(fields as Record<string, unknown>)) {
        const where = `body/${operator}/${path}`;
        let cast = value;
        if (operator === '$set') cast = coerceAt(value, path, this.spec.fields, where);
        if (operator === '$inc' || operator === '$mul') cast = coerce(value, 'number', where);
        if (operator === '$push' || operator === '$addToSet') {
          const each = isObject(value) && Array.isArray(value.$each) ? value.$each : undefined;
          cast = each
            ? { ...(value as object), $each: each.map((item) => coerceItem(item, path, this.spec.fields, where)) }
            : coerceItem(value, path, this.spec.fields, where);
        }
        out[operator]![path] = cast;
      }
    }
    return out;
  }

  /** `PATCH /bulk`: each item updates the one document its filter matches (`_st` defaulting to PUBLIC); answers the count. */
  patchMany(body: unknown): number {
    if (!Array.isArray(body) || body.length === 0) throw new HttpError(400, 'body must NOT have fewer than 1 items');
    let modified = 0;
    for (const item of body as { filter?: Record<string, unknown>; update?: unknown }[]) {
      if (!isObject(item.filter) || !isObject(item.update)) throw new HttpError(400, 'body must have filter and update');
      const { _id, _st, ...fields } = item.filter;
      const q = new URLSearchParams(typeof _st === 'string' ? { _st } : {});
      if (Object.keys(fields).length > 0) q.set('_q', JSON.stringify(fields));
      const target = typeof _id === 'string' ? this.byId(_id, q) : this.matching(q)[0];
      if (!target) continue;
      this.patch(target._id, q, item.update);
      modified += 1;
    }
    return modified;
  }

  /** `PATCH /`: every document the query matches (`_st` defaulting to PUBLIC); answers the count. */
  patchWhere(q: URLSearchParams, body: unknown): number {
    this.checkParams(q, new Set(['_q', '_st']));
    const targets = this.matching(q);
    for (const target of targets) this.patch(target._id, new URLSearchParams({ _st: target.__STATE__ }), body);
    return targets.length;
  }

  /** `DELETE /`: every document that matches `_q` in the `_st` states; answers how many were deleted (0 if none). */
  removeWhere(q: URLSearchParams): number {
    this.checkParams(q, new Set(['_q', '_st']));
    const targets = this.matching(q);
    for (const target of targets) this.docs.splice(this.docs.indexOf(target), 1);
    return targets.length;
  }

  remove(id: string, q: URLSearchParams): boolean {
    const doc = this.byId(id, q);
    if (!doc) return false;
    this.docs.splice(this.docs.indexOf(doc), 1);
    return true;
  }

  changeState(id: string, body: unknown): void {
    const stateTo = isObject(body) ? body.stateTo : undefined;
    if (typeof stateTo !== 'string' || !(stateTo in ONE))
      throw new HttpError(400, 'body/stateTo must be equal to one of the allowed values');
    const doc = this.docs.find((d) => d._id === id) ?? notFound();
    if (doc.__STATE__ !== stateTo && !ONE[doc.__STATE__]?.includes(stateTo)) {
      throw new HttpError(400, `transition from ${doc.__STATE__} to ${stateTo} not allowed.`);
    }
    Object.assign(doc, { __STATE__: stateTo, updaterId: this.actor, updatedAt: new Date(this.now()).toISOString() });
  }

  changeStateMany(body: unknown): number {
    if (!Array.isArray(body) || body.length === 0) throw new HttpError(400, 'body must NOT have fewer than 1 items');
    let modified = 0;
    for (const item of body as { filter?: Record<string, unknown>; stateTo?: string }[]) {
      const sources = MANY[item.stateTo ?? ''];
      if (!sources || !isObject(item.filter)) throw new HttpError(400, 'body must have filter and stateTo');
      const matcher = new Query(item.filter);
      for (const doc of this.docs) {
        if (sources.includes(doc.__STATE__) && matcher.test(doc)) {
          Object.assign(doc, { __STATE__: item.stateTo, updaterId: this.actor, updatedAt: new Date(this.now()).toISOString() });
          modified += 1;
        }
      }
    }
    return modified;
  }

  /** The document `id` in the asked states, only while it matches `_q`, `field=value` and acl_rows (the CRUD's findById). */
  private byId(id: string, q: URLSearchParams): Doc | undefined {
    // The by-id routes' querystring schemas have no `_id` (the list's and count's do).
    if (q.has('_id')) throw new HttpError(400, additionalProperty('querystring', '_id'));
    const states = this.states(q);
    const matcher = new Query(this.conditions(q));
    return this.docs.find((doc) => doc._id === id && states.includes(doc.__STATE__) && matcher.test(doc));
  }

  private states(q: URLSearchParams): string[] {
    const raw = q.get('_st') ?? 'PUBLIC';
    if (!STATE_PATTERN.test(raw)) throw new HttpError(400, `querystring/_st must match pattern "${STATE_PATTERN.source}"`);
    return raw.split(',');
  }

  private matching(q: URLSearchParams): Doc[] {
    const states = this.states(q);
    const matcher = new Query(this.conditions(q));
    const text = this.textSearch(q);
    return this.docs.filter((doc) => states.includes(doc.__STATE__) && matcher.test(doc) && text(doc));
  }

  /** `$text` at the top of `_q` (or of its `$and`), which MongoDB answers from the text index. */
  private textSearch(q: URLSearchParams): (doc: Doc) => boolean {
    const parsed = JSON.parse(q.get('_q') || '{}') as Record<string, unknown>;
    const operand =
      parsed.$text ?? (Array.isArray(parsed.$and) ? parsed.$and.find((part) => isObject(part) && part.$text)?.$text : undefined);
    if (operand === undefined) return () => true;
    if (!this.spec.textIndex) throw new MongoQueryError('text index required for $text query');
    try {
      return textMatcher(operand, this.spec.textIndex);
    } catch (error) {
      throw new CrudError((error as Error).message);
    }
  }

  /** Each `$text` left in the query (inside a `$or`) as the `_id`s of the documents it matches. */
  private textAsIds(node: unknown): Record<string, unknown> {
    const walk = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(walk);
      if (!isObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) {
        if (key !== '$text') out[key] = walk(inner);
        else {
          if (!this.spec.textIndex) throw new MongoQueryError('text index required for $text query');
          let matches: (doc: Doc) => boolean;
          try {
            matches = textMatcher(inner, this.spec.textIndex);
          } catch (error) {
            throw new CrudError((error as Error).message);
          }
          const ids = { $in: this.docs.filter(matches).map((doc) => doc._id) };
          if (Object.hasOwn(out, '_id')) out.$and = [...((out.$and as unknown[]) ?? []), { _id: ids }];
          else out._id = ids;
        }
      }
      return out;
    };
    return walk(node) as Record<string, unknown>;
  }

  /** `_q`, the `field=value` parameters and acl_rows, ANDed and cast by the declared types. */
  private conditions(q: URLSearchParams): Record<string, unknown> {
    this.acl.forEach(assertRegexes);
    const parts: Record<string, unknown>[] = this.acl.map((row) => castQuery(row, this.spec.fields));
    const rawQ = q.get('_q');
    if (rawQ) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawQ);
      } catch {
        throw new HttpError(400, 'querystring/_q must be a valid JSON');
      }
      if (!isObject(parsed)) throw new HttpError(400, 'querystring/_q must be object');
      assertOperators(parsed);
      this.assertKnownFields(parsed);
      assertRegexes(parsed);
      const nested = hasNestedText(parsed);
      if (nested || parsed.$text !== undefined || (Array.isArray(parsed.$and) && parsed.$and.some((part) => isObject(part) && part.$text)))
        assertTextInOr(parsed, this.spec.indexes ?? this.spec.unique ?? []);
      const cast = castQuery(withoutText(parsed), this.spec.fields);
      // `$text` inside a `$or`: MongoDB answers it from the text index; here, the ids it matches.
      parts.push(nested ? this.textAsIds(cast) : cast);
    }
    for (const [key, value] of q) {
      if (key.startsWith('_') && key !== '_id') continue;
      if (key === '_id' && !OBJECT_ID.test(value)) throw new HttpError(400, `querystring/_id must match pattern "${OBJECT_ID.source}"`);
      parts.push({ [key]: castParam(this.spec.fields, key, value) });
    }
    return parts.length ? { $and: parts } : {};
  }

  /** The CRUD's query parser: a field of `_q` its collection does not define (by its first segment) is a 400. */
  private assertKnownFields(query: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(query)) {
      if (['$and', '$or', '$nor'].includes(key) && Array.isArray(value))
        value.filter(isObject).forEach((inner) => this.assertKnownFields(inner));
      else if (!key.startsWith('$') && !this.declares(key)) throw new CrudError(`Unknown field: ${key}`);
    }
  }

  /**
   * crud-service 7.2.5 (QueryParser traverseCommands, httpInterface getEditableFields): every
   * operator but `$unset` and `$currentDate` may touch only the declared top-level fields the
   * header lists; array fields and nested paths are not judged. The CRUD throws a plain Error: a 500.
   */
  private assertWritable(body: Record<string, unknown>): void {
    if (!this.writeColumns) return;
    const editable = new Set(this.writeColumns.split(',').filter((field) => !INTERNAL.has(field)));
    for (const [operator, fields] of Object.entries(body)) {
      if (operator === '$unset' || operator === '$currentDate') continue;
      for (const path of Object.keys(fields as object)) {
        const type = typeOf(this.spec.fields, path);
        if (path.includes('.') || type === undefined || type === 'array' || editable.has(path)) continue;
        throw new Error(`You cannot edit "${path}" field`);
      }
    }
  }

  /** An object field, or an object item of an array (`attachments.0`): no property of the querystring schema. */
  private isObjectPath(path: string): boolean {
    const type = typeOf(this.spec.fields, path);
    if (type === 'object') return true;
    if (type !== 'array' || !/\.\d+$/.test(path)) return false;
    const array = path.replace(/\.\d+$/, '');
    const items = typeOf(this.spec.fields, `${array}.__items`);
    return items === 'object' || (items === undefined && Object.keys(this.spec.fields).some((field) => field.startsWith(`${array}.`)));
  }

  private declares(path: string): boolean {
    const first = path.split('.')[0]!;
    return INTERNAL.has(first) || typeOf(this.spec.fields, first) !== undefined;
  }

  private checkParams(q: URLSearchParams, allowed: Set<string>): void {
    for (const key of q.keys()) {
      const known = key.startsWith('_') ? allowed.has(key) || key === '_id' : typeOf(this.spec.fields, key.split('.')[0]!) !== undefined;
      // An object field is no property of the querystring schema: its scalar paths are.
      if (!known || (!key.startsWith('_') && this.isObjectPath(key))) throw new HttpError(400, additionalProperty('querystring', key));
      // Twice is an array, which ajv (coerceTypes: true) does not make a scalar; `_s` alone may be an array.
      if (key !== '_s' && q.getAll(key).length > 1) throw new HttpError(400, `querystring/${key} must be ${this.paramType(key)}`);
    }
    for (const [name, max] of [['_l', 200]] as const) if (q.has(name)) integer(q.get(name), name, 1, max);
  }

  /** The JSON type a query parameter has in the querystring schema (an array field: its items'). */
  private paramType(key: string): string {
    if (key === '_l' || key === '_sk') return 'integer';
    if (key === '_useEstimate') return 'boolean';
    const type = typeOf(this.spec.fields, key);
    const scalar = type === 'array' ? typeOf(this.spec.fields, `${key}.__items`) : type;
    return scalar === 'number' || scalar === 'boolean' ? scalar : 'string';
  }

  private assertUnique(doc: Doc, except?: string): void {
    for (const field of this.spec.unique ?? []) {
      if (doc[field] === undefined) continue;
      if (this.docs.some((other) => other._id !== except && other[field] === doc[field])) {
        throw new HttpError(409, 'duplicate key', {
          statusCode: 409,
          error: 'Conflict',
          message: `E11000 duplicate key error collection: crud${this.spec.path.replace(/\//g, '.')} index: ${field}_1 dup key: { ${field}: ${JSON.stringify(doc[field])} }`,
        });
      }
    }
  }
}

/** The CRUD's query parser (traverse): `Unknown operator` where a field stands, `Unsupported operator` in a field's condition. */
function assertOperators(value: unknown, filter = true): void {
  if (Array.isArray(value)) return value.forEach((item) => assertOperators(item, filter));
  if (!isObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    if (key.startsWith('$') && !OPERATORS.has(key)) throw new CrudError(`${filter ? 'Unknown' : 'Unsupported'} operator: ${key}`);
    // $text takes its own options ($search, $language…).
    if (key !== '$text') assertOperators(inner, key === '$and' || key === '$or' || key === '$nor');
  }
}

/**
 * MongoDB compiles each `$regex` with PCRE when the query runs and fails the query when it cannot
 * ("Regular expression is invalid: …", "invalid flag in regex options: …"): the CRUD's 500, with
 * MongoDB's text. JavaScript's RegExp stands in for PCRE (both take lookaround and backreferences).
 */
function assertRegexes(value: unknown): void {
  if (Array.isArray(value)) return value.forEach(assertRegexes);
  if (!isObject(value)) return;
  if (typeof value.$regex === 'string') {
    const options = typeof value.$options === 'string' ? value.$options : '';
    const refused = [...options].find((flag) => !'imxsu'.includes(flag));
    if (refused) throw new MongoQueryError(`invalid flag in regex options: ${refused}`);
    try {
      new RegExp(value.$regex, options.replace(/[xu]/g, ''));
    } catch (error) {
      throw new MongoQueryError(`Regular expression is invalid: ${(error as Error).message.replace(/^.*: /, '')}`);
    }
  }
  for (const [key, inner] of Object.entries(value)) if (key !== '$text') assertRegexes(inner);
}

/** A `$text` anywhere but at the top of the query or of its `$and` (where textSearch answers it). */
function hasNestedText(query: Record<string, unknown>): boolean {
  const rest = withoutText(query);
  const found = (value: unknown): boolean =>
    Array.isArray(value)
      ? value.some(found)
      : isObject(value) && Object.entries(value).some(([key, inner]) => key === '$text' || found(inner));
  return found(rest);
}

/**
 * The CRUD's query parser on `$text` inside a `$or` (traverseTextSearchQuery): every clause of the
 * `$or` must name indexed fields only, as MongoDB requires; `$text` in a `$nor` is refused.
 */
function assertTextInOr(query: Record<string, unknown>, indexes: string[]): void {
  for (const [key, value] of Object.entries(query)) {
    if (key === '$nor' && Array.isArray(value) && value.some((clause) => isObject(clause) && hasNestedText({ $or: [clause] })))
      throw new CrudError('$text can not appear in a $nor expression');
    if (key === '$or' && Array.isArray(value)) {
      for (const clause of value.filter(isObject)) {
        for (const field of Object.keys(clause)) {
          if (!field.startsWith('$') && !indexes.includes(field))
            throw new CrudError('To use a $text query in an $or expression, all clauses in the $or array must be indexed');
        }
        assertTextInOr(clause, indexes);
      }
    } else if (key.startsWith('$') && Array.isArray(value)) value.filter(isObject).forEach((clause) => assertTextInOr(clause, indexes));
  }
}

/** The query without its `$text` conditions (answered by textSearch). */
function withoutText(query: Record<string, unknown>): Record<string, unknown> {
  const { $text: _text, ...rest } = query;
  if (Array.isArray(rest.$and)) rest.$and = rest.$and.filter((part) => !(isObject(part) && part.$text));
  if (Array.isArray(rest.$and) && rest.$and.length === 0) delete rest.$and;
  return rest;
}

function streamed<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw error instanceof MongoQueryError ? new StreamDestroyed() : error;
  }
}

function aclRows(headers: IncomingMessage['headers']): Record<string, unknown>[] {
  const raw = headers.acl_rows;
  if (typeof raw !== 'string') return [];
  const rows = JSON.parse(raw) as unknown;
  if (isObject(rows)) return [rows];
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
}

function integer(raw: string | null, name: string, min: number, max?: number): number | undefined {
  if (raw === null) return undefined;
  // ajv's coercion of a string (`data && data == +data`), then an integer.
  const value = raw === '' ? NaN : Number(raw);
  if (!Number.isInteger(value)) throw new HttpError(400, `querystring/${name} must be integer`);
  if (value < min) throw new HttpError(400, `querystring/${name} must be >= ${min}`);
  if (max !== undefined && value > max) throw new HttpError(400, `querystring/${name} must be <= ${max}`);
  return value;
}

function notFound(): never {
  throw new HttpError(404, 'not found', { error: 'not found' });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectId(): string {
  return (
    Math.floor(Date.now() / 1000)
      .toString(16)
      .padStart(8, '0') + randomBytes(8).toString('hex')
  );
}

function reason(status: number): string {
  return (
    { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 415: 'Unsupported Media Type', 500: 'Internal Server Error' }[status] ??
    'Error'
  );
}

/** A multipart body as `POST /import` reads it: its file parts (with the type each part declared), read as text. */
export class MultipartBody {
  constructor(readonly files: { field: string; filename: string; type: string; text: string }[]) {}
}

/** JSON, or the parts of a multipart body for `POST /import`. */
async function parseBody(raw: string, contentType: string | undefined): Promise<unknown> {
  if (contentType?.startsWith('multipart/form-data')) {
    const parts = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const files: MultipartBody['files'] = [];
    for (const [field, value] of parts)
      if (typeof value !== 'string') files.push({ field, filename: value.name, type: value.type, text: await value.text() });
    return new MultipartBody(files);
  }
  return raw ? JSON.parse(raw) : undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}
