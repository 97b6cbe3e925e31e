import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { buildServer } from './app.js';
import { startBackground } from './background.js';
import { bootstrapAdmin } from './bootstrap.js';
import { loadConfig } from './config.js';
import { createDeps } from './deps.js';
import { createLogger } from './observability/logger.js';
import { seedGroups } from './seed.js';
import { drainable, onSignals } from './shutdown.js';
import { claimSpoolDir } from './spool.js';
import { listen, StartupError, startupFailureLine } from './startup.js';
import { checkSharedState, sharedStateWarnings } from './replicas.js';

import { runCommand } from './cli/command.js';
import { SERVICE } from './cli/package-info.js';

async function main(): Promise<void> {
  const config = configOrFail();
  checkSharedState(config);
  const logger = createLogger({ level: config.LOG_LEVEL });
  for (const warning of sharedStateWarnings(config)) logger.warn(warning);
  const spool = await claimSpoolDir();
  // Every temporary file of this process goes to its own folder, the upload spools of
  // graphql-upload-ts included (they follow os.tmpdir(), which reads TMPDIR at each call).
  process.env.TMPDIR = spool.path;
  process.once('exit', () => rmSync(spool.path, { recursive: true, force: true }));
  if (spool.removed.length > 0) logger.info({ removed: spool.removed }, 'removed the upload spools of stopped processes');
  const deps = await createDeps(config, logger);
  if (config.UMS_CONFIG_FILE) {
    const count = await seedGroups(deps, config.UMS_CONFIG_FILE);
    logger.info({ count, file: config.UMS_CONFIG_FILE }, 'user groups loaded');
  }
  await bootstrapAdmin(deps, (line) => process.stdout.write(`${line}\n`));
  const server = buildServer(deps);
  const http = drainable(server);
  await listen(server, config.HTTP_PORT, config.HOST);
  const stopBackground = startBackground(deps);
  const endStreams = () => deps.jobWatches.endAll();
  onSignals({ http, stopBackground, endStreams, close: () => void deps.db.close(), timeoutMs: config.SHUTDOWN_TIMEOUT_MS, logger });
  // Last: whoever waits for this line may signal at once.
  const { address, port } = server.address() as AddressInfo;
  logger.info(
    { address, port, store: config.EMBEDDED_DB_PATH, service: SERVICE.name, version: SERVICE.version },
    'user manager service listening',
  );
}

/** The configuration; a bad variable is named, one line each, with no stack trace. */
function configOrFail() {
  try {
    return loadConfig();
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

// `--help` and `--version` answer without starting anything.
if (!runCommand(process.argv.slice(2))) {
  main().catch((error: unknown) => {
    console.error(startupFailureLine(error));
    process.exit(1);
  });
}
