import type { Server } from 'node:http';

/**
 * A start-up failure the operator fixes in the configuration: its message is one line that names
 * the variable (or the port), printed as is instead of a stack trace.
 */
export class StartupError extends Error {}

/** The one line printed when the service cannot start (a native module's message spans several). */
export function startupFailureLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = error instanceof StartupError ? message : `the service could not start: ${message}`;
  return line.replace(/\s*\n\s*/g, ' ');
}

/** Why `listen` failed, in the operator's words. */
function listenFailure(error: NodeJS.ErrnoException, port: number, host: string | undefined): StartupError {
  const where = host === undefined ? `HTTP_PORT ${port}` : `HOST ${host}, HTTP_PORT ${port}`;
  if (error.code === 'EADDRINUSE') return new StartupError(`${where}: cannot listen: the port is already in use`);
  if (error.code === 'EACCES') return new StartupError(`${where}: cannot listen: not allowed`);
  if (error.code === 'EADDRNOTAVAIL') return new StartupError(`HOST ${host}: cannot listen: not an address of this machine`);
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return new StartupError(`HOST ${host}: cannot listen: unknown host name`);
  return new StartupError(`${where}: cannot listen: ${error.message}`);
}

/**
 * Listens on `port` of `host` (every address of the machine, IPv6 and IPv4, when unset), or fails
 * naming HOST or HTTP_PORT.
 */
export function listen(server: Server, port: number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(listenFailure(error, port, host));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
