import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from './config.js';
import { StartupError, startupFailureLine } from './startup.js';

/**
 * `npm run backup -- FILE` (in the image: `node dist/backup.js FILE`): copies the embedded store of
 * EMBEDDED_DB_PATH to FILE while the service runs. `VACUUM INTO` reads the store in one read
 * transaction: under WAL it sees one consistent state and never stops the service's writers (the
 * online backup API restarts its copy whenever another connection writes, so a busy service could
 * keep it from ever finishing). The copy is written beside FILE and renamed, so FILE is whole or absent.
 */
export function backupStore(source: string, target: string): { bytes: number; ms: number } {
  if (source === ':memory:') throw new StartupError('EMBEDDED_DB_PATH is :memory:: there is no file to back up');
  if (!existsSync(source)) throw new StartupError(`EMBEDDED_DB_PATH ${source}: no such store`);
  if (existsSync(target)) throw new StartupError(`${target} exists: a backup never overwrites a file, choose another name`);
  const started = Date.now();
  const partial = `${target}.partial-${process.pid}`;
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    mkdirSync(dirname(target), { recursive: true });
    db.prepare('VACUUM INTO ?').run(partial);
    renameSync(partial, target);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new StartupError(`backup of ${source} to ${target} failed: ${(error as Error).message}`);
  } finally {
    db.close();
  }
  return { bytes: statSync(target).size, ms: Date.now() - started };
}

function main(args: string[]): void {
  if (args.length !== 1 || args[0]!.startsWith('-')) {
    process.stderr.write('usage: npm run backup -- FILE (or node dist/backup.js FILE): copies EMBEDDED_DB_PATH to FILE\n');
    process.exitCode = 2;
    return;
  }
  try {
    const source = loadConfig().EMBEDDED_DB_PATH;
    const target = resolve(args[0]!);
    const { bytes, ms } = backupStore(source, target);
    process.stdout.write(`backup of ${source} written to ${target}: ${bytes} bytes in ${ms} ms\n`);
  } catch (error) {
    process.stderr.write(`${startupFailureLine(error)}\n`);
    process.exitCode = 1;
  }
}

main(process.argv.slice(2));
