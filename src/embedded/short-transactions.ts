import { setImmediate } from 'node:timers/promises';
import type { Db } from './db.js';

/** A bulk write's transactions: at most this many rows, and no longer than this once a row is written. */
const ROWS_PER_TRANSACTION = 500;
const TRANSACTION_MS = 10;

/**
 * Calls `write` for each item in short transactions, with a turn of the event loop between them:
 * a bulk write of thousands of rows neither stalls the service nor holds the write lock for long.
 * `write` answers false to stop (a refused row); what was written before it stays.
 */
export async function inShortTransactions<T>(db: Db, items: readonly T[], write: (item: T, index: number) => boolean): Promise<void> {
  let next = 0;
  let stopped = false;
  const slice = db.transaction(() => {
    const began = performance.now();
    const end = Math.min(items.length, next + ROWS_PER_TRANSACTION);
    while (next < end && !stopped && performance.now() - began < TRANSACTION_MS) {
      stopped = !write(items[next]!, next);
      next += 1;
    }
  });
  for (;;) {
    slice.immediate();
    if (stopped || next >= items.length) return;
    await setImmediate();
  }
}
