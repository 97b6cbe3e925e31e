import type { GroupConfig } from '../ports/config-store.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { inKeyOrder } from '../domain/keyed-order.js';
import { expiresLater } from '../domain/expiration.js';
import { ALL_STATES } from '../crud/states.js';
import { recordToDoc } from '../domain/csv-cells.js';
import { pace } from '../domain/pace.js';
import { describeCause, DomainError, InvalidInputError } from '../errors.js';
import { tryAttachExpiration } from './creation-steps.js';
import { abortExpiration } from './expiration.js';
import type { ImportSink, InvalidRow } from './import-answer.js';
import { plainStandardFields } from './import-fields.js';
import { ImportedUserRow } from './inputs.js';
import { compensate } from './saga-steps.js';
import { updateUser } from './update-user.js';
import { guardExpiries, type ScheduleRecorder } from './expiry-intents.js';
import { shownId } from '../domain/input-limits.js';
import { cutText } from '../domain/shown-text.js';

/** A data row of the file: its number (1 = the first after the header) and its cells by column. */
export interface CsvRow {
  row: number;
  record: Record<string, string>;
  /** csv-parse's message for a row with more cells than columns (such a row is skipped). */
  tooLong?: string;
}

/** Rows updated at once (each update is a PATCH of its own, with its identity-provider side). */
const UPDATE_CONCURRENCY = 8;
/** Rows checked between two calls of `pace` (a call per row cost more than the checks of some rows). */
const ROWS_PER_PACE = 32;
/**
 * The longest reason the answer gives for a skipped row, `Skipping record: ` and `…` included. A
 * reason lists every issue of the row (up to 2,048 characters, a group with many required fields),
 * so a 2-byte row cost 2 KB of answer; the first issues say what to fix, the row number where.
 */
export const MAX_ROW_REASON = 512;

interface Group {
  config: GroupConfig;
  validate: (user: Record<string, unknown>) => void;
}

interface Insert {
  row: number;
  doc: Record<string, unknown>;
  /** Its expirationDate was ahead when the row was checked: it is scheduled, whenever that is. */
  expires?: boolean;
}

interface Update extends Insert {
  id: string;
}

/**
 * Writes an import's batches and reports each row's outcome to its sink as it is known. A batch's
 * rows are checked without a pause per row (their groups are read first), inserted in one store
 * call, then updated; its skipped rows go to the sink in row order.
 */
export class ImportRun {
  /** What was written or skipped so far, even when a later batch fails (the metrics count it). */
  readonly counts = { inserted: 0, updated: 0, invalid: 0 };
  private readonly groups = new Map<string, Group | undefined>();
  private skipped: InvalidRow[] = [];
  /** A row of the batch could not be taken back after its schedule failed: its intent goes to the reconciler. */
  private untaken = false;

  constructor(
    private readonly ctx: Context,
    private readonly sink: ImportSink,
  ) {}

  async write(rows: readonly CsvRow[]): Promise<void> {
    await this.readGroups(rows);
    const inserts: Insert[] = [];
    const updates: Update[] = [];
    for (const [index, row] of rows.entries()) {
      // A batch can hold 10,000 rows, each checked against its group's schema: the loop gets its turns.
      if (index % ROWS_PER_PACE === ROWS_PER_PACE - 1) await pace();
      const update = this.check(row);
      if (update && 'id' in update) updates.push(update);
      else if (update) inserts.push(update);
    }
    await this.insert(inserts);
    await this.update(updates);
    const skipped = this.skipped.sort((a, b) => a.row - b.row);
    this.skipped = [];
    this.sink.invalid(skipped);
  }

