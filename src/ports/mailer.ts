/** Outgoing mail (SMTP, or the embedded outbox). */

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/** A message kept by the outbox. */
export interface OutboxMail extends Mail {
  id: number;
  createdAt: string;
}

/**
 * Mail kept instead of sent (the embedded mailer when no SMTP_URL is set), readable by
 * administrators. Synchronous: the embedded outbox reads its SQLite table in the call.
 */
export interface MailOutbox {
  /** Newest first. */
  list(page: { limit: number; offset: number }): OutboxMail[];
}
