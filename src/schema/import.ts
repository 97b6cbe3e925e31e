import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError, PayloadTooLargeError, TooManyRequestsError } from '../errors.js';
import { requireAdmin } from '../resolvers/access.js';
import { type CsvUpload, type ImportSummary, importUsers, inImportPlace } from '../resolvers/import-users.js';
import { builder } from './builder.js';
import { MUTATION_ERRORS } from './errors.js';

const InvalidRowRef = builder.objectRef<ImportSummary['invalid'][number]>('InvalidImportRow').implement({
  description: 'A row of the file that was skipped.',
  fields: (t) => ({
    row: t.exposeInt('row', { description: 'The data row, 1 being the first after the header.' }),
    error: t.exposeString('error', { description: 'Why it was skipped.' }),
  }),
});

const ImportSummaryRef = builder.objectRef<ImportSummary>('ImportSummary').implement({
  description: 'What an import did with each row of the file.',
  fields: (t) => ({
    updated: t.exposeIDList('updated', { description: 'Profiles updated (rows with an `_id`).' }),
    inserted: t.exposeIDList('inserted', { description: 'Profiles inserted (rows without `_id`), still without identity.' }),
    invalid: t.field({ type: [InvalidRowRef], description: 'Rows skipped, and why.', resolve: (summary) => summary.invalid }),
  }),
});

builder.mutationFields((t) => ({
  importUsers: t.field({
    type: ImportSummaryRef,
    description:
      'PATCH /users/import through a GraphQL multipart request: a CSV with a header row; rows with _id update that user, the others insert profile-only users.',
    errors: { types: [...MUTATION_ERRORS, TooManyRequestsError] },
    args: {
      file: t.arg({ type: 'Upload', required: true, description: 'The CSV file; its first line names the fields.' }),
      delimiter: t.arg.string({ required: false, description: 'The CSV delimiter; "," by default (arrays need another one).' }),
      encoding: t.arg.string({ required: false, description: 'The encoding of the file; "utf8" by default.' }),
      escape: t.arg.string({ required: false, description: 'One character, or "null" for none.' }),
    },
    resolve: async (_root, { file, ...options }, ctx) => {
      // Before anything is written to disk: a stranger's file is not even spooled.
      await requireAdmin(ctx);
      const fields = Object.fromEntries(Object.entries(options).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
      return inImportPlace(ctx, async () => {
        const upload = await receivedUpload(file);
        return withSpooledCopy(
          () => upload.createReadStream(),
          (open) => importUsers(ctx, { open, fields }),
        );
      });
    },
  }),
}));

/**
 * The upload, once its part arrived. graphql-upload rejects it with its own error when the request
 * was malformed (the map names a file the request does not hold): the client's mistake, a 400
 * like an unreadable file, not a failure of the service.
 */
async function receivedUpload<T>(file: Promise<T> | T): Promise<T> {
  try {
    return await file;
  } catch (error) {
    const { status, message } = error as Error & { status?: number };
    if (status === 413) throw new PayloadTooLargeError(message);
    if (typeof status === 'number' && status >= 400 && status < 500)
      throw new InvalidInputError(`the upload could not be read: ${message}`);
    throw error;
  }
}

/**
 * Copies the upload to a temporary file before the import reads it (twice): the upload may still
 * be arriving, and a file over USER_IMPORT_MAX_FILE_BYTES then fails the copy, not a half-done import.
 */
async function withSpooledCopy<T>(source: () => Readable, use: (open: CsvUpload['open']) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ums-upload-'));
  try {
    const path = join(dir, 'file');
    // An upload that already failed (over the size limit) throws from createReadStream itself.
    await (async () => pipeline(source(), createWriteStream(path)))().catch((error: Error & { status?: number }) => {
      if (error.status === 413) throw new PayloadTooLargeError(error.message);
      throw new InvalidInputError(`the upload could not be read: ${error.message}`);
    });
    return await use((options) => createReadStream(path, options));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
