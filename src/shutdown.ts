import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Logger } from 'pino';

/** How often a drain looks again at what is left (idle connections, ended handlers). */
const POLL_MS = 20;
/**
 * How long a connection idle at the signal may still send a request (answered with `Connection:
 * close`) before it is closed: a busy client's next request is already on its way.
 */
const IDLE_GRACE_MS = 250;

export interface Drainable {
  /**
   * Stops accepting connections, answers `Connection: close` on the open ones and closes those idle
   * after a short grace, and answers once every connection is closed and every handler has ended. When `signal` aborts
   * first, the connections left are cut: answers how many requests were still in progress.
   */
  drain(signal: AbortSignal): Promise<{ cut: number }>;
}

/**
 * Tracks the requests of `server` from now on, so a drain knows which are in progress. A request
 * counts until its handler ended its answer, even when its client went away: an operation
 * (a saga) keeps running after a disconnect, and the store must stay open until it ends.
 */
export function drainable(server: Server): Drainable {
  const inProgress = new Set<ServerResponse>();
  let draining = false;
  // First listener, so the header is set before the app can answer.
  server.prependListener('request', (_request, response: ServerResponse) => {
    if (draining) response.setHeader('connection', 'close');
    inProgress.add(response);
    response.once('finish', () => inProgress.delete(response));
  });
  const prune = () => {
    for (const response of inProgress) if (response.writableEnded && response.destroyed) inProgress.delete(response);
  };
  return {
    async drain(signal) {
      draining = true;
      for (const response of inProgress) if (!response.headersSent) response.setHeader('connection', 'close');
      let closed = false;
      // Stops listening; the callback waits for every connection to close. Not http's close(), which
      // also closes the connections idle at this instant: a client may be sending its next request
      // on one of them, which would then get no answer.
      NetServer.prototype.close.call(server, () => (closed = true));
      const graceEnd = Date.now() + IDLE_GRACE_MS;
      while (!signal.aborted) {
        prune();
        if (closed && inProgress.size === 0) return { cut: 0 };
        // Busy clients have had a `Connection: close` answer by now; the connections left are idle ones,
        // and those whose answer was already under way at the signal.
        if (Date.now() >= graceEnd) server.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      prune();
      const cut = inProgress.size;
      server.closeAllConnections();
      return { cut };
    },
  };
}

export interface ShutdownOptions {
  http: Drainable;
  /** Stops the scheduler and the job worker (handing back job leases); must answer soon after `signal` aborts. */
  stopBackground: (signal: AbortSignal) => Promise<void>;
  /** Ends the streams that would not end by themselves (live job progress), before the drain waits for them. */
  endStreams?: () => void;
  /** Closes the store, once nothing uses it any more. */
  close: () => void | Promise<void>;
  timeoutMs: number;
  logger: Logger;
}

/**
 * The drain on SIGTERM: requests and background work get `timeoutMs` less a reserve (for handing
 * back leases and closing the store) to end; answers the exit code, 0 when nothing was cut.
 */
export async function shutdown(options: ShutdownOptions): Promise<number> {
  const { http, stopBackground, close, timeoutMs, logger } = options;
  const started = Date.now();
  options.endStreams?.();
  const deadline = new AbortController();
  const reserve = Math.min(1000, Math.floor(timeoutMs / 5));
  const timer = setTimeout(() => deadline.abort(), timeoutMs - reserve);
  try {
    const [{ cut }] = await Promise.all([http.drain(deadline.signal), stopBackground(deadline.signal)]);
    await close();
    const ms = Date.now() - started;
    if (cut > 0) logger.warn({ ms, cut }, `shutdown: ${cut} requests still in progress were cut after ${timeoutMs - reserve} ms`);
    else logger.info({ ms }, 'shutdown: drained');
    return cut > 0 ? 1 : 0;
  } finally {
    clearTimeout(timer);
  }
}

/** On SIGTERM or SIGINT (once), shuts down and exits with its code; exits 1 should closing itself hang. */
export function onSignals(options: ShutdownOptions): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal, timeoutMs: options.timeoutMs }, 'shutting down');
    // The last resort: a close that hangs (an upstream that never answers a lease hand-back).
    setTimeout(() => process.exit(1), options.timeoutMs).unref();
    process.exit(await shutdown(options));
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
