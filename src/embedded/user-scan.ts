import type { CallScope } from '../ports/call-scope.js';
import type { ScanPage, UserDoc } from '../ports/user-store.js';
import { type CrudQuery, parseCountQuery } from '../crud/query.js';
import type { Db } from './db.js';
import { residualMatcher, type Row, stateCondition, toDoc } from './user-rows.js';
import { splitFilter } from './sql-filter.js';
import { countText, textProbe } from './text-search.js';

/**
 * Rows read per call at most when part of the filter is evaluated in the process (mingo): a
 * filter that matches few users must not read the whole table in one turn of the event loop.
 */
const ROWS_PER_SCAN = 2_000;

/**
 * UserStore.scan on SQLite: keyset pages in insertion order (`seq`, the order of `GET /users/`),
 * so each page reads from where the last one stopped, however deep into the table it is.
 */
export function createUserScan(db: Db) {
  const probe = textProbe(db);
  return async function scan(query: CrudQuery, page: { after?: string; limit: number }, scope: CallScope): Promise<ScanPage> {
    const { filter, states } = parseCountQuery(query, scope.headers.acl_rows);
    const { where, params, residual, selective } = splitFilter(filter);
    where.unshift(stateCondition(states, selective));
    params.unshift(...states);
    if (page.after !== undefined) {
      where.push('seq > ?');
      params.push(Number(page.after));
    }
    // The (state, seq) indexes give seq order for one state only; for several, SQLite would sort
    // every remaining row on each page. Walking the table in rowid (seq) order reads each row once
    // over the whole export. A unique column's index (selective) finds few rows: sorting them is cheap.
    const from = states.length > 1 && !selective ? 'users NOT INDEXED' : 'users';
    const statement = db.prepare<unknown[], Row & { seq: number }>(
      `SELECT seq, id, state, doc FROM ${from} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`,
    );
    if (!residual) {
      const rows = statement.all(...params, page.limit);
      return { users: rows.map(toDoc), ...(rows.length === page.limit ? { next: String(rows.at(-1)!.seq) } : {}) };
    }
    // A `$text` is asked of the index for the row being tested (the connection answers it once the rows are read).
    let current: (Row & { seq: number }) | undefined;
    const matches = residualMatcher(residual, (operand) => {
      const hit = probe(operand);
      return { has: (id) => current !== undefined && current.id === id && hit(current.seq) };
    });
    const text = countText(residual) > 0;
    const users: UserDoc[] = [];
    let read = 0;
    let last = 0;
    for (const row of text ? statement.all(...params, ROWS_PER_SCAN) : statement.iterate(...params, ROWS_PER_SCAN)) {
      current = row;
      read += 1;
      last = row.seq;
      const doc = toDoc(row);
      if (!matches(doc)) continue;
      users.push(doc);
      if (users.length === page.limit) break;
    }
    const more = users.length === page.limit || read === ROWS_PER_SCAN;
    return { users, ...(more ? { next: String(last) } : {}) };
  };
}
