import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
});

function start(env: Record<string, string>): Promise<{ output: () => string; exit: Promise<number | null> }> {
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child!.on('exit', resolve));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('listening')) {
        clearInterval(timer);
        resolve({ output: () => output, exit });
      }
    }, 50);
    void exit.then((code) => {
      clearInterval(timer);
      if (!output.includes('listening')) resolve({ output: () => output, exit: Promise.resolve(code) });
    });
    setTimeout(() => reject(new Error(`no start: ${output}`)), 15_000);
  });
}

describe('npm start (src/main.ts)', () => {
  it('creates the store file and an administrator, seeds groups, serves on HTTP_PORT and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ums-main-'));
    const groups = join(dir, 'groups.json');
    writeFileSync(groups, JSON.stringify([{ userGroup: 'g', label: 'G', crudSchema: { type: 'object' } }]));
    const db = join(dir, 'nested', 'ums.sqlite');
    const port = String(20_000 + Math.floor(Math.random() * 20_000));
    const started = await start({
      HTTP_PORT: port,
      EMBEDDED_DB_PATH: db,
      UMS_CONFIG_FILE: groups,
      LOG_LEVEL: 'info',
      COOKIE_SECURE: 'false',
    });
    expect(existsSync(db)).toBe(true);
    const printed = /username "admin", password "([^"]+)"/.exec(started.output());
    expect(printed).not.toBeNull();
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: printed![1] }),
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const created = await fetch(`${base}/users/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ userGroup: 'g', username: 'first' }),
    });
    expect(created.status).toBe(200);
    expect((await fetch(`${base}/users/`)).status).toBe(401);
    child!.kill('SIGTERM');
    expect(await started.exit).toBe(0);
  });

  it('refuses to start with a bad variable and names it', async () => {
    const started = await start({ HTTP_PORT: 'nope' });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('HTTP_PORT');
  });
});
