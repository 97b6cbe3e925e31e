import type { Authenticator } from '../ports/authenticator.js';
import type { Mail, Mailer } from '../ports/mailer.js';
import { assertPasswordPolicy } from '../domain/password-policy.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { Credentials, ResetTickets } from './credentials.js';
import type { Db } from './db.js';
import { hashPassword } from './password-hash.js';
import { batchedPasswordChanges } from './password-changes.js';
import { resetMail } from './reset-mail.js';
import { shownId } from '../domain/input-limits.js';

export interface ResetParts {
  db: Db;
  mailer: Mailer;
  tickets: ResetTickets;
  credentials: Credentials;
  baseUrl: string;
  resetTicketTtl: number;
}

type PasswordResets = Pick<Authenticator, 'requestPasswordChange' | 'checkResetTicket' | 'resetPassword'>;

/** Password changes by e-mail: the reset link sent, checked, and used once for a new password. */
export function createPasswordResets(parts: ResetParts): PasswordResets {
  const passwordChanges = batchedPasswordChanges({
    db: parts.db,
    mailer: parts.mailer,
    issue: (authUserId) => resetMailOf(parts, authUserId),
  });
  return {
    requestPasswordChange(authUserId) {
      return passwordChanges.request(authUserId);
    },

    async checkResetTicket(ticket: string) {
      return parts.tickets.ownerOf(ticket) !== undefined;
    },

    resetPassword: (ticket, password) => resetPassword(parts, ticket, password),
  };
}

function resetMailOf({ credentials, tickets, baseUrl, resetTicketTtl }: ResetParts, authUserId: string): Mail {
  const row = credentials.byId.get(authUserId);
  if (!row) throw new NotFoundError(`identity user ${shownId(authUserId)} not found`);
  if (!row.email) throw new InvalidInputError(`identity user ${authUserId} has no e-mail address to send the reset link to`);
  const ticket = tickets.issue(authUserId);
  return resetMail({
    to: row.email,
    username: row.username ?? row.email,
    ticket,
    baseUrl,
    ttlSeconds: resetTicketTtl,
  });
}

async function resetPassword({ db, tickets, credentials }: ResetParts, ticket: string, password: string): Promise<string> {
  // The ticket first: a stranger without one never makes the server hash.
  if (tickets.ownerOf(ticket) === undefined) throw invalidTicket();
  assertPasswordPolicy(password);
  const hash = await hashPassword(password);
  // Consumed only now, atomically with the new password: two posts of one ticket set one.
  const owner = db
    .transaction(() => {
      const authUserId = tickets.consume(ticket);
      if (authUserId !== undefined) credentials.setPassword(authUserId, hash);
      return authUserId;
    })
    .immediate();
  if (owner === undefined) throw invalidTicket();
  return owner;
}

function invalidTicket(): InvalidInputError {
  return new InvalidInputError('The reset link is invalid, expired or already used', [{ path: ['ticket'], message: 'invalid or expired' }]);
}
