import { FormData } from 'undici';
import { z } from 'zod';
import { InvalidInputError, NotFoundError, UpstreamError } from '../../errors.js';
import type {
  IdentityImporter,
  IdentityImportError,
  IdentityImportJob,
  ImportedIdentity,
  ImportedIdentityRef,
  ImportedLookup,
} from '../../ports/identity-importer.js';
import type { IdentityProvider } from '../../ports/identity-provider.js';
import type { UpstreamCall, UpstreamReply } from '../http.js';
import type { Auth0Api } from './api.js';
import { identityRefusal, type RefusalLog } from '../identity-refusal.js';
import { shownId } from '../../domain/input-limits.js';

/** Auth0 takes import files up to 500 KB; 1,000 users of the service's fields stay well under it. */
export const MAX_IMPORT_USERS = 1000;
const MAX_IMPORT_BYTES = 500 * 1024;

export const ImportJob = z.looseObject({
  id: z.string(),
  status: z.enum(['pending', 'processing', 'completed', 'failed', 'expired']),
  summary: z.object({ inserted: z.number(), updated: z.number(), failed: z.number(), total: z.number() }).optional(),
});
export const ImportErrors = z.array(
  z.looseObject({
    user: z.record(z.string(), z.unknown()),
    errors: z.array(z.looseObject({ code: z.string(), message: z.string(), path: z.string().optional() })),
  }),
);
const UsersByEmail = z.array(
  z.looseObject({
    user_id: z.string(),
    email: z.string().optional(),
    identities: z.array(z.looseObject({ connection: z.string().optional() })).optional(),
  }),
);
const Connections = z.array(z.looseObject({ id: z.string(), name: z.string() }));

/** A user under Auth0's users-imports names. */
export function toAuth0Import(user: ImportedIdentity): Record<string, unknown> {
  return {
    email: user.email,
    ...(user.username !== undefined && { username: user.username }),
    ...(user.userId !== undefined && { user_id: user.userId }),
    email_verified: user.emailVerified ?? false,
    ...(user.blocked !== undefined && { blocked: user.blocked }),
  };
}

/** The rows of one job and their file, refused before any call when Auth0 would refuse them. */
export function importPayload(users: readonly ImportedIdentity[]): { rows: Record<string, unknown>[]; file: string } {
  if (users.length === 0 || users.length > MAX_IMPORT_USERS) {
    throw new InvalidInputError(`an import job takes 1 to ${MAX_IMPORT_USERS} users, not ${users.length}`);
  }
  const rows = users.map(toAuth0Import);
  const file = JSON.stringify(rows);
  if (Buffer.byteLength(file) > MAX_IMPORT_BYTES) throw new InvalidInputError('the users of one import job exceed 500 KB');
  return { rows, file };
}

export function parseImportJob(reply: UpstreamReply, upstream: string, label: string): IdentityImportJob {
  const job = ImportJob.safeParse(reply.body);
  if (!job.success) throw new UpstreamError(upstream, label, reply.status, { message: `${upstream} ${label} answered an unexpected job` });
  return { id: job.data.id, status: job.data.status, ...(job.data.summary && { summary: job.data.summary }) };
}

/** 204 (no errors) or the refused rows; a whole-job failure answers a job instead, which has no rows. */
export function parseImportErrors(reply: UpstreamReply, upstream: string, label: string): IdentityImportError[] {
  if (reply.status === 204 || !Array.isArray(reply.body)) return [];
  const rows = ImportErrors.safeParse(reply.body);
  if (!rows.success) throw new UpstreamError(upstream, label, reply.status, { message: `${upstream} ${label} answered unexpected rows` });
  return rows.data;
}

/** Auth0 gives an imported user the id `auth0|<user_id>`. */
export const AUTH0_IMPORT_PREFIX = 'auth0|';

/**
 * The identities of imported users: read under `auth0|<userId>` in one batched read; the users the
 * import matched by e-mail (an upsert of an existing identity) are looked up by e-mail where the
 * provider offers it.
 */
export async function findImportedIdentities(
  users: readonly ImportedLookup[],
  lookups: { identity: IdentityProvider; byEmail?: (email: string) => Promise<string | undefined> },
): Promise<(ImportedIdentityRef | undefined)[]> {
  const expected = users.map((user) => (user.userId === undefined ? undefined : `${AUTH0_IMPORT_PREFIX}${user.userId}`));
  const ids = expected.filter((id): id is string => id !== undefined);
  const found = new Map((await lookups.identity.getUsers(ids)).flatMap((user) => (user ? [[user.id, user] as const] : [])));
  return Promise.all(
    users.map(async (user, index): Promise<ImportedIdentityRef | undefined> => {
      const id = expected[index];
      const made = id === undefined ? undefined : found.get(id);
      if (made) return { id: made.id, created: true, values: { email: made.email, username: made.username, blocked: made.blocked } };
      const matched = lookups.byEmail && user.email !== undefined && (await lookups.byEmail(user.email));
      return matched ? { id: matched, created: false } : undefined;
    }),
  );
}

