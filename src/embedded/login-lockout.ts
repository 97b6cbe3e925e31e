import { TooManyRequestsError } from '../errors.js';
import type { Db } from './db.js';
import { hashSecret } from './secrets.js';

const LOCKED = 'Too many failed logins: the account is locked';

export interface LockoutOptions {
  /** Failed logins in a row after which the account (or the name) is locked. */
  maxAttempts: number;
  /** How long a lock lasts; a streak of failures is also forgotten this long after its last failure. */
  lockSeconds: number;
}

/**
 * Failed-login streaks, counted in SQL so parallel requests cannot read a stale count. An attempt
 * is reserved (counted) before the password is hashed and forgotten only when the login succeeds,
 * so N parallel guesses count N. Two counters move together:
 * - the account's (`identity_users.failed_logins`): one budget for its username and its e-mail;
 * - the typed name's (`login_failures`, keyed by the SHA-256 of the lower-cased name): the same
 *   for a name that matches no account, so a stranger cannot tell which accounts exist from
 *   401/429 and Retry-After. Rows are deleted LOGIN_LOCK_SECONDS after their last failure, so the
 *   table holds at most the names tried in that time (which the per-address throttle bounds).
 */
export class LoginLockout {
  private readonly bumpAccount;
  private readonly accountLock;
  private readonly bumpName;
  private readonly nameLock;
  private readonly prune;

  constructor(
    private readonly db: Db,
    private readonly options: LockoutOptions,
  ) {
    // A streak restarts when its lock has ended or its last failure is older than the lock time.
    const next = (count: string, at: string, lock: string) =>
      `CASE WHEN ${at} IS NULL OR ${at} <= @stale OR (${lock} IS NOT NULL AND ${lock} <= @now) THEN 1 ELSE ${count} + 1 END`;
    const accountNext = next('failed_logins', 'failed_at', 'locked_until');
    this.bumpAccount = db.prepare<LockParams, { n: number }>(
      `UPDATE identity_users SET failed_logins = ${accountNext}, failed_at = @now,
         locked_until = CASE WHEN ${accountNext} >= @max THEN @now + @lock ELSE NULL END
       WHERE id = @key AND (locked_until IS NULL OR locked_until <= @now) RETURNING failed_logins AS n`,
    );
    this.accountLock = db.prepare<[string], { until: number | null }>('SELECT locked_until AS until FROM identity_users WHERE id = ?');
    const nameNext = next('login_failures.failures', 'login_failures.failed_at', 'login_failures.locked_until');
    this.bumpName = db.prepare<LockParams, { n: number }>(
      `INSERT INTO login_failures (name, failures, failed_at, locked_until)
         VALUES (@key, 1, @now, CASE WHEN @max <= 1 THEN @now + @lock END)
       ON CONFLICT (name) DO UPDATE SET failures = ${nameNext}, failed_at = @now,
         locked_until = CASE WHEN ${nameNext} >= @max THEN @now + @lock ELSE NULL END
       WHERE login_failures.locked_until IS NULL OR login_failures.locked_until <= @now
       RETURNING failures AS n`,
    );
    this.nameLock = db.prepare<[string], { until: number | null }>('SELECT locked_until AS until FROM login_failures WHERE name = ?');
    this.prune = db.prepare<[number]>(
      'DELETE FROM login_failures WHERE name IN (SELECT name FROM login_failures WHERE failed_at <= ? LIMIT 32)',
    );
  }

  /**
   * Counts one attempt for the name and, if it names one, the account; 429 (nothing counted) when
   * either is locked. The caller's `read` runs in the same transaction, before anything else can
   * change the row.
   */
  reserve<T>(input: { accountId: string | undefined; name: string; now: number; read?: () => T }): T | undefined {
    const { accountId, now } = input;
    const name = nameKey(input.name);
    return this.db
      .transaction(() => {
        const params = (key: string): LockParams => ({
          key,
          now,
          stale: now - this.options.lockSeconds,
          max: this.options.maxAttempts,
          lock: this.options.lockSeconds,
        });
        const until = Math.max(
          accountId ? this.lockedUntil(this.accountLock.get(accountId)?.until, now) : 0,
          this.lockedUntil(this.nameLock.get(name)?.until, now),
        );
        if (until > 0) throw new TooManyRequestsError(LOCKED, Math.max(until - now, 1));
        if (accountId) this.bumpAccount.get(params(accountId));
        this.bumpName.get(params(name));
        this.prune.run(now - this.options.lockSeconds);
        return input.read?.();
      })
      .immediate();
  }

  /**
   * Ends the account's streak and those of the names given (the one typed at a successful login,
   * or the account's username and e-mail when an administrator unlocks it or its password changes).
   */
  clear(accountId: string, names: (string | null | undefined)[]): void {
    this.db.prepare('UPDATE identity_users SET failed_logins = 0, failed_at = NULL, locked_until = NULL WHERE id = ?').run(accountId);
    const forget = this.db.prepare('DELETE FROM login_failures WHERE name = ?');
    for (const name of names) if (name) forget.run(nameKey(name));
  }

  private lockedUntil(until: number | null | undefined, now: number): number {
    return until !== null && until !== undefined && until > now ? until : 0;
  }
}

interface LockParams {
  key: string;
  now: number;
  stale: number;
  max: number;
  lock: number;
}

/** Names are compared as e-mail addresses are (case-insensitively), and never stored as typed. */
function nameKey(name: string): string {
  return hashSecret(name.toLowerCase());
}