  /** The row as an insert or an update, or undefined when it is skipped. */
  private check({ row, record, tooLong }: CsvRow): Insert | Update | undefined {
    // A short row only lacks its last cells (left empty); a long one has cells that belong to no column.
    if (tooLong) return this.skip(row, tooLong);
    const userGroup = record.userGroup;
    if (!userGroup) return this.skip(row, 'userGroup missing on csv record');
    const group = this.groups.get(userGroup);
    if (!group) return this.skip(row, `userGroup "${shownId(userGroup)}" does not exist`);
    let converted: Record<string, unknown>;
    try {
      converted = recordToDoc(record, group.config.crudSchema);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return this.skip(row, error.message);
    }
    const { _id, ...doc } = converted;
    const operator = Object.keys(doc).find((field) => field.startsWith('$'));
    if (operator) return this.skip(row, `"${operator}" is not a field name`);
    // The bound POST /users/ and PATCH /users/:id keep (413): a user no request could have sent.
    const maxBytes = this.ctx.deps.config.BODY_LIMIT_BYTES;
    if (Buffer.byteLength(JSON.stringify(converted)) > maxBytes) {
      return this.skip(row, `the user would be larger than ${maxBytes} bytes (BODY_LIMIT_BYTES)`);
    }
    if (_id !== undefined) return { row, id: String(_id), doc };
    // A new user's field holding a dot is refused as POST /users/ refuses it (a row with `_id` is a
    // PATCH, whose `a.b` is the path into `a`): the embedded store wrote it as a top-level name no query reads.
    const dotted = Object.keys(doc).find((field) => field.includes('.'));
    if (dotted) return this.skip(row, `"${dotted}" is not a field name`);
    if (!this.valid(row, group, doc)) return undefined;
    // One instant decides: a date ahead now is scheduled even if it goes by during the batch (the
    // schedule then fires at once); one gone by is blocked, as its schedule would have blocked it.
    const expires = expiresLater(doc, this.ctx.deps.clock.now());
    if (doc.expirationDate !== undefined && !expires) doc.blocked = true;
    return { row, doc, expires };
  }

  /** The groups the batch names that are not known yet, one read each. */
  private async readGroups(rows: readonly CsvRow[]): Promise<void> {
    for (const { record } of rows) {
      const name = record.userGroup;
      if (!name || this.groups.has(name)) continue;
      const config = await this.ctx.deps.groups.getGroup(name);
      this.groups.set(name, config && { config, validate: this.ctx.deps.schemas.userValidator(config) });
    }
  }

  private valid(row: number, group: Group, doc: Record<string, unknown>): boolean {
    const standard = plainStandardFields(doc) ? { success: true as const } : ImportedUserRow.safeParse(doc);
    if (!standard.success) {
      const issues = standard.error.issues.map((issue) => `${issue.path.join('/')} ${issue.message}`);
      this.skip(row, `invalid json schema, ${issues.join(', ')}`);
      return false;
    }
    try {
      group.validate(doc);
      return true;
    } catch (error) {
      this.skip(row, `invalid json schema, ${(error as Error).message}`);
      return false;
    }
  }

  /**
   * Ordered inserts: a refused row (a duplicate) is skipped and the rest of the batch goes on. The
   * inserted rows are reported once their groups are read again (see `stillGrouped`).
   */
  private async insert(inserts: Insert[]): Promise<void> {
    // If the process dies before the schedules of the rows with a date, the reconciler makes them.
    this.untaken = false;
    await guardExpiries(
      this.ctx,
      inserts.filter((insert) => insert.expires).map(({ doc }) => doc),
      async (made) => {
        await this.insertAll(inserts, made);
        return !this.untaken;
      },
    );
  }

  private async insertAll(inserts: Insert[], made?: ScheduleRecorder): Promise<void> {
    const stored: (Insert & { _id: string })[] = [];
    let pending = inserts;
    while (pending.length > 0) {
      const result = await this.ctx.deps.users.insertMany(
        pending.map((insert) => insert.doc),
        this.ctx.scope,
      );
      // Only a row whose date was ahead when checked has a further step (its schedule), run concurrently.
      const steps = result.ids.map((_id, index) => {
        const { row, doc, expires } = pending[index]!;
        return !expires || this.expire(row, { ...doc, _id }, made);
      });
      const kept = steps.every((step) => step === true) ? steps : await Promise.all(steps);
      for (const [index, _id] of result.ids.entries()) if (kept[index]) stored.push({ ...pending[index]!, _id });
      if (!result.failure) break;
      const refused = pending[result.failure.index]!;
      this.skip(refused.row, reason(result.failure.error));
      pending = pending.slice(result.failure.index + 1);
    }
    const grouped = await this.stillGrouped(stored);
    for (const { _id } of grouped) this.inserted(_id);
  }

