import type { Logger } from 'pino';
import type { Mailer } from './clients/ports.js';
import { createSmtpMailer } from './clients/smtp/mailer.js';
import type { Config } from './config.js';
import type { Deps } from './context.js';
import { ALL_STATES } from './crud/states.js';
import { GroupSchemas } from './resolvers/group-schemas.js';
import { LoginThrottle } from './resolvers/login-throttle.js';
import { createEmbeddedAuthenticator } from './embedded/authenticator.js';
import { createSqliteConfigStore } from './embedded/config-store.js';
import { type Db, openDatabase } from './embedded/db.js';
import { createEmbeddedIdentityProvider } from './embedded/identity.js';
import { Outbox } from './embedded/outbox.js';
import { Sessions } from './embedded/sessions.js';
import { SigningKeys } from './embedded/signing-keys.js';
import { createSqliteUserStore } from './embedded/user-store.js';

/** Wires every port to its embedded adapter (one SQLite file) and the shared helpers; built once in main.ts. */
export function createEmbeddedDeps(config: Config, logger: Logger): Deps & { db: Db; keys: SigningKeys } {
  const db = openDatabase(config.EMBEDDED_DB_PATH);
  const users = createSqliteUserStore(db);
  const sessions = new Sessions(db, config.REFRESH_TOKEN_TTL);
  const keys = new SigningKeys(db, {
    maxAgeSeconds: config.SIGNING_KEY_MAX_AGE_DAYS * 86_400,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL,
  });
  const outbox = config.SMTP_URL ? undefined : new Outbox(db, logger);
  const mailer: Mailer = config.SMTP_URL ? createSmtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM, logger }) : outbox!;
  const auth = createEmbeddedAuthenticator({
    db,
    keys,
    sessions,
    mailer,
    profileOf: async (authUserId) => (await users.find({ authUserId }, { states: ALL_STATES, limit: 1 }))[0],
    issuer: config.TOKEN_ISSUER ?? config.UMS_BASE_URL,
    baseUrl: config.UMS_BASE_URL,
    accessTokenTtl: config.ACCESS_TOKEN_TTL,
    resetTicketTtl: config.RESET_TICKET_TTL,
    maxAttempts: config.LOGIN_MAX_ATTEMPTS,
    lockSeconds: config.LOGIN_LOCK_SECONDS,
  });
  return {
    db,
    keys,
    config,
    logger,
    users,
    groups: createSqliteConfigStore(db),
    identity: createEmbeddedIdentityProvider(db, sessions),
    auth,
    mailer,
    outbox,
    schemas: new GroupSchemas(),
    loginThrottle: new LoginThrottle(config.LOGIN_IP_MAX_FAILURES, config.LOGIN_IP_WINDOW_SECONDS),
  };
}
