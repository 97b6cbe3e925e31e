import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpoolDir {
  /** This process's folder: `<tmp>/ums-spool-<uid>/<pid>-<random>`. */
  path: string;
  /** Folders of processes that are gone, removed before this one was made. */
  removed: string[];
}

/**
 * A temporary folder of this process for upload spools. A process killed with -9 cannot remove its
 * own, so each start removes the folders whose owner process is gone; the pid in the name tells,
 * so processes sharing the machine (and the temporary folder) keep theirs. A folder named with
 * this process's own pid is stale too: a container restarted with a kept /tmp gets the same pid.
 */
export async function claimSpoolDir(base: string = tmpdir()): Promise<SpoolDir> {
  const root = join(base, `ums-spool-${process.getuid?.() ?? 'user'}`);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const removed: string[] = [];
  for (const name of await readdir(root)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || (pid !== process.pid && isAlive(pid))) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  const path = await mkdtemp(join(root, `${process.pid}-`));
  return { path, removed };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
