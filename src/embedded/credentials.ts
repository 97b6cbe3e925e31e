import type { State } from '../crud/states.js';
import type { Clock } from '../ports/clock.js';
import type { Db } from './db.js';
import type { LoginLockout } from './login-lockout.js';
import type { createResetTickets } from './reset-tickets.js';
import type { Sessions } from './sessions.js';

/** What a login reads of a user's profile (see EmbeddedAuthenticatorOptions.profileOf). */
export type Profile = { userGroup?: string; __STATE__: State };

export interface CredentialRow {
  id: string;
  username: string | null;
  email: string | null;
  email_verified: number;
  blocked: number;
  password_hash: string;
  password_version: number;
}

export type ResetTickets = ReturnType<typeof createResetTickets>;

export interface CredentialParts {
  db: Db;
  clock: Clock;
  lockout: LoginLockout;
  tickets: ResetTickets;
  sessions: Sessions;
}

/** The identity users' credentials: their rows by login name or by id, and a new password. */
export function createCredentials({ db, clock, lockout, tickets, sessions }: CredentialParts) {
  const columns = 'id, username, email, email_verified, blocked, password_hash, password_version';
  const byLogin = db.prepare<[string, string], CredentialRow>(
    `SELECT ${columns} FROM identity_users WHERE username = ? OR email = ? LIMIT 1`,
  );
  const byId = db.prepare<[string], CredentialRow>(`SELECT ${columns} FROM identity_users WHERE id = ?`);

  /**
   * A new password (in the caller's transaction): its version grows, so logins that verified the
   * old one fail; every session (but `keepSessionId`) and every other reset ticket of the user
   * ends; the lockout clears.
   */
  function setPassword(authUserId: string, hash: string, keepSessionId?: string): void {
    db.prepare('UPDATE identity_users SET password_hash = ?, password_version = password_version + 1, updated_at = ? WHERE id = ?').run(
      hash,
      new Date(clock.now()).toISOString(),
      authUserId,
    );
    const row = byId.get(authUserId);
    if (row) lockout.clear([row.username, row.email]);
    tickets.revokeUser(authUserId);
    sessions.revokeUser(authUserId, keepSessionId);
  }

  return { byLogin, byId, setPassword };
}

export type Credentials = ReturnType<typeof createCredentials>;
