import type { Logger } from 'pino';
import type { Mail, Mailer, MailOutbox, OutboxMail } from '../ports/mailer.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/**
 * Messages the outbox keeps (the newest): each password e-mail (5 an hour per user, a user may
 * ask for its own) once stayed in the file for good.
 */
export const OUTBOX_KEPT = 10_000;
/** The older messages go once every this many sends: one indexed delete, not one per mail. */
const PRUNE_EVERY = 100;

/**
 * The mailer when no SMTP server is configured: messages are kept in the embedded store, readable
 * by administrators through GraphQL. The log line names the recipient, never the link.
 */
export class Outbox implements Mailer, MailOutbox {
  /** Prepared at the first message (the store may be opened after the outbox is made). */
  private insert?: Statement;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  /**
   * Writes the message before it answers, in the call itself (nothing awaited first): a caller's
   * SQLite transaction around the call holds the write (bulk password mails, one commit per batch).
   */
  async send(mail: Mail): Promise<void> {
    this.insert ??= this.db.prepare('INSERT INTO outbox (recipient, subject, text, html, created_at) VALUES (?, ?, ?, ?, ?)');
    const result = this.insert.run(mail.to, mail.subject, mail.text, mail.html ?? null, new Date().toISOString());
    const seq = Number(result.lastInsertRowid);
    if (seq % PRUNE_EVERY === 0) this.db.prepare('DELETE FROM outbox WHERE seq <= ?').run(seq - OUTBOX_KEPT);
    this.logger.info({ to: mail.to, subject: mail.subject, outboxId: seq }, 'mail kept in the outbox (no SMTP_URL)');
  }

  /** Newest first. */
  list({ limit, offset }: { limit: number; offset: number }): OutboxMail[] {
    return this.db
      .prepare<
        [number, number],
        { seq: number; recipient: string; subject: string; text: string; html: string | null; created_at: string }
      >('SELECT * FROM outbox ORDER BY seq DESC LIMIT ? OFFSET ?')
      .all(limit, offset)
      .map((row) => ({
        id: row.seq,
        to: row.recipient,
        subject: row.subject,
        text: row.text,
        html: row.html ?? undefined,
        createdAt: row.created_at,
      }));
  }
}
