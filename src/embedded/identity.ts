import type { IdentityChanges, IdentityProvider, IdentityUser, NewIdentityUser } from '../clients/ports.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import type { Db } from './db.js';
import { newObjectId } from './object-id.js';
import { hashPassword } from './password-hash.js';

interface IdentityRow {
  id: string;
  username: string | null;
  email: string | null;
  blocked: number;
  email_verified: number;
  created_at: string;
  updated_at: string;
  last_login: string | null;
  logins_count: number;
}

const COLUMNS = 'id, username, email, blocked, email_verified, created_at, updated_at, last_login, logins_count';
/** SQLite's default limit on bound parameters is far above this; it keeps statements small. */
const IDS_PER_QUERY = 500;

/** The embedded identity provider: users with argon2id password hashes in the same SQLite file. */
export function createEmbeddedIdentityProvider(db: Db): IdentityProvider {
  const insert = db.prepare(
    `INSERT INTO identity_users (id, username, email, blocked, password_hash, created_at, updated_at)
     VALUES (@id, @username, @email, @blocked, @hash, @now, @now)`,
  );
  const selectOne = db.prepare<[string], IdentityRow>(`SELECT ${COLUMNS} FROM identity_users WHERE id = ?`);
  const remove = db.prepare('DELETE FROM identity_users WHERE id = ?');

  return {
    async createUser(user: NewIdentityUser) {
      if (!user.username && !user.email) {
        throw new InvalidInputError('username or email is required to create the identity user');
      }
      const hash = await hashPassword(user.password);
      const id = `ums|${newObjectId()}`;
      try {
        insert.run({ id, username: user.username ?? null, email: user.email ?? null, blocked: user.blocked ? 1 : 0, hash, now: new Date().toISOString() });
      } catch (error) {
        throw asConflict(error);
      }
      return toIdentity(selectOne.get(id)!);
    },
    async getUsers(ids: readonly string[]) {
      const found = new Map<string, IdentityUser>();
      for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
        const chunk = ids.slice(start, start + IDS_PER_QUERY);
        const rows = db
          .prepare<string[], IdentityRow>(`SELECT ${COLUMNS} FROM identity_users WHERE id IN (${chunk.map(() => '?').join(',')})`)
          .all(...chunk);
        for (const row of rows) found.set(row.id, toIdentity(row));
      }
      return ids.map((id) => found.get(id));
    },
    async updateUser(id: string, changes: IdentityChanges) {
      const sets: string[] = [];
      const params: Record<string, unknown> = { id, now: new Date().toISOString() };
      const columns = { username: changes.username, email: changes.email, blocked: changes.blocked === undefined ? undefined : Number(changes.blocked) };
      for (const [column, value] of Object.entries(columns)) {
        if (value === undefined) continue;
        sets.push(`${column} = @${column}`);
        params[column] = value;
      }
      try {
        const result = db.prepare(`UPDATE identity_users SET ${[...sets, 'updated_at = @now'].join(', ')} WHERE id = @id`).run(params);
        if (result.changes === 0) throw new NotFoundError(`identity user ${id} not found`);
      } catch (error) {
        throw asConflict(error);
      }
      return toIdentity(selectOne.get(id)!);
    },
    async deleteUser(id: string) {
      return remove.run(id).changes > 0;
    },
  };
}

function toIdentity(row: IdentityRow): IdentityUser {
  return {
    id: row.id,
    username: row.username ?? undefined,
    email: row.email ?? undefined,
    blocked: row.blocked === 1,
    emailVerified: row.email_verified === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLogin: row.last_login ?? undefined,
    loginsCount: row.logins_count,
  };
}

function asConflict(error: unknown): unknown {
  if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') return error;
  const field = /identity_users\.(\w+)/.exec(String((error as Error).message))?.[1] ?? 'username or email';
  return new ConflictError(`An identity user with the same ${field} already exists`);
}
