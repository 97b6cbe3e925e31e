import type { Readable } from 'node:stream';
import { type CsvError, type Info, parse, type Options } from 'csv-parse';
import pLimit from 'p-limit';
import { z } from 'zod';
import type { GroupConfig } from '../ports/config-store.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { recordToDoc } from '../domain/csv-cells.js';
import { pace } from '../domain/pace.js';
import { assertSafeFieldPath } from '../domain/safe-names.js';
import { DomainError, during, InvalidInputError } from '../errors.js';
import { requireAdmin } from './access.js';
import { attachExpiration } from './creation-steps.js';
import { isIdentityColumn } from './export-rows.js';
import { ImportedUserRow, parseInput } from './inputs.js';
import { compensate } from './sagas.js';
import { updateUser } from './update-user.js';

/** `PATCH /users/import`'s answer: ids written, and the rows skipped with the reason. */
export interface ImportSummary {
  updated: string[];
  inserted: string[];
  invalid: { row: number; error: string }[];
}

/** A CSV file to import, which can be read more than once (it is spooled to disk). */
export interface CsvUpload {
  open(): Readable;
  /** The multipart text fields: `delimiter`, `encoding`, `escape`. */
  fields: Record<string, string>;
}

/** curl's `-F 'delimiter=";"'` quoting, when a client sends the quotes along. */
const unquote = (value: string) => (value.length > 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value);

const ImportOptions = z.object({
  delimiter: z.string().min(1).max(16).default(',').transform(unquote),
  encoding: z
    .string()
    .default('utf8')
    .refine((value) => Buffer.isEncoding(value), 'must be an encoding Node.js reads (utf8, latin1, utf16le, ascii…)'),
  escape: z
    .string()
    .default('"')
    .transform((value) => (value === 'null' ? null : unquote(value)))
    .refine((value) => value === null || value.length === 1, 'must be one character, or null'),
});

/** Rows updated at once (each update is a PATCH of its own, with its identity-provider side). */
const UPDATE_CONCURRENCY = 8;

/**
 * `PATCH /users/import`: rows with an `_id` update that user (as `PATCH /users/:id` does), the
 * others insert a profile-only user. The file is read twice from disk: first to check that it
 * parses at all (a broken file writes nothing), then in batches of USER_IMPORT_BATCH_SIZE.
 */
