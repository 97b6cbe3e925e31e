import type { Authenticator } from '../../ports/authenticator.js';
import type { IdentityImporter } from '../../ports/identity-importer.js';
import type { IdentityChanges, IdentityProvider, IdentityUser, NewIdentityUser } from '../../ports/identity-provider.js';
import { ConflictError, NotFoundError, UpstreamError } from '../../errors.js';
import { identityRefusal, type RefusalLog } from '../identity-refusal.js';
import { rateLimited } from '../rate-limit.js';
import { type BearerDenials, createAuth0ClientAuthenticator } from './authenticator.js';
import { callUpstream, type UpstreamCall, type UpstreamOptions, type UpstreamReply } from '../http.js';
import { type Auth0Record, chunksOf, isAuth0Record, toIdentity } from '../auth0/identity.js';
import { inIdOrder, pick } from '../records.js';
import { identitySegment } from '../path-segment.js';
import { namesNoIdentity, shownId } from '../../domain/input-limits.js';
import { findImportedIdentities, importPayload, MAX_IMPORT_USERS, parseImportErrors, parseImportJob } from '../auth0/importer.js';

/**
 * Mia-Platform's auth0-client, as the original service uses it (AUTH_MODULE=auth0Client). Where its
 * API is not documented, the choices live here and in docs/decisions.md:
 * - change password: `POST /change-password {user_id}`;
 * - batched reads: `GET /users?user_id=<id,id,…>&_l=100`;
 * - `/userinfo`: Auth0's claims, the user id under CUSTOM_USER_ID_KEY (default `sub`);
 * - imports: `POST /users/import` with JSON `{users, connection, upsert, send_completion_email}`
 *   (Auth0's users-imports fields, the connection by name), answering Auth0's job; the status and
 *   errors routes answer Auth0's job and errors as they are.
 */
export const AUTH0_CLIENT_PATHS = {
  changePassword: '/change-password',
  users: '/users',
  userinfo: '/userinfo',
  imports: '/users/import',
  importStatus: '/users/import/status',
} as const;

const IDS_PER_CALL = 50;

export interface Auth0ClientOptions {
  upstream: UpstreamOptions;
  connection: string;
  userIdKey: string;
  /** Where a bearer logout denies its token; none where the replicas could not share it. */
  denials?: BearerDenials;
  /** Where its 400s' own words go (never into an answer). */
  log?: RefusalLog;
}

