import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Download } from '../resolvers/export-users.js';
import { DomainError } from '../errors.js';

/**
 * Sends a download as its chunks come, at the client's pace: when the socket's buffer is full
 * (`write` answers false) the next chunk is not even produced until it drains, and a client that
 * goes away ends the producer (its `finally` runs), so an abandoned export costs no more work.
 * The status is sent with the first chunk: a failure before it is thrown to the caller (an
 * ordinary error answer); after it, it can only cut the response short (no terminating chunk),
 * which clients report as an error rather than a complete file.
 */
export async function sendDownload(res: ServerResponse, download: Download, logger: Logger): Promise<void> {
  const chunks = download.chunks[Symbol.asyncIterator]();
  let next: IteratorResult<string>;
  try {
    next = await chunks.next();
  } catch (error) {
    // Nothing is sent yet: the caller answers the error as any other route's.
    await chunks.return?.();
    throw error;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', download.type);
  res.setHeader('Content-Disposition', `attachment; filename="${download.filename}"`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  let ended: 'complete' | 'failed' | 'abandoned' = 'abandoned';
  try {
    while (!next.done) {
      if (res.destroyed) return;
      if (!res.write(next.value)) await drainedOrClosed(res);
      // Checked before the next page is even read: a client that left costs no further read.
      if (res.destroyed) return;
      next = await chunks.next();
    }
    ended = 'complete';
    res.end();
  } catch (error) {
    ended = 'failed';
    // A caller refused mid-way (logged out, demoted) is no failure of the service.
    if (error instanceof DomainError && error.status < 500)
      logger.info({ file: download.filename, reason: error.message }, 'download cut short');
    else logger.error({ err: error, file: download.filename }, 'download failed after its first bytes');
    res.destroy();
  } finally {
    await chunks.return?.();
    if (ended === 'abandoned') logger.info({ file: download.filename }, 'download abandoned by the client: stopped');
  }
}

/** The socket took what was buffered, or the client is gone (whichever comes first); no listener is left behind. */
export function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