export async function importUsers(ctx: Context, upload: CsvUpload): Promise<ImportSummary> {
  await requireAdmin(ctx);
  const { encoding, ...options } = parseInput(ImportOptions, upload.fields, 'body');
  const csv: Options = {
    ...options,
    encoding: encoding as BufferEncoding,
    columns: (header: string[]) => header.map(columnName),
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
  };
  try {
    for await (const _ of upload.open().pipe(parse(csv))) await pace();
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError(`the CSV file cannot be read: ${(error as CsvError).message}`, [
      { path: ['body', 'file'], message: 'not CSV' },
    ]);
  }
  const run = new ImportRun(ctx);
  return during('importing users', async () => {
    try {
      let batch: CsvRow[] = [];
      for await (const row of upload.open().pipe(parse(csv)) as AsyncIterable<CsvRow>) {
        await pace();
        batch.push(row);
        if (batch.length < ctx.deps.config.USER_IMPORT_BATCH_SIZE) continue;
        await run.write(batch);
        batch = [];
      }
      await run.write(batch);
      run.summary.invalid.sort((a, b) => a.row - b.row);
      return run.summary;
    } finally {
      // What was written counts even when a later batch failed.
      const { metrics } = ctx.deps;
      for (const outcome of ['inserted', 'updated', 'invalid'] as const) metrics.importRows(outcome, run.summary[outcome].length);
    }
  });
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

interface CsvRow {
  record: Record<string, string>;
  /**
   * `records` is the row's number among the data rows (1 = the first after the header); `index`
   * its number of cells; `error` set when that differs from the number of columns.
   */
  info: Info & { error?: CsvError; index: number; columns: unknown[] };
}

class ImportRun {
  readonly summary: ImportSummary = { updated: [], inserted: [], invalid: [] };
  private readonly groups = new Map<string, Promise<GroupConfig | undefined>>();

  constructor(private readonly ctx: Context) {}

  /** Writes one batch: its inserts in one store call, then its updates. */
  async write(rows: CsvRow[]): Promise<void> {
    const inserts: { row: number; doc: Record<string, unknown> }[] = [];
    const updates: { row: number; id: string; doc: Record<string, unknown> }[] = [];
    for (const { record, info } of rows) {
      // A batch can hold 10,000 rows, each checked against its group's schema: the loop gets its turns.
      await pace();
      const row = info.records;
      // A short row only lacks its last cells (left empty); a long one has cells that belong to no column.
      if (info.error && info.index > info.columns.length) {
        this.skip(row, info.error.message);
        continue;
      }
      const userGroup = record.userGroup;
      if (!userGroup) {
        this.skip(row, 'userGroup missing on csv record');
        continue;
      }
      const group = await this.group(userGroup);
      if (!group) {
        this.skip(row, `userGroup "${userGroup}" does not exist`);
        continue;
      }
      let converted: Record<string, unknown>;
      try {
        converted = recordToDoc(record, group.crudSchema);
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        this.skip(row, error.message);
        continue;
      }
      const { _id, ...doc } = converted;
      const operator = Object.keys(doc).find((field) => field.startsWith('$'));
      if (operator) this.skip(row, `"${operator}" is not a field name`);
      else if (_id !== undefined) updates.push({ row, id: String(_id), doc });
      else if (this.valid(row, group, doc)) inserts.push({ row, doc });
    }
    await this.insert(inserts);
    const limit = pLimit(UPDATE_CONCURRENCY);
    const updated = await Promise.all(updates.map((update) => limit(() => this.update(update.row, update.id, update.doc))));
    this.summary.updated.push(...updates.filter((_, index) => updated[index]).map((update) => update.id));
  }

  private valid(row: number, group: GroupConfig, doc: Record<string, unknown>): boolean {
    const standard = ImportedUserRow.safeParse(doc);
    if (!standard.success) {
      const issues = standard.error.issues.map((issue) => `${issue.path.join('/')} ${issue.message}`);
      this.skip(row, `invalid json schema, ${issues.join(', ')}`);
      return false;
    }
    try {
      this.ctx.deps.schemas.validateUser(group, doc);
      return true;
    } catch (error) {
      this.skip(row, `invalid json schema, ${(error as Error).message}`);
      return false;
    }
  }

  /** Ordered inserts: a refused row (a duplicate) is skipped and the rest of the batch goes on. */
  private async insert(inserts: { row: number; doc: Record<string, unknown> }[]): Promise<void> {
    let pending = inserts;
    while (pending.length > 0) {
      const result = await this.ctx.deps.users.insertMany(
        pending.map((insert) => insert.doc),
        this.ctx.scope,
      );
      const written = pending.slice(0, result.ids.length);
      const kept = await Promise.all(written.map((insert, index) => this.expire(insert.row, { ...insert.doc, _id: result.ids[index]! })));
      this.summary.inserted.push(...result.ids.filter((_, index) => kept[index]));
      if (!result.failure) return;
      const refused = pending[result.failure.index]!;
      this.skip(refused.row, reason(result.failure.error));
      pending = pending.slice(result.failure.index + 1);
    }
  }

  /** An inserted user with an expirationDate gets its schedule; if that fails, the row is taken back. */
  private async expire(row: number, doc: Record<string, unknown> & { _id: string }): Promise<boolean> {
    if (doc.expirationDate === undefined) return true;
    try {
      await attachExpiration(this.ctx, doc as UserDoc);
      return true;
    } catch (error) {
      await compensate(this.ctx, 'remove an imported user whose expiration failed', () =>
        this.ctx.deps.users.delete(doc._id, { states: ALL_STATES, scope: this.ctx.scope }),
      );
      this.skip(row, reason(error));
      return false;
    }
  }

  private async update(row: number, id: string, doc: Record<string, unknown>): Promise<boolean> {
    try {
      await updateUser(this.ctx, id, doc);
      return true;
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      this.skip(row, reason(error));
      return false;
    }
  }

  private group(userGroup: string): Promise<GroupConfig | undefined> {
    let group = this.groups.get(userGroup);
    if (!group) {
      group = this.ctx.deps.groups.getGroup(userGroup);
      this.groups.set(userGroup, group);
    }
    return group;
  }

  private skip(row: number, error: string): void {
    this.summary.invalid.push({ row, error: `Skipping record: ${error}` });
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
