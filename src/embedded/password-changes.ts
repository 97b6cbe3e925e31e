import type { Mail, Mailer } from '../ports/mailer.js';
import type { Db } from './db.js';

interface Pending {
  authUserId: string;
  resolve: (sent: Promise<void>) => void;
  reject: (error: unknown) => void;
}

/**
 * Change-password requests gathered while the current turn of the event loop runs (a bulk job
 * sends dozens at once) and written together: the tickets in one transaction, then the mails in
 * another (the outbox writes in the call), instead of two commits per user. Each request still
 * answers alone: an unknown user or one without an e-mail fails only its own request, and a mail
 * is only sent once its ticket is committed.
 */
export function batchedPasswordChanges(options: { db: Db; mailer: Mailer; issue: (authUserId: string) => Mail }) {
  const { db, mailer } = options;
  let pending: Pending[] = [];
  const issueAll = db.transaction((batch: Pending[]) =>
    batch.flatMap((request) => {
      try {
        return [{ request, mail: options.issue(request.authUserId) }];
      } catch (error) {
        request.reject(error);
        return [];
      }
    }),
  );
  const sendAll = db.transaction((issued: { request: Pending; mail: Mail }[]) =>
    issued.map(({ request, mail }) => ({ request, sent: mailer.send(mail) })),
  );
  const flush = () => {
    const batch = pending;
    pending = [];
    try {
      for (const { request, sent } of sendAll(issueAll(batch))) request.resolve(sent);
    } catch (error) {
      for (const request of batch) request.reject(error);
    }
  };
  return {
    request(authUserId: string): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        // After the microtasks of this turn: every request they start joins the batch.
        if (pending.push({ authUserId, resolve, reject }) === 1) process.nextTick(flush);
      });
    },
  };
}