/**
 * Auth0's users-imports jobs (`POST /api/v2/jobs/users-imports`, multipart) in the configured
 * database connection, whose id is AUTH0_CONNECTION_ID or is looked up by name once.
 */
export function createAuth0Importer(input: {
  api: Auth0Api;
  identity: IdentityProvider;
  connection: string;
  connectionId?: string;
  /** Where Auth0's words of a 400 go (never into an answer). */
  log?: RefusalLog;
}): IdentityImporter {
  const { api, identity, connection, connectionId, log } = input;
  let connectionIdRequest: Promise<string> | undefined = connectionId ? Promise.resolve(connectionId) : undefined;

  async function call(request: UpstreamCall, ok: number[]): Promise<UpstreamReply> {
    const reply = await api.management(request);
    if (ok.includes(reply.status)) return reply;
    const label = `${request.method} ${request.route ?? request.path}`;
    if (reply.status === 400) throw identityRefusal({ upstream: 'Auth0', call: label, body: reply.body, log });
    throw new UpstreamError('Auth0', label, reply.status);
  }

  async function lookUpConnectionId(): Promise<string> {
    const reply = await call({ method: 'GET', path: '/api/v2/connections', query: { name: connection, fields: 'id,name' } }, [200]);
    const found = (Connections.safeParse(reply.body).data ?? []).find((candidate) => candidate.name === connection);
    if (!found)
      throw new UpstreamError('Auth0', 'GET /api/v2/connections', 200, { message: `Auth0 has no connection named ${connection}` });
    return found.id;
  }

  const jobPath = (id: string, suffix = '') => ({
    path: `/api/v2/jobs/${encodeURIComponent(id)}${suffix}`,
    route: `/api/v2/jobs/:id${suffix}`,
  });

  /** The id of the connection's user with this e-mail (`q=email:"…"`; the import matches only in its connection). */
  async function byEmail(email: string): Promise<string | undefined> {
    const reply = await call(
      {
        method: 'GET',
        path: '/api/v2/users',
        query: { q: `email:${JSON.stringify(email)}`, search_engine: 'v3', fields: 'user_id,email,identities' },
      },
      [200],
    );
    const users = UsersByEmail.safeParse(reply.body);
    if (!users.success)
      throw new UpstreamError('Auth0', 'GET /api/v2/users', 200, { message: 'Auth0 GET /api/v2/users answered an unexpected body' });
    const inConnection = (user: z.infer<typeof UsersByEmail>[number]) =>
      !user.identities || user.identities.some((identity) => identity.connection === connection);
    return users.data.find((user) => user.email?.toLowerCase() === email.toLowerCase() && inConnection(user))?.user_id;
  }

  return {
    maxUsersPerJob: MAX_IMPORT_USERS,
    async startImport(users, { upsert }) {
      const { file } = importPayload(users);
      connectionIdRequest ??= lookUpConnectionId().catch((error: unknown) => {
        connectionIdRequest = undefined;
        throw error;
      });
      const form = new FormData();
      form.append('users', new Blob([file], { type: 'application/json' }), 'users.json');
      form.append('connection_id', await connectionIdRequest);
      form.append('upsert', String(upsert));
      form.append('send_completion_email', 'false');
      const reply = await call({ method: 'POST', path: '/api/v2/jobs/users-imports', rawBody: form }, [201, 202]);
      return parseImportJob(reply, 'Auth0', 'POST /api/v2/jobs/users-imports');
    },
    async importJob(id) {
      const reply = await call({ method: 'GET', ...jobPath(id) }, [200, 404]);
      if (reply.status === 404) throw new NotFoundError(`import job ${shownId(id)} not found`);
      return parseImportJob(reply, 'Auth0', 'GET /api/v2/jobs/:id');
    },
    async importErrors(id) {
      const reply = await call({ method: 'GET', ...jobPath(id, '/errors') }, [200, 204, 404]);
      if (reply.status === 404) throw new NotFoundError(`import job ${shownId(id)} not found`);
      return parseImportErrors(reply, 'Auth0', 'GET /api/v2/jobs/:id/errors');
    },
    findImported: (users) => findImportedIdentities(users, { identity, byEmail }),
  };
}