export function createAuth0ClientAdapters(options: Auth0ClientOptions): {
  identity: IdentityProvider;
  auth: Authenticator;
  importer: IdentityImporter;
} {
  const { upstream, connection } = options;

  async function call(request: UpstreamCall, ok: number[]): Promise<UpstreamReply> {
    const reply = await callUpstream(upstream, request);
    if (ok.includes(reply.status)) return reply;
    const label = `${request.method} ${request.route ?? request.path}`;
    if (reply.status === 409) throw new ConflictError('The user already exists.');
    // Auth0's rate limits passed on (a reset e-mail's is per user and e-mail): the caller's 429.
    if (reply.status === 429) throw rateLimited(reply, 'Too many requests at the identity provider: try again later');
    // Its own text (or Auth0's, passed on) goes to the log; the caller gets the service's words.
    if (reply.status === 400) throw identityRefusal({ upstream: 'auth0-client', call: label, body: reply.body, log: options.log });
    throw new UpstreamError('auth0-client', label, reply.status);
  }

  /** Chunks of 50 ids, read at once; an id longer than any identity's is not asked for (not found). */
  async function findUsers(ids: readonly string[]): Promise<Map<string, Auth0Record>> {
    const pages = await Promise.all(
      chunksOf(
        [...new Set(ids)].filter((id) => !namesNoIdentity(id)),
        IDS_PER_CALL,
      ).map(async (chunk) => {
        const reply = await call({ method: 'GET', path: AUTH0_CLIENT_PATHS.users, query: { user_id: chunk.join(','), _l: '100' } }, [200]);
        if (!Array.isArray(reply.body) || !reply.body.every(isAuth0Record)) {
          const label = `GET ${AUTH0_CLIENT_PATHS.users}`;
          throw new UpstreamError('auth0-client', label, 200, { message: `auth0-client ${label} answered an unexpected body` });
        }
        return reply.body;
      }),
    );
    return new Map(pages.flat().map((user) => [user.user_id, user]));
  }

  const asUser = (body: unknown): IdentityUser => {
    if (!isAuth0Record(body))
      throw new UpstreamError('auth0-client', 'users', 200, { message: 'auth0-client answered a user without user_id' });
    return toIdentity(body);
  };
  /** Undefined for an id no path segment can carry (`.`, `..`, longer than any identity's): it names no user. */
  const userPath = (id: string) => {
    const segment = identitySegment(id);
    return segment === undefined ? undefined : { path: `/users/${segment}`, route: '/users/:id' };
  };

  const identity: IdentityProvider = {
    async createUser(user: NewIdentityUser) {
      const body = { connection, email: user.email, username: user.username, password: user.password, blocked: user.blocked ?? false };
      return asUser((await call({ method: 'POST', path: '/users', body }, [200, 201])).body);
    },
    async getUsers(ids) {
      const found = await findUsers(ids);
      return inIdOrder(ids, found, toIdentity);
    },
    /** Its users are Auth0's user objects: any property, as Auth0 has it (CONFIGURATION_PATH). */
    async getProperties(ids, names) {
      const found = await findUsers(ids);
      return inIdOrder(ids, found, (user) => pick(user, names));
    },
    async updateUser(id: string, changes: IdentityChanges) {
      const body = { ...changes, ...(changes.email !== undefined || changes.username !== undefined ? { connection } : {}) };
      // Its answer is not documented (Auth0's user, or 204): only the status is read.
      const path = userPath(id);
      const reply = path && (await call({ method: 'PATCH', ...path, body }, [200, 204, 404]));
      if (!reply || reply.status === 404) throw new NotFoundError(`identity user ${shownId(id)} not found`);
    },
    async deleteUser(id: string) {
      const path = userPath(id);
      return path !== undefined && (await call({ method: 'DELETE', ...path }, [200, 204, 404])).status !== 404;
    },
  };

  const auth = createAuth0ClientAuthenticator({
    upstream,
    connection,
    userIdKey: options.userIdKey,
    identity,
    denials: options.denials,
    async requestPasswordChange(authUserId) {
      // An id longer than any identity's names none: not sent (as unknown ids are answered).
      if (namesNoIdentity(authUserId)) throw new NotFoundError(`identity user ${shownId(authUserId)} not found`);
      const reply = await call({ method: 'POST', path: AUTH0_CLIENT_PATHS.changePassword, body: { user_id: authUserId } }, [200, 204, 404]);
      if (reply.status === 404) throw new NotFoundError(`identity user ${shownId(authUserId)} not found`);
    },
  });

  const statusPath = (id: string, suffix = '') => ({
    path: `${AUTH0_CLIENT_PATHS.importStatus}/${encodeURIComponent(id)}${suffix}`,
    route: `${AUTH0_CLIENT_PATHS.importStatus}/:jobID${suffix}`,
  });
  const importer: IdentityImporter = {
    maxUsersPerJob: MAX_IMPORT_USERS,
    async startImport(users, { upsert }) {
      const body = { users: importPayload(users).rows, connection, upsert, send_completion_email: false };
      const reply = await call({ method: 'POST', path: AUTH0_CLIENT_PATHS.imports, body }, [200, 201, 202]);
      return parseImportJob(reply, 'auth0-client', `POST ${AUTH0_CLIENT_PATHS.imports}`);
    },
    async importJob(id) {
      const reply = await call({ method: 'GET', ...statusPath(id) }, [200, 404]);
      if (reply.status === 404) throw new NotFoundError(`import job ${shownId(id)} not found`);
      return parseImportJob(reply, 'auth0-client', `GET ${AUTH0_CLIENT_PATHS.importStatus}/:jobID`);
    },
    async importErrors(id) {
      const reply = await call({ method: 'GET', ...statusPath(id, '/errors') }, [200, 204, 404]);
      if (reply.status === 404) throw new NotFoundError(`import job ${shownId(id)} not found`);
      return parseImportErrors(reply, 'auth0-client', `GET ${AUTH0_CLIENT_PATHS.importStatus}/:jobID/errors`);
    },
    // The auth0-client documents no search by e-mail: an identity the import matched by e-mail is not found.
    findImported: (users) => findImportedIdentities(users, { identity }),
  };

  return { identity, auth, importer };
}