  /**
   * The stored rows whose group still exists, read once per group and batch; the others are
   * deleted and skipped. deleteUserGroup counts a group's users after its delete, so either it saw
   * these rows and put the group back, or this read finds the group gone: no imported user is left
   * without its group, even when the group was deleted after the run first read it.
   */
  private async stillGrouped(stored: (Insert & { _id: string })[]): Promise<(Insert & { _id: string })[]> {
    const names = new Set(stored.map(({ doc }) => doc.userGroup as string));
    const gone = new Set<string>();
    for (const name of names) {
      if (await this.ctx.deps.groups.getGroup(name)) continue;
      gone.add(name);
      this.groups.set(name, undefined);
    }
    if (gone.size === 0) return stored;
    const orphaned = ({ doc }: Insert) => gone.has(doc.userGroup as string);
    for (const insert of stored.filter(orphaned)) {
      await compensate(this.ctx, 'remove an imported user whose group was deleted', () =>
        this.ctx.deps.users.delete(insert._id, { states: ALL_STATES, scope: this.ctx.scope }),
      );
      this.skip(insert.row, `userGroup "${shownId(insert.doc.userGroup)}" does not exist`);
    }
    return stored.filter((insert) => !orphaned(insert));
  }

  /**
   * An inserted user with an expirationDate gets its schedule; if that fails, the row is taken back
   * and its schedule aborted. A row left behind (the store down) keeps the schedule: the reconciler
   * links it (it is saved in the intent), or its user points to it already (a lost answer).
   */
  private async expire(row: number, doc: Record<string, unknown> & { _id: string }, made?: ScheduleRecorder): Promise<boolean> {
    const attached = await tryAttachExpiration(this.ctx, doc as UserDoc, made && ((expirationId) => made(doc._id, expirationId)));
    if (!attached.failed) return true;
    const taken = await compensate(this.ctx, 'remove an imported user whose expiration failed', () =>
      this.ctx.deps.users.delete(doc._id, { states: ALL_STATES, scope: this.ctx.scope }),
    );
    if (taken) await abortExpiration(this.ctx, attached.expirationId);
    this.untaken ||= !taken;
    // The service's words only: a job store's or driver's own text stays in the log.
    this.ctx.deps.logger.warn({ err: attached.error, requestId: this.ctx.requestId }, 'an imported row whose expiration failed is skipped');
    this.skip(row, describeCause(attached.error));
    return false;
  }

  private async update(updates: Update[]): Promise<void> {
    const done = await inKeyOrder(
      updates,
      (update) => update.id,
      UPDATE_CONCURRENCY,
      ({ row, id, doc }) => this.updateOne(row, id, doc),
    );
    for (const [index, { id }] of updates.entries()) {
      if (!done[index]) continue;
      this.counts.updated += 1;
      this.sink.updated(id);
    }
  }

  private async updateOne(row: number, id: string, doc: Record<string, unknown>): Promise<boolean> {
    try {
      await updateUser(this.ctx, id, doc);
      return true;
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      this.skip(row, reason(error));
      return false;
    }
  }

  private inserted(id: string): void {
    this.counts.inserted += 1;
    this.sink.inserted(id);
  }

  private skip(row: number, error: string): undefined {
    this.counts.invalid += 1;
    this.skipped.push({ row, error: rowReason(error) });
    return undefined;
  }
}

function rowReason(error: string): string {
  const reason = `Skipping record: ${error}`;
  // At most MAX_ROW_REASON characters, `…` included.
  return reason.length <= MAX_ROW_REASON ? reason : cutText(reason, MAX_ROW_REASON - 1);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
