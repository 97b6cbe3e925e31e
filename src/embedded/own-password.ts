import { assertPasswordPolicy } from '../domain/password-policy.js';
import { LockoutStartedError, UnauthorizedError } from '../errors.js';
import type { Db } from './db.js';
import type { LoginLockout } from './login-lockout.js';
import { hashPassword, NO_PASSWORD, verifyPassword } from './password-hash.js';

const WRONG_CURRENT = 'The current password is wrong';

interface Row {
  username: string | null;
  email: string | null;
  password_hash: string;
  password_version: number;
}

export interface OwnPasswordParts {
  db: Db;
  lockout: LoginLockout;
  now: () => number;
  read: (authUserId: string) => Row | undefined;
  /** Sets the hash (version up, tickets and lockout cleared) and ends the sessions but `keepSessionId`. */
  setPassword: (authUserId: string, hash: string, keepSessionId?: string) => void;
}

export interface OwnPasswordInput {
  authUserId: string;
  currentPassword: string;
  newPassword: string;
  keepSessionId?: string;
}

/**
 * A signed-in user's own password change. A stolen session must not turn into a password guesser:
 * each attempt counts as a failed login against every name of the account (429 while one is
 * locked) before the hash is verified, exactly as a login does; only a success forgets them.
 */
export function changeOwnPassword(parts: OwnPasswordParts) {
  const { db, lockout } = parts;
  return async (input: OwnPasswordInput): Promise<void> => {
    // The policy first: a weak new password costs no hash and guesses nothing.
    assertPasswordPolicy(input.newPassword, 'newPassword');
    const names = namesOf(parts.read(input.authUserId));
    if (names.length === 0) throw new UnauthorizedError(WRONG_CURRENT);
    let locks = false;
    for (const name of names) locks = lockout.reserve({ name, now: parts.now() }).locks || locks;
    const row = parts.read(input.authUserId);
    const usable = row && row.password_hash !== NO_PASSWORD ? row.password_hash : undefined;
    if (!row || !usable || !(await verifyPassword(usable, input.currentPassword))) {
      throw locks ? new LockoutStartedError(WRONG_CURRENT) : new UnauthorizedError(WRONG_CURRENT);
    }
    const hash = await hashPassword(input.newPassword);
    // Only over the password just verified: a reset or change committed meanwhile wins.
    const changed = db
      .transaction(() => {
        if (parts.read(input.authUserId)?.password_version !== row.password_version) return false;
        parts.setPassword(input.authUserId, hash, input.keepSessionId);
        return true;
      })
      .immediate();
    if (!changed) throw new UnauthorizedError('The password changed meanwhile: sign in again');
  };
}

function namesOf(row: Row | undefined): string[] {
  return row ? [row.username, row.email].filter((name): name is string => !!name) : [];
}
