import type { Authenticator } from '../ports/authenticator.js';
import type { Mailer } from '../ports/mailer.js';
import type { Clock } from '../ports/clock.js';
import { NotFoundError } from '../errors.js';
import { createAccessTokens } from './access-tokens.js';
import { createCredentials, type Profile } from './credentials.js';
import type { Db } from './db.js';
import { LoginLockout } from './login-lockout.js';
import { createLogins } from './logins.js';
import { changeOwnPassword } from './own-password.js';
import { createPasswordResets } from './password-resets.js';
import { createResetTickets } from './reset-tickets.js';
import type { Sessions } from './sessions.js';
import type { SigningKeys } from './signing-keys.js';
import { shownId } from '../domain/input-limits.js';

export interface EmbeddedAuthenticatorOptions {
  db: Db;
  /**
   * Token, ticket and lockout times; the sessions keep their own (the same clock, from
   * deps.ts).
   */
  clock: Clock;
  keys: SigningKeys;
  sessions: Sessions;
  mailer: Mailer;
  /** The profile of an identity user: its group goes in the token, its state gates the login. */
  profileOf: (authUserId: string) => Promise<Profile | undefined>;
  issuer: string;
  baseUrl: string;
  accessTokenTtl: number;
  resetTicketTtl: number;
  maxAttempts: number;
  lockSeconds: number;
}

/** Logins, tokens and password resets of the embedded identity provider. */
export function createEmbeddedAuthenticator(options: EmbeddedAuthenticatorOptions): Authenticator {
  const { db, keys, sessions, clock } = options;
  const lockout = new LoginLockout(db, { maxAttempts: options.maxAttempts, lockSeconds: options.lockSeconds });
  const tickets = createResetTickets({ db, ttlSeconds: options.resetTicketTtl, clock });
  const credentials = createCredentials({ db, clock, lockout, tickets, sessions });
  const tokens = createAccessTokens({ keys, sessions, clock, issuer: options.issuer, accessTokenTtl: options.accessTokenTtl });
  const { baseUrl, resetTicketTtl, mailer, profileOf } = options;
  return {
    ...createLogins({ db, clock, sessions, lockout, credentials, tokens, profileOf }),

    async logout(sessionId) {
      sessions.revoke(sessionId);
    },

    async endSessions(authUserId) {
      sessions.revokeUser(authUserId);
    },

    ...createPasswordResets({ db, mailer, tickets, credentials, baseUrl, resetTicketTtl }),

    changeOwnPassword: changeOwnPassword({
      db,
      lockout,
      now: () => sessions.now(),
      read: (id) => credentials.byId.get(id),
      setPassword: credentials.setPassword,
    }),

    async unlock(authUserId) {
      const row = credentials.byId.get(authUserId);
      if (!row) throw new NotFoundError(`identity user ${shownId(authUserId)} not found`);
      lockout.clear([row.username, row.email]);
    },

    async jwks() {
      await keys.current();
      return keys.jwks() as { keys: Record<string, unknown>[] };
    },
  };
}
