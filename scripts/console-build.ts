import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CONSOLE_DIST = join(ROOT, 'dist', 'console');

function newest(folder: string): number {
  let latest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/**
 * The console's build for the browser tests: dist/console is reused while it is newer than every
 * file under console/ (a test run builds it at most once), and built by Vite otherwise (about 2 s).
 */
export async function ensureConsoleBuild(): Promise<string> {
  const index = join(CONSOLE_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(ROOT, 'console'))) return CONSOLE_DIST;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'console', 'vite.config.ts'), logLevel: 'warn' });
  return CONSOLE_DIST;
}
