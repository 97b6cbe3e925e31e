import { z } from 'zod';
import type { IdentityChanges, IdentityProvider, IdentityUser, NewIdentityUser } from '../ports.js';
import { ConflictError, InvalidInputError, NotFoundError, UpstreamError } from '../../errors.js';
import type { UpstreamCall, UpstreamReply } from '../http.js';
import type { Auth0Api } from './api.js';

/** Only what an identity is made of (`toIdentity`): search pages of full profiles are several times larger. */
const USER_FIELDS = {
  fields: 'user_id,email,username,email_verified,blocked,created_at,updated_at,last_login,logins_count',
  include_fields: 'true',
};
const ErrorBody = z.looseObject({ message: z.string().optional() });

/** Ids per search: keeps the query string well under URI limits, and under per_page = 100. */
export const IDS_PER_SEARCH = 50;

/** Users through the Auth0 Management API, in one database connection. */
export function createAuth0IdentityProvider(api: Auth0Api, connection: string): IdentityProvider {
  async function call(call: UpstreamCall, ok: number[]): Promise<UpstreamReply> {
    const reply = await api.management(call);
    if (ok.includes(reply.status)) return reply;
    const message = ErrorBody.safeParse(reply.body).data?.message;
    if (reply.status === 409) throw new ConflictError(message ?? 'The user already exists.');
    if (reply.status === 400) throw new InvalidInputError(`Auth0: ${message ?? 'bad request'}`);
    throw new UpstreamError('Auth0', `${call.method} ${call.route ?? call.path}`, reply.status);
  }

  /**
   * One search for up to 50 ids (`user_id:("a" OR "b" …)`, per_page 100). Auth0 documents no URI
   * maximum, only its 414: a chunk it finds too long is searched again in halves.
   */
  async function search(chunk: string[]): Promise<IdentityUser[]> {
    const q = `user_id:(${chunk.map((id) => JSON.stringify(id)).join(' OR ')})`;
    const reply = await call(
      { method: 'GET', path: '/api/v2/users', query: { q, search_engine: 'v3', per_page: '100', ...USER_FIELDS } },
      chunk.length > 1 ? [200, 414] : [200],
    );
    if (reply.status === 414) {
      const half = Math.ceil(chunk.length / 2);
      return (await Promise.all([search(chunk.slice(0, half)), search(chunk.slice(half))])).flat();
    }
    const users = toIdentities(reply.body);
    if (!users)
      throw new UpstreamError('Auth0', 'GET /api/v2/users', 200, { message: 'Auth0 GET /api/v2/users answered an unexpected body' });
    return users;
  }

  async function getOne(id: string): Promise<IdentityUser | undefined> {
    const reply = await call(
      { method: 'GET', path: `/api/v2/users/${encodeURIComponent(id)}`, route: '/api/v2/users/:id', query: USER_FIELDS },
      [200, 404],
    );
    return reply.status === 404 ? undefined : parseUser(reply.body);
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
        if (!user.username || !(error instanceof InvalidInputError) || !/username/i.test(error.message)) throw error;
        const { username, ...rest } = body;
        const reply = await call({ method: 'POST', path: '/api/v2/users', body: { ...rest, nickname: username } }, [201, 200]);
        return { ...parseUser(reply.body), username };
      }
    },

    /** The searches of all chunks at once; ids the eventually consistent search misses are read one by one. */
    async getUsers(ids: readonly string[]) {
      const unique = [...new Set(ids)];
      const pages = await Promise.all(chunksOf(unique, IDS_PER_SEARCH).map(search));
      const found = new Map<string, IdentityUser>();
      for (const page of pages) for (const user of page) found.set(user.id, user);
      const missing = unique.filter((id) => !found.has(id));
      if (missing.length > 0) {
        const fallbacks = await Promise.all(missing.map(getOne));
        missing.forEach((id, index) => {
          const user = fallbacks[index];
          if (user) found.set(id, user);
        });
      }
      return ids.map((id) => found.get(id));
    },

    async updateUser(id: string, changes: IdentityChanges) {
      // Auth0 needs the connection to change an e-mail or a username.
      const body = { ...changes, ...(changes.email !== undefined || changes.username !== undefined ? { connection } : {}) };
      const reply = await call(
        { method: 'PATCH', path: `/api/v2/users/${encodeURIComponent(id)}`, route: '/api/v2/users/:id', body },
        [200, 404],
      );
      if (reply.status === 404) throw new NotFoundError(`identity user ${id} not found`);
      return parseUser(reply.body);
    },

    async deleteUser(id: string) {
      const reply = await call(
        { method: 'DELETE', path: `/api/v2/users/${encodeURIComponent(id)}`, route: '/api/v2/users/:id' },
        [204, 200, 404],
      );
      return reply.status !== 404;
    },
  };
}

/** `items` cut into consecutive runs of at most `size`. */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));
}

function parseUser(body: unknown): IdentityUser {
  const user = toIdentity(body);
  if (!user) throw new UpstreamError('Auth0', 'users', 200, { message: 'Auth0 answered a user without user_id' });
  return user;
}

/**
 * An Auth0 user object as an identity, or undefined when it is not one (no `user_id`). Checked
 * field by field rather than with zod: an identity page reads 100 of them, and zod took about as
 * long over them as JSON.parse.
 */
export function toIdentity(body: unknown): IdentityUser | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const user = body as Record<string, unknown>;
  if (typeof user.user_id !== 'string') return undefined;
  return {
    id: user.user_id,
    username: text(user.username),
    email: text(user.email),
    blocked: user.blocked === true,
    emailVerified: user.email_verified === true,
    createdAt: text(user.created_at) ?? new Date().toISOString(),
    updatedAt: text(user.updated_at) ?? new Date().toISOString(),
    lastLogin: text(user.last_login),
    loginsCount: typeof user.logins_count === 'number' ? user.logins_count : 0,
  };
}

/** A list of Auth0 user objects (a search page) as identities, or undefined when one is not a user. */
export function toIdentities(body: unknown): IdentityUser[] | undefined {
  if (!Array.isArray(body)) return undefined;
  const users: IdentityUser[] = [];
  for (const item of body) {
    const user = toIdentity(item);
    if (!user) return undefined;
    users.push(user);
  }
  return users;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
