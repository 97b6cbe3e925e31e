import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (and creates on first start) the embedded store: one SQLite file shared by the profile
 * store, the group configurations and the identity provider. WAL lets several processes share it.
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  migrate(db);
  return db;
}

/**
 * Runs the migrations this file has not had yet (its `user_version` counts those it had). The
 * version is read under the write lock: several processes share the file, and one that read it
 * before another's migrations committed ran them again (`duplicate column name`) and did not start.
 */
function migrate(db: Db): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version >= MIGRATIONS.length) return;
    for (let index = version; index < MIGRATIONS.length; index += 1) {
      const migration = MIGRATIONS[index]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
    }
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
