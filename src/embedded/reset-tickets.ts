import type { Db } from './db.js';
import { hashSecret, newSecret } from './secrets.js';
import { nowSeconds } from '../domain/clock.js';
import type { Clock } from '../ports/clock.js';

/** Single-use password-reset tickets, stored hashed; a new password ends every ticket of its user. */
export function createResetTickets(options: { db: Db; ttlSeconds: number; clock: Clock }) {
  const { db, clock } = options;
  const live = db.prepare<[string, number], { auth_user_id: string }>(
    'SELECT auth_user_id FROM reset_tickets WHERE ticket_hash = ? AND used_at IS NULL AND expires_at > ?',
  );
  const consume = db.prepare<[number, string, number], { auth_user_id: string }>(
    'UPDATE reset_tickets SET used_at = ? WHERE ticket_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING auth_user_id',
  );
  const insert = db.prepare('INSERT INTO reset_tickets (ticket_hash, auth_user_id, expires_at) VALUES (?, ?, ?)');
  const removeDead = db.prepare('DELETE FROM reset_tickets WHERE auth_user_id = ? AND (used_at IS NOT NULL OR expires_at <= ?)');
  return {
    /**
     * A new ticket for the e-mail; older ones stay valid until one of them is used. The user's
     * used and expired ones go: nothing reads them, and one e-mail after another kept them all.
     */
    issue(authUserId: string): string {
      const ticket = newSecret();
      const now = nowSeconds(clock);
      db.transaction(() => {
        removeDead.run(authUserId, now);
        insert.run(hashSecret(ticket), authUserId, now + options.ttlSeconds);
      })();
      return ticket;
    },
    /** Whose ticket this is, while it is unused and unexpired. */
    ownerOf(ticket: string): string | undefined {
      return live.get(hashSecret(ticket), nowSeconds(clock))?.auth_user_id;
    },
    /** Uses the ticket, answering its user, or undefined when it is not (or no longer) valid. */
    consume(ticket: string): string | undefined {
      const now = nowSeconds(clock);
      return consume.get(now, hashSecret(ticket), now)?.auth_user_id;
    },
    /** Ends every outstanding ticket of a user (its password just changed). */
    revokeUser(authUserId: string): void {
      db.prepare('UPDATE reset_tickets SET used_at = ? WHERE auth_user_id = ? AND used_at IS NULL').run(nowSeconds(clock), authUserId);
    },
  };
}

export type ResetTickets = ReturnType<typeof createResetTickets>;
