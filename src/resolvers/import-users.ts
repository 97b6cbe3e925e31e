import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, parse, type Options, type Parser } from 'csv-parse';
import { z } from 'zod';
import type { Context } from '../context.js';
import type { JsonBytes } from '../domain/json-text.js';
import { assertSafeFieldPath } from '../domain/safe-names.js';
import { during, InvalidInputError } from '../errors.js';
import { requireAdmin } from './access.js';
import { type ImportSink, type ImportSummary, JsonAnswerSink, SummarySink } from './import-answer.js';
import { type CsvRow, ImportRun } from './import-run.js';
import { isIdentityColumn } from './export-rows.js';
import { parseInput } from './inputs.js';

export type { ImportSummary } from './import-answer.js';

/** A CSV file to import, which can be read more than once (it is spooled to disk). */
export interface CsvUpload {
  /** The file from its start, read `highWaterMark` bytes at a time. */
  open(options?: { highWaterMark?: number }): Readable;
  /** The multipart text fields: `delimiter`, `encoding`, `escape`. */
  fields: Record<string, string>;
}

/** curl's `-F 'delimiter=";"'` quoting, when a client sends the quotes along. */
const unquote = (value: string) => (value.length > 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value);

const BINARY_TO_TEXT = new Set(['hex', 'base64', 'base64url']);

/**
 * The most columns an import's header may name. csv-parse makes each data row an object with a
 * key per column, empty cells included, and a batch holds USER_IMPORT_BATCH_SIZE of them: a 10 MB
 * file of 100,000 columns held 360 MB for 50 rows, and 64 MB more than 2 GB. An export names the
 * standard fields and those the groups' schemas declare (each schema at most 2,000 values).
 */
export const MAX_COLUMNS = 2000;

const ImportOptions = z.object({
  delimiter: z.string().min(1).max(16).default(',').transform(unquote),
  encoding: z
    .string()
    .default('utf8')
    // hex and base64 are no text encodings: csv-parse decodes its delimiter with them too (a 500).
    .refine(
      (value) => Buffer.isEncoding(value) && !BINARY_TO_TEXT.has(value.toLowerCase()),
      'must be a text encoding Node.js reads (utf8, latin1, utf16le, ascii…)',
    ),
  escape: z
    .string()
    .default('"')
    .transform((value) => (value === 'null' ? null : unquote(value)))
    .refine((value) => value === null || value.length === 1, 'must be one character, or null'),
});

/**
 * Runs an import (`work`: the upload received, then read and written) in one of the replica's
 * USER_IMPORT_MAX_CONCURRENT places, taken once the caller is known to be an administrator and
 * before a byte of the file is read: a 429 when they are all taken. Each import holds its answer
 * (up to tens of MB) and a spooled file (up to USER_IMPORT_MAX_FILE_BYTES), so imports sent all at
 * once grew the process without bound.
 */
export async function inImportPlace<T>(ctx: Context, work: () => Promise<T>): Promise<T> {
  await requireAdmin(ctx);
  const giveBack = ctx.deps.importPlaces.take();
  try {
    return await work();
  } finally {
    giveBack();
  }
}

/** GraphQL's `importUsers`: the outcome of each row, as lists. */
export async function importUsers(ctx: Context, upload: CsvUpload): Promise<ImportSummary> {
  const sink = new SummarySink();
  await runImport(ctx, upload, sink);
  return sink.summary;
}

/** `PATCH /users/import`: the same import, its answer (JSON.stringify of the summary) as bytes. */
export async function importUsersAnswer(ctx: Context, upload: CsvUpload): Promise<JsonBytes> {
  const sink = new JsonAnswerSink();
  await runImport(ctx, upload, sink);
  return sink.answer();
}

/**
 * Rows with an `_id` update that user (as `PATCH /users/:id` does), the others insert a
 * profile-only user. The file is read twice from disk: first to check that it parses at all (a
 * broken file writes nothing), then in batches of USER_IMPORT_BATCH_SIZE.
 */
