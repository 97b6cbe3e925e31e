import type { ServerResponse } from 'node:http';
import type { JsonBytes } from '../domain/json-text.js';
import { drainedOrClosed } from './download.js';

/**
 * Writes a JSON answer piece by piece, each once the socket took the one before: the answer is
 * complete before its first byte (its length is known), so it carries a Content-Length, and a
 * client that goes away stops the writing.
 */
export async function sendJsonBytes(res: ServerResponse, status: number, answer: JsonBytes): Promise<void> {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', answer.length);
  for (const chunk of answer.chunks) {
    if (res.destroyed) return;
    if (chunk.byteLength > 0 && !res.write(chunk)) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end();
}
