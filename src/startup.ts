import type { Server } from 'node:http';

/**
 * A start-up failure the operator fixes in the configuration: its message is one line that names
 * the variable (or the port), printed as is instead of a stack trace.
 */
export class StartupError extends Error {}

/** The one line printed when the service cannot start. */
export function startupFailureLine(error: unknown): string {
  if (error instanceof StartupError) return error.message;
  return `the service could not start: ${error instanceof Error ? error.message : String(error)}`.replaceAll('\n', ' ');
}

/** Listens on `port`, or fails naming HTTP_PORT (in use, or not allowed). */
export function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is already in use' : error.code === 'EACCES' ? 'not allowed' : error.message;
      reject(new StartupError(`HTTP_PORT ${port}: cannot listen: ${why}`));
    };
    server.once('error', failed);
    server.listen(port, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
