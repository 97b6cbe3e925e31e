import { JsonBytes } from '../domain/json-text.js';

/** `PATCH /users/import`'s answer: ids written, and the rows skipped with the reason. */
export interface ImportSummary {
  updated: string[];
  inserted: string[];
  invalid: InvalidRow[];
}

export interface InvalidRow {
  row: number;
  error: string;
}

/** Where an import reports each row's outcome, as it goes. */
export interface ImportSink {
  updated(id: string): void;
  inserted(id: string): void;
  /** Rows skipped, in the order of their row numbers (a batch's, sorted). */
  invalid(rows: readonly InvalidRow[]): void;
}

/** The outcomes as arrays: GraphQL's answer, which its list fields read. */
export class SummarySink implements ImportSink {
  readonly summary: ImportSummary = { updated: [], inserted: [], invalid: [] };

  updated(id: string): void {
    this.summary.updated.push(id);
  }

  inserted(id: string): void {
    this.summary.inserted.push(id);
  }

  invalid(rows: readonly InvalidRow[]): void {
    this.summary.invalid.push(...rows);
  }
}

/**
 * The outcomes as the JSON text of REST's answer, kept as bytes: 100,000 ids are 2.6 MB in three
 * buffers rather than 100,000 strings, an array and then their JSON (several times that, all of it
 * for the garbage collector), and the answer is written from these buffers as they are.
 */
export class JsonAnswerSink implements ImportSink {
  private readonly lists = { updated: new JsonList(), inserted: new JsonList(), invalid: new JsonList() };

  updated(id: string): void {
    this.lists.updated.push(id);
  }

  inserted(id: string): void {
    this.lists.inserted.push(id);
  }

  invalid(rows: readonly InvalidRow[]): void {
    // The key order of JSON.stringify(summary): `row`, then `error`.
    for (const { row, error } of rows) this.lists.invalid.push({ row, error });
  }

  /** Byte for byte JSON.stringify of the same summary. */
  answer(): JsonBytes {
    const { updated, inserted, invalid } = this.lists;
    const text = (value: string) => Buffer.from(value);
    return new JsonBytes([
      text('{"updated":['),
      updated.bytes(),
      text('],"inserted":['),
      inserted.bytes(),
      text('],"invalid":['),
      invalid.bytes(),
      text(']}'),
    ]);
  }
}

/** The items of a JSON array, comma-separated, in one buffer that doubles as it fills. */
export class JsonList {
  private buffer = Buffer.allocUnsafe(16 * 1024);
  private used = 0;

  push(value: unknown): void {
    const json = JSON.stringify(value);
    // Bytes needed at most: a comma, and 3 per UTF-16 unit.
    this.reserve(1 + json.length * 3);
    if (this.used > 0) this.buffer[this.used++] = 0x2c;
    this.used += this.buffer.write(json, this.used, 'utf8');
  }

  /** The list's bytes so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.used);
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + bytes));
    this.buffer.copy(next, 0, 0, this.used);
    this.buffer = next;
  }
}
