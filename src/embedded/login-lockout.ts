import { TooManyRequestsError } from '../errors.js';
import type { Db } from './db.js';
import { hashSecret } from './secrets.js';

const LOCKED = 'Too many failed logins: the account is locked';

export interface LockoutOptions {
  /** Failed logins in a row after which a login name is locked. */
  maxAttempts: number;
  /** How long a lock lasts; a streak of failures is also forgotten this long after its last failure. */
  lockSeconds: number;
}

/**
 * Failed-login streaks per name typed (`login_failures`, keyed by the SHA-256 of the lower-cased
 * name), counted in SQL so parallel requests cannot read a stale count. An attempt is reserved
 * (counted) before the password is hashed and forgotten only when the login succeeds, so N
 * parallel guesses count N.
 *
 * A name is counted and locked the same way whether it matches an account or not, and an
 * account's username and e-mail are two names locked independently: a stranger sees the same
 * 401/429 and Retry-After for a real username/e-mail pair as for two unknown names, so the lockout
 * tells neither which accounts exist nor which names belong together. There is no account-wide
 * counter on purpose: refusing every name of a locked account pairs them (docs/decisions.md).
 * Rows are deleted LOGIN_LOCK_SECONDS after their last failure, so the table holds at most the
 * names tried in that time (which the per-address throttle bounds).
 */
export class LoginLockout {
  private readonly bump;
  private readonly lock;
  private readonly prune;
  private readonly forget;

  constructor(
    private readonly db: Db,
    private readonly options: LockoutOptions,
  ) {
    // A streak restarts when its lock has ended or its last failure is older than the lock time.
    const next = `CASE WHEN login_failures.failed_at <= @stale
        OR (login_failures.locked_until IS NOT NULL AND login_failures.locked_until <= @now)
      THEN 1 ELSE login_failures.failures + 1 END`;
    this.bump = db.prepare<LockParams, { n: number }>(
      `INSERT INTO login_failures (name, failures, failed_at, locked_until)
         VALUES (@key, 1, @now, CASE WHEN @max <= 1 THEN @now + @lock END)
       ON CONFLICT (name) DO UPDATE SET failures = ${next}, failed_at = @now,
         locked_until = CASE WHEN ${next} >= @max THEN @now + @lock ELSE NULL END
       WHERE login_failures.locked_until IS NULL OR login_failures.locked_until <= @now
       RETURNING failures AS n`,
    );
    this.lock = db.prepare<[string], { until: number | null }>('SELECT locked_until AS until FROM login_failures WHERE name = ?');
    this.prune = db.prepare<[number]>(
      'DELETE FROM login_failures WHERE name IN (SELECT name FROM login_failures WHERE failed_at <= ? LIMIT 32)',
    );
    this.forget = db.prepare<[string]>('DELETE FROM login_failures WHERE name = ?');
  }

  /**
   * Counts one attempt for the name typed; 429 (nothing counted) while that name is locked. The
   * caller's `read` runs in the same transaction, before anything else can change the account.
   */
  reserve<T>(input: { name: string; now: number; read?: () => T }): Reserved<T> {
    const { now } = input;
    const key = nameKey(input.name);
    return this.db
      .transaction(() => {
        const until = this.lock.get(key)?.until;
        if (until !== null && until !== undefined && until > now) throw new TooManyRequestsError(LOCKED, Math.max(until - now, 1));
        const { lockSeconds, maxAttempts } = this.options;
        const streak = this.bump.get({ key, now, stale: now - lockSeconds, max: maxAttempts, lock: lockSeconds });
        this.prune.run(now - lockSeconds);
        return { read: input.read?.(), locks: (streak?.n ?? 0) >= maxAttempts };
      })
      .immediate();
  }

  /**
   * Ends the streaks of the names given: the one typed at a successful login, or the account's
   * username and e-mail when an administrator unlocks it or its password changes.
   */
  clear(names: (string | null | undefined)[]): void {
    for (const name of names) if (name) this.forget.run(nameKey(name));
  }
}

/** What `reserve` read, and whether this attempt locked the name (it stays locked unless the login succeeds). */
export interface Reserved<T> {
  read: T | undefined;
  locks: boolean;
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
