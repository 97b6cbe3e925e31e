import { type ChildProcess, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { missingBuild } from './helpers/compiled.js';
import { freePort, spawnService } from './helpers/process.js';

const run = promisify(execFile);
const skipped = missingBuild();
const API_KEY = 'backup-test-key-0123456789';

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
});

/** `node dist/backup.js ...args` with EMBEDDED_DB_PATH=db: its exit code and output. */
async function backup(db: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/backup.js', ...args], { env: { ...process.env, EMBEDDED_DB_PATH: db } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe.skipIf(skipped)(`npm run backup -- FILE${skipped ? ` (skipped: ${skipped})` : ''}`, { timeout: 60_000 }, () => {
  it('copies the store while the service writes to it: a whole, consistent store, opened by the service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ums-backup-'));
    const groups = join(dir, 'groups.json');
    writeFileSync(groups, JSON.stringify([{ userGroup: 'g', label: 'G', crudSchema: { type: 'object' } }]));
    const db = join(dir, 'ums.sqlite');
    const port = await freePort();
    const env = { HTTP_PORT: String(port), HOST: '127.0.0.1', EMBEDDED_DB_PATH: db, UMS_CONFIG_FILE: groups, API_KEYS: API_KEY };
    const service = await spawnService({ ...env, BOOTSTRAP_ADMIN_PASSWORD: 'Bootstrap-Passw0rd', LOG_LEVEL: 'info', TMPDIR: dir });
    child = service.child;

    // Creations (a profile and an identity each, in separate writes) keep going during the backup.
    let writing = true;
    let created = 0;
    const create = async (n: number) => {
      const response = await fetch(`http://127.0.0.1:${port}/users/`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ userGroup: 'g', username: `u${n}`, email: `u${n}@example.com` }),
      });
      expect(response.status).toBe(200);
      created += 1;
    };
    const writer = (async () => {
      for (let n = 0; writing || n < 20; n += 1) await create(n);
    })();
    while (created < 10) await new Promise((resolve) => setTimeout(resolve, 20));
    const target = join(dir, 'backups', 'copy.sqlite');
    const result = await backup(db, target);
    writing = false;
    await writer;

    expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^backup of .+ written to .+copy\.sqlite: \d+ bytes in \d+ ms\n$/);
    const copy = new Database(target, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const users = copy.prepare('SELECT count(*) AS n FROM users').get() as { n: number };
      expect(users.n).toBeGreaterThanOrEqual(11); // the administrator and the users created before
      // One moment of the store: every profile's identity is in the copy too.
      const unlinked = copy
        .prepare('SELECT count(*) AS n FROM users WHERE auth_user_id IS NOT NULL AND auth_user_id NOT IN (SELECT id FROM identity_users)')
        .get() as { n: number };
      expect(unlinked.n).toBe(0);
    } finally {
      copy.close();
    }
    expect(existsSync(`${target}-wal`)).toBe(false);

    // The copy is a store the service starts on, with the administrator's password.
    child.kill('SIGTERM');
    await service.exit;
    const restored = await spawnService({ ...env, EMBEDDED_DB_PATH: target, LOG_LEVEL: 'info', TMPDIR: dir });
    child = restored.child;
    const login = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'Bootstrap-Passw0rd' }),
    });
    expect(login.status).toBe(200);
  });

  it('never overwrites a file, and says how it is used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ums-backup-'));
    const db = join(dir, 'ums.sqlite');
    new Database(db).close();
    const existing = join(dir, 'existing.sqlite');
    writeFileSync(existing, 'keep me');
    const refused = await backup(db, existing);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`${existing} exists: a backup never overwrites a file, choose another name`);
    expect((await backup(db)).code).toBe(2);
    expect((await backup(join(dir, 'none.sqlite'), join(dir, 'copy.sqlite'))).stderr).toContain('no such store');
  });
});
