import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildServer } from '../../src/app.js';
import { startBackground } from '../../src/background.js';
import { loadConfig } from '../../src/config.js';
import type { Deps } from '../../src/context.js';
import { createDeps } from '../../src/deps.js';
import { checkSharedState } from '../../src/replicas.js';
import type { RondEmulator } from '../emulators/rond.js';
import type { TimerEmulator } from '../emulators/timer.js';
import type { ServiceOptions } from './service.js';

/**
 * UMS_TEST_REPLICAS=2 (the `replicas` vitest project): two replicas of the service on the same
 * emulators, each with its own embedded file, and `call` alternating between them on every request.
 */
export const REPLICATED = process.env.UMS_TEST_REPLICAS === '2';

/** What replicas must not keep for themselves (REPLICAS=shared): roles in Rönd, schedules in the Timer Service. */
export function sharedEnv({ rond, timer }: { rond: RondEmulator; timer: TimerEmulator }): Record<string, string> {
  return {
    REPLICAS: 'shared',
    ROND_ENABLED: 'true',
    ROND_SERVICE: rond.url,
    TIMER_SERVICE: timer.url,
    TIMER_CALLBACK_SECRET: 'replicas-timer-secret-0123',
  };
}

/**
 * One replica: its own deps (and embedded store) on the shared upstreams, listening on 127.0.0.1.
 * Its port is chosen before it listens (UMS_BASE_URL names it), so another test process may take
 * that port in between: the replica is then made again on another (EADDRINUSE, a few times).
 */
export async function startReplica(env: Record<string, string | undefined>, options: ServiceOptions) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startReplicaOn(await freePort(), env, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 5) throw error;
    }
  }
}

async function startReplicaOn(port: number, env: Record<string, string | undefined>, options: ServiceOptions) {
  const folder = REPLICATED ? mkdtempSync(join(tmpdir(), 'ums-replica-')) : undefined;
  const config = loadConfig({
    UMS_BASE_URL: `http://127.0.0.1:${port}`,
    EMBEDDED_DB_PATH: folder ? join(folder, 'ums.sqlite') : ':memory:',
    ...env,
  });
  // The configuration the replicas run with is one REPLICAS=shared accepts.
  checkSharedState(config);
  // Replicas share the test's clock: one time, as on one machine.
  const base = await createDeps(config, options.logger ?? pino({ level: 'silent' }), { clock: options.clock });
  const deps: Deps = { ...base, ...options.wrap?.(base) };
  const stopBackground = options.background ? startBackground(deps) : () => undefined;
  const server: Server = await new Promise((resolve, reject) => {
    const listening = buildServer(deps).listen(port, '127.0.0.1', () => resolve(listening));
    listening.once('error', (error) => {
      void stopBackground();
      base.db.close();
      if (folder) rmSync(folder, { recursive: true, force: true });
      reject(error);
    });
  });
  const close = () =>
    new Promise<void>((resolve) => {
      void stopBackground();
      server.close(() => {
        base.db.close();
        if (folder) rmSync(folder, { recursive: true, force: true });
        resolve();
      });
      // A test's end needs no drain: a request a test left hanging (a stuck step standing for a dead
      // process) or a client's kept-alive connection held the close for seconds.
      server.closeAllConnections();
    });
  return { deps, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
