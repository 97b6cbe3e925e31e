import type Database from 'better-sqlite3';
import { canonicalDates } from '../crud/cast.js';
import { fieldIndexOf } from '../crud/field-types.js';

const BATCH = 1000;

/**
 * Rewrites the dates of the users stored before dates had one canonical form (issue #19 item 1):
 * `createdAt`, `updatedAt`, `expirationDate` and every field a group schema types as a date, to
 * `Date.toISOString()`, so they compare and sort as instants. A value that is no date is kept as it
 * is. Runs inside the migration's transaction; rows are read a batch at a time.
 */
export function canonicaliseStoredDates(db: Database.Database): void {
  const schemas = db
    .prepare<[], { schema: string | null }>("SELECT json_extract(doc, '$.crudSchema') AS schema FROM ums_config")
    .all()
    .flatMap(({ schema }) => (schema === null ? [] : [JSON.parse(schema) as unknown]));
  const index = fieldIndexOf(schemas);
  const select = db.prepare<[number], { seq: number; doc: string }>('SELECT seq, doc FROM users WHERE seq > ? ORDER BY seq LIMIT ' + BATCH);
  const update = db.prepare('UPDATE users SET doc = ? WHERE seq = ?');
  let after = 0;
  for (;;) {
    const rows = select.all(after);
    for (const { seq, doc } of rows) {
      const text = JSON.stringify(canonicalDates(JSON.parse(doc) as Record<string, unknown>, index));
      if (text !== doc) update.run(text, seq);
    }
    if (rows.length < BATCH) return;
    after = rows[rows.length - 1]!.seq;
  }
}
