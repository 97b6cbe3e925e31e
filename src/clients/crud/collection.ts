import { FormData } from 'undici';
import { z } from 'zod';
import type { State } from '../../crud/states.js';
import { ConflictError, type DomainError, InvalidInputError, NotFoundError, TransitionError, UpstreamError } from '../../errors.js';
import { callUpstream, type UpstreamCall, type UpstreamOptions, type UpstreamReply, unexpectedStatus } from '../http.js';
import { JsonText } from '../../domain/json-text.js';
import { pathSegment } from '../path-segment.js';
import { TextIndexCheck } from './text-index.js';
import { shownId } from '../../domain/input-limits.js';

const Doc = z.looseObject({ _id: z.string() });
/**
 * A page as the CRUD answers it: checked shallowly (an array of objects with an `_id`), since the
 * proxy paths return it as is and a deep parse of 200 documents would cost more than the call.
 */
const Docs = z.custom<CrudDoc[]>(
  (value) => Array.isArray(value) && value.every((doc) => typeof doc === 'object' && doc !== null && typeof doc._id === 'string'),
);
const Created = z.looseObject({ _id: z.string() });
const Count = z.number().int().min(0);
const ErrorBody = z.looseObject({ message: z.string().optional(), error: z.string().optional() });

export type CrudDoc = z.infer<typeof Doc>;

/**
 * One collection of the Mia-Platform CRUD Service (`USERS_CRUD_ENDPOINT`, …), spoken exactly as
 * the CRUD expects: `_st` on every by-id call (its default is PUBLIC), `{"error":"not found"}` 404s,
 * 409 (422 before v7) for duplicates, 400 for refused transitions.
 */
export class CrudCollection {
  constructor(
    private readonly upstream: UpstreamOptions,
    /** e.g. `/users`. */
    readonly path: string,
  ) {
    this.textIndex = new TextIndexCheck(upstream, path);
  }

  /** A `$text` search on a collection without a text index is the caller's 400, unsent. */
  private readonly textIndex: TextIndexCheck;

  /** False once the upstream answered that it serves no `POST /import` (`importMany`). */
  private servesImport = true;

  /** `GET /`: the query passed on unchanged (a raw query string) or built from an object. */
  async list(query: string | Record<string, string | undefined>, headers: Record<string, string>): Promise<CrudDoc[]> {
    const call: UpstreamCall = { method: 'GET', path: `${this.path}/`, query, headers };
    return this.parse(call, await this.expect(call, [200]), Docs);
  }

