import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Deps } from '../context.js';
import { GroupSchemas } from '../resolvers/group-schemas.js';
import { createSqliteConfigStore } from './config-store.js';
import { type Db, openDatabase } from './db.js';
import { createEmbeddedIdentityProvider } from './identity.js';
import { createSqliteUserStore } from './user-store.js';

/** Every port on its embedded adapter, all in one SQLite file. */
export function createEmbeddedDeps(config: Config, logger: Logger): Deps & { db: Db } {
  const db = openDatabase(config.EMBEDDED_DB_PATH);
  return {
    db,
    config,
    logger,
    users: createSqliteUserStore(db),
    groups: createSqliteConfigStore(db),
    identity: createEmbeddedIdentityProvider(db),
    schemas: new GroupSchemas(),
  };
}
