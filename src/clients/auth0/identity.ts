import type { IdentityChanges, IdentityField, IdentityProvider, IdentityUser, NewIdentityUser } from '../../ports/identity-provider.js';
import { ConflictError, NotFoundError, UpstreamError } from '../../errors.js';
import { IdentityRefusedError, identityRefusal, type RefusalLog } from '../identity-refusal.js';
import type { UpstreamCall, UpstreamReply } from '../http.js';
import type { Auth0Api } from './api.js';
import { identitySegment } from '../path-segment.js';
import { namesNoIdentity, shownId } from '../../domain/input-limits.js';
import { inIdOrder, pick } from '../records.js';

/** Auth0's name of each identity field (`toIdentity` reads them). */
const AUTH0_NAMES: Record<IdentityField, string> = {
  username: 'username',
  email: 'email',
  blocked: 'blocked',
  emailVerified: 'email_verified',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  lastLogin: 'last_login',
  loginsCount: 'logins_count',
};

const ALL_FIELDS = ['user_id', ...Object.values(AUTH0_NAMES)].join(',');

/**
 * The Auth0 fields to ask for: only what an identity is made of (search pages of full profiles
 * are several times larger), or only the fields the caller reads. 100 users with two fields are a
 * third of the bytes of all nine, and about 0.06 ms less to fetch and parse.
 */
function auth0Fields(fields: readonly IdentityField[] | undefined): string {
  return fields ? ['user_id', ...fields.map((field) => AUTH0_NAMES[field])].join(',') : ALL_FIELDS;
}

/** An Auth0 user object, with the fields a read asked for. */
export type Auth0Record = Record<string, unknown> & { user_id: string };

/**
 * Ids per search: a page of 100 in one search (per_page ≤ 100), a query string of about 5 KB.
 * Auth0 documents no URI maximum, only its 414; after one, searches use the size that passed.
 */
export const IDS_PER_SEARCH = 100;
/** The most users Auth0 answers for a search without `page`. */
const UNPAGED_MAX = 50;

/**
 * Users through the Auth0 Management API, in one database connection. A 400 is the caller's in the
 * service's words; Auth0's own text goes to `log`.
 */
export function createAuth0IdentityProvider(api: Auth0Api, connection: string, log?: RefusalLog): IdentityProvider {
  async function call(call: UpstreamCall, ok: number[]): Promise<UpstreamReply> {
    const reply = await api.management(call);
    if (ok.includes(reply.status)) return reply;
    const label = `${call.method} ${call.route ?? call.path}`;
    if (reply.status === 409) throw new ConflictError('The user already exists.');
    if (reply.status === 400) throw identityRefusal({ upstream: 'Auth0', call: label, body: reply.body, log });
    throw new UpstreamError('Auth0', label, reply.status);
  }

  /** Lowered to the size that passed after a 414, for the life of the process. */
  let idsPerSearch = IDS_PER_SEARCH;

  /**
   * One search for up to `idsPerSearch` ids (`user_id:("a" OR "b" …)`, page 0 of per_page 100:
   * without `page`, Auth0 answers at most 50). A chunk Auth0 finds too long (414) is searched
   * again in halves.
   */
  async function search(chunk: string[], fields: string): Promise<Auth0Record[]> {
    const reply = await call(
      {
        method: 'GET',
        path: '/api/v2/users',
        query: `q=${userIdQuery(chunk)}&search_engine=v3&page=0&per_page=100&fields=${encodeURIComponent(fields)}&include_fields=true`,
      },
      chunk.length > 1 ? [200, 414] : [200],
    );
    if (reply.status === 414) {
      const half = Math.ceil(chunk.length / 2);
      idsPerSearch = Math.min(idsPerSearch, half);
      return (await Promise.all([search(chunk.slice(0, half), fields), search(chunk.slice(half), fields)])).flat();
    }
    if (!Array.isArray(reply.body) || !reply.body.every(isAuth0Record))
      throw new UpstreamError('Auth0', 'GET /api/v2/users', 200, { message: 'Auth0 GET /api/v2/users answered an unexpected body' });
    const users: Auth0Record[] = reply.body;
    // Exactly 50 of more ids looks like a page capped at 50 (what Auth0 does without `page`): the
    // rest of the chunk is searched again, rather than read one by one.
    if (chunk.length > UNPAGED_MAX && users.length === UNPAGED_MAX) {
      const seen = new Set(users.map((user) => user.user_id));
      return [
        ...users,
        ...(await search(
          chunk.filter((id) => !seen.has(id)),
          fields,
        )),
      ];
    }
    return users;
  }

  async function getOne(id: string, fields: string): Promise<Auth0Record | undefined> {
    const segment = identitySegment(id);
    if (segment === undefined) return undefined;
    const reply = await call(
      {
        method: 'GET',
        path: `/api/v2/users/${segment}`,
        route: '/api/v2/users/:id',
        query: { fields, include_fields: 'true' },
      },
      [200, 404],
    );
    return reply.status === 404 ? undefined : asRecord(reply.body);
  }

  /**
   * The searches of all chunks at once; ids the eventually consistent search misses are read one by
   * one. An id longer than any identity's is not searched (its query passed Auth0's request head):
   * it is not found.
   */
  async function findUsers(ids: readonly string[], fields: string): Promise<Map<string, Auth0Record>> {
    const unique = [...new Set(ids)].filter((id) => !namesNoIdentity(id));
    const pages = await Promise.all(chunksOf(unique, idsPerSearch).map((chunk) => search(chunk, fields)));
    const found = new Map<string, Auth0Record>();
    for (const page of pages) for (const user of page) found.set(user.user_id, user);
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length > 0) {
      const fallbacks = await Promise.all(missing.map((id) => getOne(id, fields)));
      for (const user of fallbacks) if (user) found.set(user.user_id, user);
    }
    return found;
  }

  return {
    async createUser(user: NewIdentityUser) {
      const body = {
        connection,
        email: user.email,
        username: user.username,
        password: user.password,
        blocked: user.blocked ?? false,
        verify_email: false,
      };
      try {
        return parseUser((await call({ method: 'POST', path: '/api/v2/users', body }, [201, 200])).body);
      } catch (error) {
        // A connection that does not require usernames refuses one: keep it as the nickname instead.
        if (!user.username || !(error instanceof IdentityRefusedError) || error.refused !== 'username') throw error;
        const { username, ...rest } = body;
        const reply = await call({ method: 'POST', path: '/api/v2/users', body: { ...rest, nickname: username } }, [201, 200]);
        return { ...parseUser(reply.body), username };
      }
    },

    async getUsers(ids: readonly string[], fields?: readonly IdentityField[]) {
      const found = await findUsers(ids, auth0Fields(fields));
      return inIdOrder(ids, found, toIdentity);
    },

    /** Any Auth0 property, as Auth0 has it (CONFIGURATION_PATH): `user_metadata`, `last_ip`, `picture`… */
    async getProperties(ids: readonly string[], names: readonly string[]) {
      const found = await findUsers(ids, [...new Set(['user_id', ...names])].join(','));
      return inIdOrder(ids, found, (user) => pick(user, names));
    },

    async updateUser(id: string, changes: IdentityChanges) {
      // Auth0 needs the connection to change an e-mail or a username.
      const body = { ...changes, ...(changes.email !== undefined || changes.username !== undefined ? { connection } : {}) };
      const segment = identitySegment(id);
      const reply =
        segment === undefined
          ? undefined
          : await call({ method: 'PATCH', path: `/api/v2/users/${segment}`, route: '/api/v2/users/:id', body }, [200, 404]);
      if (!reply || reply.status === 404) throw new NotFoundError(`identity user ${shownId(id)} not found`);
      return parseUser(reply.body);
    },

    async deleteUser(id: string) {
      const segment = identitySegment(id);
      if (segment === undefined) return false;
      const reply = await call({ method: 'DELETE', path: `/api/v2/users/${segment}`, route: '/api/v2/users/:id' }, [204, 200, 404]);
      return reply.status !== 404;
    },
  };
}

