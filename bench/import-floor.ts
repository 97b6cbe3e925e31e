/**
 * The floor of the import benchmark, in a process of its own: the raw pipeline any CSV import over
 * this store has to run, and nothing else. csv-parse streams the file, ajv validates each row
 * against the group's JSON Schema (the service's options), and the rows go into the service's own
 * `users` table (its migrations: indexes, generated columns, the `$text` triggers) in transactions
 * of ROWS_PER_TRANSACTION. Answers `{ rows, seconds, rowsPerSecond, peakRssMiB }` over IPC.
 */
import { createReadStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'csv-parse';
import { newObjectId } from '../src/crud/ids.js';
import { openDatabase } from '../src/embedded/db.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
const ROWS_PER_TRANSACTION = 1000;

const file = process.env.BENCH_IMPORT_FILE!;
const schema = JSON.parse(process.env.BENCH_SCHEMA!) as { properties: Record<string, { type?: string }> };
const arrays = new Set(Object.entries(schema.properties).flatMap(([field, property]) => (property.type === 'array' ? [field] : [])));
const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'ums-bench-floor-')), 'ums.sqlite'));
const insert = db.prepare('INSERT INTO users (id, state, doc) VALUES (?, ?, ?)');
const insertAll = db.transaction((docs: Record<string, unknown>[]) => {
  for (const { _id, ...doc } of docs) insert.run(_id, 'PUBLIC', JSON.stringify(doc));
});
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

const started = performance.now();
let rows = 0;
let batch: Record<string, unknown>[] = [];
const now = new Date().toISOString();
for await (const record of createReadStream(file).pipe(
  parse({ delimiter: ';', columns: true, bom: true, trim: true, skip_empty_lines: true }),
) as AsyncIterable<Record<string, string>>) {
  rows += 1;
  const doc: Record<string, unknown> = {};
  for (const [field, cell] of Object.entries(record)) {
    if (cell !== '')
      doc[field] = arrays.has(field)
        ? cell
            .slice(1, -1)
            .split(',')
            .map((item) => item.trim())
        : cell;
  }
  if (!validate(doc)) throw new Error(`row ${rows}: ${ajv.errorsText(validate.errors)}`);
  batch.push({ ...doc, _id: newObjectId(), creatorId: 'bench', updaterId: 'bench', createdAt: now, updatedAt: now });
  if (batch.length < ROWS_PER_TRANSACTION) continue;
  insertAll(batch);
  batch = [];
}
insertAll(batch);
const seconds = (performance.now() - started) / 1000;
const stored = (db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
if (stored !== rows) throw new Error(`the floor stored ${stored} of ${rows} rows`);
process.send!({
  rows,
  seconds,
  rowsPerSecond: Math.round(rows / seconds),
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
});
db.close();
process.disconnect();