  /**
   * `GET /` or `GET /count` answered as the CRUD's own JSON text (its errors still mapped), checked
   * only for its kind: an array for the list, a number for the count.
   */
  async passThrough(route: '/' | '/count', query: string, headers: Record<string, string>): Promise<JsonText> {
    const call: UpstreamCall = { method: 'GET', path: `${this.path}${route}`, query, headers, rawReply: true };
    const reply = await this.expect(call, [200]);
    const text = typeof reply.body === 'string' ? reply.body : '';
    if (!(route === '/' ? /^\s*\[/ : /^\s*\d+\s*$/).test(text)) {
      throw new UpstreamError(this.upstream.name, `GET ${this.path}${route}`, reply.status, {
        message: `${this.upstream.name} GET ${this.path}${route} answered an unexpected body`,
      });
    }
    return new JsonText(text);
  }

  async count(query: string | Record<string, string | undefined>, headers: Record<string, string>): Promise<number> {
    const call: UpstreamCall = { method: 'GET', path: `${this.path}/count`, query, headers };
    return this.parse(call, await this.expect(call, [200]), Count);
  }

  async get(id: string, states: readonly State[], headers: Record<string, string>, filter?: string): Promise<CrudDoc | undefined> {
    const call = this.byId('GET', id, { query: byIdQuery(states, filter), headers });
    const reply = call && (await this.expect(call, [200, 404]));
    return !call || !reply || reply.status === 404 ? undefined : this.parse(call, reply, Doc);
  }

  async create(doc: Record<string, unknown>, headers: Record<string, string>): Promise<string> {
    const call: UpstreamCall = { method: 'POST', path: `${this.path}/`, body: doc, headers };
    return this.parse(call, await this.expect(call, [200, 201]), Created)._id;
  }

  /**
   * `POST /import` with the documents as a JSON file: the one insert whose schema takes an `_id`
   * (`POST /` and `POST /bulk` refuse it as an additional property). Ordered, as `POST /bulk`: a
   * duplicate is a ConflictError (409), and the documents before it stay inserted. 201.
   *
   * A stand-in of the CRUD that serves no `POST /import` (404 or 405) is remembered, and from then
   * on given the documents with their `_id` in `POST /` (one) or the ordered `POST /bulk` (several),
   * which such a stand-in takes; the CRUD Service itself always serves the route. A 400 there
   * (which inserted nothing) may be the CRUD refusing the `_id`: the 404 was a passing one (a
   * gateway mid-deploy), so `POST /import` is asked again, once, rather than every insert failing
   * until a restart.
   */
  async importMany(docs: Record<string, unknown>[], headers: Record<string, string>): Promise<void> {
    if (this.servesImport && (await this.importFile(docs, headers))) return;
    try {
      if (docs.length === 1) await this.create(docs[0]!, headers);
      else await this.expect({ method: 'POST', path: `${this.path}/bulk`, body: docs, headers }, [200, 201]);
    } catch (error) {
      if (!(error instanceof InvalidInputError) || !(await this.importFile(docs, headers))) throw error;
    }
  }

  /** `POST /import`; false (and remembered) when the upstream serves no such route. */
  private async importFile(docs: Record<string, unknown>[], headers: Record<string, string>): Promise<boolean> {
    const form = new FormData();
    form.append('file', new Blob([JSON.stringify(docs)], { type: 'application/json' }), 'documents.json');
    const reply = await this.expect({ method: 'POST', path: `${this.path}/import`, rawBody: form, headers }, [201, 200, 404, 405]);
    this.servesImport = reply.status !== 404 && reply.status !== 405;
    return this.servesImport;
  }

  /** `GET /schema` as answered, whatever its status (declared-fields.ts reads it). */
  async schema(): Promise<UpstreamReply> {
    return callUpstream(this.upstream, { method: 'GET', path: `${this.path}/schema` });
  }

  /** `PATCH /bulk`: each item updates the one document its filter matches; answers how many were. */
  async patchMany(items: { filter: Record<string, unknown>; update: unknown }[], headers: Record<string, string>): Promise<number> {
    const call = { method: 'PATCH' as const, path: `${this.path}/bulk`, body: items, headers };
    return this.parse(call, await this.expect(call, [200]), z.number());
  }

  /**
   * `PATCH /:id`; with `filter` the update applies only while the document matches it: a filter
   * object (sent as `_q`), or the caller's query string (`_q`, `field=value`) passed on as it came.
   */
  async patch(
    id: string,
    update: unknown,
    states: readonly State[],
    headers: Record<string, string>,
    filter?: string | Record<string, unknown>,
  ): Promise<CrudDoc | undefined> {
    const call = this.byId('PATCH', id, { query: byIdQuery(states, filter), body: update, headers });
    const reply = call && (await this.expect(call, [200, 404]));
    return !call || !reply || reply.status === 404 ? undefined : this.parse(call, reply, Doc);
  }

  /** `PATCH /`: every document that matches `filter` (as `_q`) in those states; answers how many were updated. */
  async patchWhere(filter: Record<string, unknown>, update: unknown, states: readonly State[]): Promise<number> {
    const call: UpstreamCall = {
      method: 'PATCH',
      path: `${this.path}/`,
      query: { _q: JSON.stringify(filter), _st: states.join(',') },
      body: update,
    };
    return this.parse(call, await this.expect(call, [200]), Count);
  }

  /** `DELETE /`: every document that matches `filter` (as `_q`) in those states; answers how many were deleted. */
  async deleteWhere(filter: Record<string, unknown>, states: readonly State[]): Promise<number> {
    const call: UpstreamCall = { method: 'DELETE', path: `${this.path}/`, query: { _q: JSON.stringify(filter), _st: states.join(',') } };
    return this.parse(call, await this.expect(call, [200]), Count);
  }

  async delete(id: string, states: readonly State[], headers: Record<string, string>, filter?: string): Promise<boolean> {
    const call = this.byId('DELETE', id, { query: byIdQuery(states, filter), headers });
    return call !== undefined && (await this.expect(call, [204, 200, 404])).status !== 404;
  }

  /** `POST /:id/state` (204); NotFoundError, or the CRUD's 400 for a refused transition. */
  async setState(id: string, stateTo: State, headers: Record<string, string>): Promise<void> {
    const segment = pathSegment(id);
    const call: UpstreamCall = {
      method: 'POST',
      path: `${this.path}/${segment}/state`,
      route: `${this.path}/:id/state`,
      body: { stateTo },
      headers,
    };
    const reply = segment === undefined ? undefined : await this.expect(call, [204, 200, 404]);
    if (!reply || reply.status === 404) throw new NotFoundError(`user ${shownId(id)} not found`);
  }

  /**
   * A call to `/:id`; undefined for an id no path segment carries (empty, `.`, `..`, a lone
   * surrogate): `/users/` is the CRUD's list, and its PATCH the update of every matching document.
   */
  private byId(method: UpstreamCall['method'], id: string, rest: Partial<UpstreamCall>): UpstreamCall | undefined {
    const segment = pathSegment(id);
    return segment === undefined ? undefined : { method, path: `${this.path}/${segment}`, route: `${this.path}/:id`, ...rest };
  }

  /** Calls and maps the CRUD's errors; any status not in `ok` and not a known error is an UpstreamError. */
  private async expect(call: UpstreamCall, ok: number[]): Promise<UpstreamReply> {
    const textCheck = this.textIndex.assertUsable(call);
    if (textCheck) await textCheck;
    const reply = await callUpstream(this.upstream, call);
    if (ok.includes(reply.status)) return reply;
    const message = ErrorBody.safeParse(reply.body).data?.message;
    if (reply.status === 400) return Promise.reject(crudBadRequest(message));
    if (reply.status === 409 || reply.status === 422) return Promise.reject(duplicateKey(message));
    return Promise.reject(unexpectedStatus(this.upstream, call, reply));
  }

  private parse<T extends z.ZodType>(call: UpstreamCall, reply: UpstreamReply, schema: T): z.infer<T> {
    const result = schema.safeParse(reply.body);
    if (result.success) return result.data;
    throw new UpstreamError(this.upstream.name, `${call.method} ${call.route ?? call.path}`, reply.status, {
      message: `${this.upstream.name} ${call.method} ${call.route ?? call.path} answered an unexpected body`,
    });
  }
}

/** A by-id call's query: `_st`, and the caller's own conditions passed on as they came (the CRUD casts them). */
function byIdQuery(states: readonly State[], filter: string | Record<string, unknown> | undefined): string {
  const params = new URLSearchParams(typeof filter === 'string' ? filter : '');
  if (typeof filter === 'object') params.set('_q', JSON.stringify(filter));
  params.set('_st', states.join(','));
  return params.toString();
}

/**
 * A duplicate named in the service's own words: MongoDB's text (`E11000 duplicate key error
 * collection: … index: username_1 dup key: { … }`) names the database and the clashing value.
 */
function duplicateKey(message: string | undefined): ConflictError {
  const field = message && /index: ([A-Za-z0-9]+)_1\b/.exec(message)?.[1];
  return new ConflictError(`A document with the same ${field || 'key'} already exists`);
}

/** The CRUD's 400s: a refused state transition keeps its own code, the rest are invalid input. */
function crudBadRequest(message: string | undefined): DomainError {
  const transition = message && /^transition from (\w+) to (\w+) not allowed/.exec(message);
  if (transition) return new TransitionError(transition[1]!, transition[2]!);
  return new InvalidInputError(message ?? 'The CRUD Service refused the request');
}
