import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/** Statements kept at most: filters produce a handful of distinct SQL texts, a client could make more. */
const MAX_STATEMENTS = 500;

/**
 * Prepared statements by SQL text, each prepared once (a parse per request saved). `raw`: rows as
 * arrays; a statement's mode is its own, so raw ones are kept apart.
 */
export function statementCache<R>(db: Db): (sql: string, raw?: boolean) => Statement<unknown[], R> {
  const statements = new Map<string, Statement<unknown[], R>>();
  return (sql, raw = false) => {
    const key = raw ? `raw:${sql}` : sql;
    let statement = statements.get(key);
    if (!statement) {
      if (statements.size >= MAX_STATEMENTS) statements.clear();
      statement = db.prepare<unknown[], R>(sql);
      if (raw) statement.raw(true);
      statements.set(key, statement);
    }
    return statement;
  };
}
