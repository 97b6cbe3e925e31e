import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimSpoolDir } from '../src/spool.js';

/** A pid no process has: above Linux's largest pid_max (2^22). */
const DEAD_PID = 4_194_305;
const root = (base: string) => join(base, `ums-spool-${process.getuid?.() ?? 'user'}`);

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
});

describe('upload spool folder', () => {
  it('removes the folders of processes that are gone, and keeps those of running ones', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ums-spool-test-'));
    mkdirSync(join(root(base), `${DEAD_PID}-abc123`, 'upload'), { recursive: true });
    mkdirSync(join(root(base), `${process.pid}-from-an-earlier-life`), { recursive: true });
    mkdirSync(join(root(base), `${process.ppid}-running`), { recursive: true });
    mkdirSync(join(root(base), 'not-ours'), { recursive: true });

    const spool = await claimSpoolDir(base);
    expect(spool.removed.toSorted()).toEqual([`${DEAD_PID}-abc123`, `${process.pid}-from-an-earlier-life`].toSorted());
    expect(spool.path.startsWith(join(root(base), `${process.pid}-`))).toBe(true);
    expect(readdirSync(root(base)).toSorted()).toEqual([`${process.ppid}-running`, 'not-ours', spool.path.split('/').at(-1)].toSorted());
  });

  it('the service cleans a killed process spools at start and removes its own on exit', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ums-spool-main-'));
    const stale = join(root(base), `${DEAD_PID}-killed`);
    mkdirSync(join(stale, 'ums-upload-x'), { recursive: true });
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, TMPDIR: base, HTTP_PORT: '0', EMBEDDED_DB_PATH: join(base, 'ums.sqlite'), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exit = once(child, 'exit');
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (chunk) => {
        output += chunk;
        if (output.includes('listening')) resolve();
      });
      void exit.then(() => reject(new Error(output)));
    });
    expect(existsSync(stale)).toBe(false);
    const own = readdirSync(root(base));
    expect(own).toEqual([expect.stringMatching(new RegExp(`^${child.pid}-`))]);
    child.kill('SIGTERM');
    expect((await exit)[0]).toBe(0);
    expect(readdirSync(root(base))).toEqual([]);
  }, 60_000);
});