/** `items` cut into consecutive runs of at most `size`. */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));
}

function asRecord(body: unknown): Auth0Record {
  if (!isAuth0Record(body)) throw new UpstreamError('Auth0', 'users', 200, { message: 'Auth0 answered a user without user_id' });
  return body;
}

function parseUser(body: unknown): IdentityUser {
  return toIdentity(asRecord(body));
}

/** Whether `value` is an Auth0 user object: an object with a string `user_id`. */
export function isAuth0Record(value: unknown): value is Auth0Record {
  return typeof value === 'object' && value !== null && typeof (value as { user_id?: unknown }).user_id === 'string';
}

/** An Auth0 id of the usual `provider|id` shape, with nothing else to percent-encode but the bar. */
const PLAIN_ID = /^[\w.~-]+\|[\w.~-]+$/;

/**
 * `user_id:("a" OR "b" …)`, percent-encoded for the query string. Each id is a Lucene phrase
 * (quoted, `"` and `\` escaped as JSON does). The usual ids are encoded by hand: encodeURIComponent
 * over the 5 KB of a page's query was the largest part of building the search (about 13 µs of 23).
 */
export function userIdQuery(ids: readonly string[]): string {
  const phrases = ids.map((id) => (PLAIN_ID.test(id) ? `%22${id.replace('|', '%7C')}%22` : encodeURIComponent(JSON.stringify(id))));
  return `user_id%3A(${phrases.join('%20OR%20')})`;
}

/** The date of a user object that has none (a read narrowed to other fields). */
const NO_DATE = new Date(0).toISOString();

/**
 * An Auth0 user object as an identity, field by field: a field that is missing or of the wrong
 * type is left out (or false, 0, the epoch). Checked by hand rather than with zod: an identity
 * page reads 100 of them, and zod took about as long over them as JSON.parse.
 */
export function toIdentity(user: Auth0Record): IdentityUser {
  return {
    id: user.user_id,
    username: text(user.username),
    email: text(user.email),
    blocked: user.blocked === true,
    emailVerified: user.email_verified === true,
    createdAt: text(user.created_at) ?? NO_DATE,
    updatedAt: text(user.updated_at) ?? NO_DATE,
    lastLogin: text(user.last_login),
    loginsCount: typeof user.logins_count === 'number' ? user.logins_count : 0,
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
