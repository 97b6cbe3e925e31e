import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { InvalidInputError, PayloadTooLargeError } from '../errors.js';

/** A multipart request once received: its one file spooled to disk, and its text fields. */
interface SpooledUpload {
  /** Path of the spooled file; removed by `discard`. */
  path: string;
  /** The file's own name, as the client gave it. */
  filename: string;
  fields: Record<string, string>;
  discard(): Promise<void>;
}

/**
 * Receives a multipart body with one file field (`fileField`) and some text fields. The file is
 * streamed to a temporary file, so memory stays flat however large it is; it is spooled rather
 * than parsed on the fly because its options (a CSV delimiter…) may come after it in the body.
 */
async function receiveUpload(
  stream: Readable,
  headers: IncomingHttpHeaders,
  options: { fileField: string; maxFileBytes: number },
): Promise<SpooledUpload> {
  if (!String(headers['content-type'] ?? '').startsWith('multipart/form-data')) {
    throw new InvalidInputError('the request must be multipart/form-data with a file field', [
      { path: ['body', options.fileField], message: 'required' },
    ]);
  }
  // Started by main.ts, tmpdir() is this process's own spool folder, cleaned at the next start after a kill -9.
  const dir = await mkdtemp(join(tmpdir(), 'ums-upload-'));
  const discard = () => rm(dir, { recursive: true, force: true });
  try {
    return { ...(await receive(stream, headers, options, join(dir, 'file'))), discard };
  } catch (error) {
    stream.resume();
    await discard();
    throw error;
  }
}

/**
 * Runs `use` on the request's uploaded file (readable as many times as needed) and its fields,
 * then removes the spooled file.
 */
export async function withUpload<T>(
  request: IncomingMessage | undefined,
  options: { fileField: string; maxFileBytes: number },
  use: (upload: { open(options?: { highWaterMark?: number }): Readable; fields: Record<string, string> }) => Promise<T>,
): Promise<T> {
  if (!request) throw new InvalidInputError('this path needs the request body as a stream');
  const upload = await receiveUpload(request, request.headers, options);
  try {
    return await use({ open: (options) => createReadStream(upload.path, options), fields: upload.fields });
  } finally {
    await upload.discard();
  }
}

function receive(
  stream: Readable,
  headers: IncomingHttpHeaders,
  options: { fileField: string; maxFileBytes: number },
  path: string,
): Promise<Omit<SpooledUpload, 'discard'>> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers, limits: { files: 1, fields: 20, fieldSize: 64 * 1024, fileSize: options.maxFileBytes } });
    } catch (error) {
      reject(new InvalidInputError(`malformed multipart body: ${(error as Error).message}`));
      return;
    }
    // Field names come from the client: an object with no prototype, so `__proto__` is just a name.
    const fields = Object.create(null) as Record<string, string>;
    let filename: string | undefined;
    let spooled: Promise<void> | undefined;
    let failure: Error | undefined;
    const fail = (error: Error) => (failure ??= error);
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (name, file, info) => {
      if (name !== options.fileField || spooled) {
        file.resume();
        return;
      }
      filename = info.filename ?? 'file';
      file.on('limit', () => fail(new PayloadTooLargeError(`the file is larger than ${options.maxFileBytes} bytes`)));
      spooled = pipeline(file, createWriteStream(path)).catch((error: Error) => void fail(error));
    });
    parser.on('filesLimit', () => fail(new InvalidInputError('only one file may be sent')));
    parser.on('error', (error: Error) => reject(failure ?? new InvalidInputError(`malformed multipart body: ${error.message}`)));
    parser.on('close', () => {
      void (spooled ?? Promise.resolve()).then(() => {
        if (failure) reject(failure);
        else if (filename === undefined) {
          reject(
            new InvalidInputError(`the ${options.fileField} field is required`, [
              { path: ['body', options.fileField], message: 'required' },
            ]),
          );
        } else resolve({ path, filename, fields });
      });
    });
    stream.pipe(parser);
    // `pipe` does not tell the parser of a client that left mid-body: it would wait for the rest
    // for good, its spooled file open. An aborted request ends the parser, which ends the file.
    finished(stream).catch(() => parser.destroy(new InvalidInputError('the upload was cut short by the client')));
  });
}
