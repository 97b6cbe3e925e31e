import { pino } from 'pino';
import { buildServer } from './app.js';
import { startBackground } from './background.js';
import { bootstrapAdmin } from './bootstrap.js';
import { loadConfig } from './config.js';
import { createDeps } from './deps.js';
import { seedGroups } from './seed.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
  const logger = pino({ level: config.LOG_LEVEL, redact: ['password', '*.password', 'req.headers.authorization'] });
  const deps = createDeps(config, logger);
  if (config.UMS_CONFIG_FILE) {
    const count = await seedGroups(deps, config.UMS_CONFIG_FILE);
    logger.info({ count, file: config.UMS_CONFIG_FILE }, 'user groups loaded');
  }
  await bootstrapAdmin(deps, (line) => process.stdout.write(`${line}\n`));
  const stopBackground = startBackground(deps);
  const server = buildServer(deps).listen(config.HTTP_PORT, () => {
    logger.info({ port: config.HTTP_PORT, store: config.EMBEDDED_DB_PATH }, 'user manager service listening');
  });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    stopBackground();
    server.close(() => {
      deps.db.close();
      process.exit(0);
    });
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
