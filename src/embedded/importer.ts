import { randomUUID } from 'node:crypto';
import type { IdentityImporter, IdentityImportError, IdentityImportJob, ImportedIdentity } from '../ports/identity-importer.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { newObjectId } from '../crud/ids.js';
import type { Db } from './db.js';
import { NO_PASSWORD } from './password-hash.js';
import { shownId } from '../domain/input-limits.js';

/**
 * Users per job: one SQLite transaction each, so one job's write holds the event loop (and the
 * database) for a few milliseconds; 1,000 took 15–40 ms, more under load.
 */
export const EMBEDDED_IMPORT_USERS = 250;
/** The embedded provider's counterpart of Auth0's `auth0|<user_id>`. */
export const EMBEDDED_IMPORT_PREFIX = 'ums|';

type Summary = NonNullable<IdentityImportJob['summary']>;

/**
 * Import jobs of the embedded identity provider, with Auth0's semantics (spec/auth0.md "Import
 * jobs"): users arrive without a password (they set one through the reset e-mail), a user matching
 * an existing identity (by id, else by e-mail) is refused unless the job upserts, a user repeated in
 * the file is refused, and bad rows do not fail the job. The work is one transaction, so a job is
 * complete when it is answered.
 */
export function createEmbeddedImporter(db: Db): IdentityImporter {
  const byId = db.prepare<[string], { id: string }>('SELECT id FROM identity_users WHERE id = ?');
  const madeById = db.prepare<[string], { id: string; email: string; username: string | null; blocked: number }>(
    'SELECT id, email, username, blocked FROM identity_users WHERE id = ?',
  );
  const byEmail = db.prepare<[string], { id: string }>('SELECT id FROM identity_users WHERE email = ?');
  const insert = db.prepare(
    `INSERT INTO identity_users (id, username, email, blocked, email_verified, password_hash, created_at, updated_at)
     VALUES (@id, @username, @email, @blocked, @verified, '${NO_PASSWORD}', @now, @now)`,
  );
  const update = db.prepare(
    `UPDATE identity_users SET username = COALESCE(@username, username), email = @email, blocked = COALESCE(@blocked, blocked),
       email_verified = @verified, updated_at = @now WHERE id = @id`,
  );
  const save = db.prepare('INSERT INTO identity_imports (id, summary, errors, created_at) VALUES (?, ?, ?, ?)');
  const select = db.prepare<[string], { summary: string; errors: string }>('SELECT summary, errors FROM identity_imports WHERE id = ?');

  const existing = (user: ImportedIdentity) =>
    (user.userId !== undefined ? byId.get(`${EMBEDDED_IMPORT_PREFIX}${user.userId}`) : undefined) ?? byEmail.get(user.email);

  const run = db.transaction((users: readonly ImportedIdentity[], upsert: boolean) => {
    const summary: Summary = { inserted: 0, updated: 0, failed: 0, total: users.length };
    const errors: IdentityImportError[] = [];
    const seen = new Set<string>();
    const now = new Date().toISOString();
    for (const user of users) {
      const refuse = (code: string, message: string) => {
        summary.failed += 1;
        errors.push({ user: { ...user }, errors: [{ code, message }] });
      };
      const repeated = (['email', 'username', 'userId'] as const).find((key) => {
        const value = user[key];
        return value !== undefined && seen.has(`${key}:${value.toLowerCase()}`);
      });
      if (repeated) {
        refuse('DUPLICATED_USER', `A user with this ${repeated === 'userId' ? 'user_id' : repeated} was already provided.`);
        continue;
      }
      for (const key of ['email', 'username', 'userId'] as const)
        if (user[key] !== undefined) seen.add(`${key}:${user[key]!.toLowerCase()}`);
      const found = existing(user);
      if (found && !upsert) {
        refuse('CONFLICT', 'The user already exists.');
        continue;
      }
      const row = {
        id: found?.id ?? `${EMBEDDED_IMPORT_PREFIX}${user.userId ?? newObjectId()}`,
        username: user.username ?? null,
        email: user.email,
        blocked: user.blocked === undefined ? null : Number(user.blocked),
        verified: Number(user.emailVerified ?? false),
        now,
      };
      try {
        if (found) update.run(row);
        else insert.run({ ...row, blocked: row.blocked ?? 0 });
        summary[found ? 'updated' : 'inserted'] += 1;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
        const field = /identity_users\.(\w+)/.exec(String((error as Error).message))?.[1] ?? 'email';
        refuse(field === 'username' ? 'CONFLICT_USERNAME' : 'CONFLICT_EMAIL', `The user with this ${field} already exists.`);
      }
    }
    const id = `job_${randomUUID()}`;
    save.run(id, JSON.stringify(summary), JSON.stringify(errors), now);
    return { id, summary };
  });

  return {
    maxUsersPerJob: EMBEDDED_IMPORT_USERS,
    async startImport(users, { upsert }) {
      if (users.length === 0 || users.length > EMBEDDED_IMPORT_USERS) {
        throw new InvalidInputError(`an import job takes 1 to ${EMBEDDED_IMPORT_USERS} users, not ${users.length}`);
      }
      const { id, summary } = run.immediate(users, upsert);
      return { id, status: 'completed', summary };
    },
    async importJob(id) {
      const row = select.get(id);
      if (!row) throw new NotFoundError(`import job ${shownId(id)} not found`);
      return { id, status: 'completed', summary: JSON.parse(row.summary) as Summary };
    },
    async importErrors(id) {
      const row = select.get(id);
      if (!row) throw new NotFoundError(`import job ${shownId(id)} not found`);
      return JSON.parse(row.errors) as IdentityImportError[];
    },
    async findImported(users) {
      return users.map((user) => {
        const created = user.userId !== undefined ? madeById.get(`${EMBEDDED_IMPORT_PREFIX}${user.userId}`) : undefined;
        if (created) {
          const values = { email: created.email, username: created.username ?? undefined, blocked: created.blocked === 1 };
          return { id: created.id, created: true, values };
        }
        const matched = user.email === undefined ? undefined : byEmail.get(user.email);
        return matched && { id: matched.id, created: false };
      });
    },
  };
}
