import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A port free on 127.0.0.1 right now (for a service started in another process). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface SpawnedService {
  child: ChildProcess;
  /** Everything it wrote so far, standard output and error together. */
  output: () => string;
  /** Its exit code (null when killed by a signal). */
  exit: Promise<number | null>;
}

/** The service's source through tsx (no build needed), or the compiled `dist/main.js` production runs. */
export const TSX_MAIN = ['--import', 'tsx', 'src/main.ts'];

/**
 * Starts the service in a process of its own with `env` added, from its source by default or from
 * `args` (e.g. `['dist/main.js']`), with `cwd`; answers once it logs that it listens (LOG_LEVEL info
 * or lower), or rejects with its output if it exits first.
 */
export async function spawnService(
  env: Record<string, string>,
  { args = TSX_MAIN, cwd }: { args?: string[]; cwd?: string } = {},
): Promise<SpawnedService> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('listening')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exit.then(() => reject(new Error(`the service did not start: ${output}`)));
  });
  return { child, output: () => output, exit };
}