async function runImport(ctx: Context, upload: CsvUpload, sink: ImportSink): Promise<void> {
  await requireAdmin(ctx);
  const { encoding, ...options } = parseInput(ImportOptions, upload.fields, 'body');
  const csv: Options = {
    ...options,
    encoding: encoding as BufferEncoding,
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
  };
  const tooLong = await checkFile(upload, csv, ctx.deps.config.USER_IMPORT_MAX_ROWS);
  const run = new ImportRun(ctx, sink);
  const size = ctx.deps.config.USER_IMPORT_BATCH_SIZE;
  return during('importing users', async () => {
    try {
      let batch: CsvRow[] = [];
      let row = 0;
      const records = upload
        .open({ highWaterMark: PIECE_BYTES })
        .pipe(quietParse({ ...csv, columns: (header: string[]) => header.map(columnName) }));
      for await (const record of records as AsyncIterable<Record<string, string>>) {
        row += 1;
        batch.push({ row, record, tooLong: tooLong.get(row) });
        if (batch.length < size) continue;
        await run.write(batch);
        batch = [];
      }
      await run.write(batch);
    } finally {
      // What was written counts even when a later batch failed.
      for (const [outcome, count] of Object.entries(run.counts)) ctx.deps.metrics.importRows(outcome as keyof ImportRun['counts'], count);
    }
  });
}

/**
 * The first reading: the whole file parses, its header names no forbidden field and it holds at
 * most `maxRows` data rows (else a 400, and nothing is written). Rows as arrays, without csv-parse's `info` (which cost more than the
 * parsing itself); it answers the message csv-parse gives a row with more cells than columns, by
 * row number, read from the parser's position as the row comes (its `data` events are synchronous).
 */
export async function checkFile(upload: CsvUpload, csv: Options, maxRows: number): Promise<Map<number, string>> {
  const tooLong = new Map<number, string>();
  const parser = quietParse(csv);
  let columns = -1;
  let row = 0;
  parser.on('data', (record: string[]) => {
    if (columns >= 0) {
      row += 1;
      if (row > maxRows) {
        parser.destroy(
          new InvalidInputError(`the CSV file has more than ${maxRows} rows (USER_IMPORT_MAX_ROWS): split it`, [
            { path: ['body', 'file'], message: `more than ${maxRows} rows` },
          ]),
        );
        return;
      }
      if (record.length > columns) {
        const message = `Invalid Record Length: columns length is ${columns}, got ${record.length} on line ${parser.info.lines}`;
        tooLong.set(row, message);
      }
      return;
    }
    try {
      if (record.length > MAX_COLUMNS) {
        throw new InvalidInputError(`the CSV header has more than ${MAX_COLUMNS} columns`, [
          { path: ['body', 'file', 'header'], message: `more than ${MAX_COLUMNS} columns` },
        ]);
      }
      record.forEach(columnName);
      columns = record.length;
    } catch (error) {
      parser.destroy(error as Error);
    }
  });
  try {
    await pipeline(upload.open({ highWaterMark: PIECE_BYTES }), parser);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError(`the CSV file cannot be read: ${(error as CsvError).message}`, [
      { path: ['body', 'file'], message: 'not CSV' },
    ]);
  }
  return tooLong;
}

/**
 * The most of the file csv-parse reads in one go (each read of the file is its own turn of the
 * event loop): it parses what it is given without a pause, and a row with more cells than columns
 * costs it about 30 µs (it builds an error object for each), so a 64 KiB read of two-byte rows held
 * the event loop for a second, in each reading. (Cutting 64 KiB reads into pieces behind an async
 * generator did the same, for about 30 MiB more heap at the peak of an import of 100,000 rows.)
 */
const PIECE_BYTES = 4096;

/**
 * csv-parse, capturing no stack trace for the errors it makes while it parses a piece: it makes one
 * for every row whose cells are not as many as the columns (skipped or reported by row, never
 * thrown), and capturing their stacks, then collecting them, took half of its time and held the
 * event loop a quarter of a second at a time over 24,000 such rows. Its real failures (a quote
 * never closed) become a 400 by their message.
 */
function quietParse(options: Options): Parser {
  const parser = parse(options);
  const transform = parser._transform.bind(parser);
  parser._transform = (chunk, encoding, callback) => withoutStacks(() => transform(chunk, encoding, callback));
  const flush = parser._flush.bind(parser);
  parser._flush = (callback) => withoutStacks(() => flush(callback));
  return parser;
}

function withoutStacks(run: () => void): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    run();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * A header cell, trimmed; `__proto__`, `constructor` and `prototype` are no field names. The
 * identity columns of an export (`identity.lastLogin`…) are read-only: left out (false), so that
 * an export re-imports as it is.
 */
function columnName(cell: string): string | false {
  const name = cell.trim();
  assertSafeFieldPath(name, ['body', 'file', 'header']);
  return isIdentityColumn(name) ? false : name;
}
