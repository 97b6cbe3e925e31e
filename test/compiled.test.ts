import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.js';
import { DIST_MAIN, missingBuild } from './helpers/compiled.js';
import { freePort, spawnService } from './helpers/process.js';

const run = promisify(execFile);
const skipped = missingBuild();
const API_KEY = 'compiled-test-key-0123456789';

const children: ChildProcess[] = [];
/** Services started by npm, killed by process id should npm leave them behind (the defect tested). */
const orphans: number[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const pid of orphans.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already, as it should be.
    }
  }
});

/** A store folder with a group `g`, and the environment of a service on it. */
async function serviceEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'ums-compiled-'));
  const groups = join(dir, 'groups.json');
  writeFileSync(groups, JSON.stringify([{ userGroup: 'g', label: 'G', crudSchema: { type: 'object' } }]));
  const port = await freePort();
  const db = join(dir, 'ums.sqlite');
  const env = {
    HTTP_PORT: String(port),
    HOST: '127.0.0.1',
    EMBEDDED_DB_PATH: db,
    UMS_CONFIG_FILE: groups,
    API_KEYS: API_KEY,
    BOOTSTRAP_ADMIN_PASSWORD: 'Bootstrap-Passw0rd',
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '5000',
    TMPDIR: dir,
  };
  return { env, port, db };
}

/** Reads `socket` until `text` arrived; answers everything read so far. */
async function readUntil(socket: Socket, text: string, sofar = { data: '' }): Promise<string> {
  while (!sofar.data.includes(text)) {
    const [chunk] = (await Promise.race([once(socket, 'data'), once(socket, 'end').then(() => [''])])) as [Buffer | string];
    if (chunk.length === 0) throw new Error(`the connection ended before "${text}": ${sofar.data}`);
    sofar.data += chunk.toString();
  }
  return sofar.data;
}

describe.skipIf(skipped)(`the compiled service, node ${DIST_MAIN}${skipped ? ` (skipped: ${skipped})` : ''}`, { timeout: 30_000 }, () => {
  it('--version prints the name and version of package.json', async () => {
    const { stdout } = await run(process.execPath, [DIST_MAIN, '--version']);
    expect(stdout).toMatch(/^user-manager-service \d+\.\d+\.\d+\S*\n$/);
  });

  it('--help prints the configuration reference: every variable the service reads, with its default', async () => {
    const { stdout } = await run(process.execPath, [DIST_MAIN, '--help']);
    expect(stdout).toContain('Usage: node dist/main.js');
    const missing = CONFIG_VARIABLES.filter((name) => !new RegExp(`^  (?:.* / )?${name}\\b`, 'm').test(stdout));
    expect(missing).toEqual([]);
    expect(stdout).toMatch(/^ {2}HTTP_PORT {2}\(default: 3000\)$/m);
  });

  it('refuses an unknown argument with one line and exit code 2', async () => {
    const failed = await run(process.execPath, [DIST_MAIN, '--port=80']).catch((error: { code: number; stderr: string }) => error);
    expect('code' in failed && failed.code).toBe(2);
    expect((failed as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
  });

  it('on SIGTERM during a request: refuses new connections, finishes the request, closes the store, exits 0', async () => {
    const { env, port, db } = await serviceEnv();
    const service = await spawnService(env, { args: [DIST_MAIN] });
    children.push(service.child);
    const body = JSON.stringify({ userGroup: 'g', username: 'in-flight', email: 'in-flight@example.com' });
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    // With `Expect: 100-continue` the server answers 100 once it has the request: it is then in progress.
    socket.write(
      `POST /users/ HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${API_KEY}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nexpect: 100-continue\r\n\r\n`,
    );
    const read = { data: '' };
    await readUntil(socket, '100 Continue', read);

    service.child.kill('SIGTERM');
    while (!service.output().includes('shutting down')) await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = connect(port, '127.0.0.1');
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    // Refused, or (when the kernel had already queued the connection before the listener closed)
    // reset without an answer: either way no new request is served.
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(error.code);

    socket.write(body);
    const answer = await readUntil(socket, '}', read);
    expect(answer).toMatch(/HTTP\/1\.1 200 OK/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toMatch(/\{"_id":"[0-9a-f]{24}"\}/);
    expect(await service.exit).toBe(0);
    expect(service.output()).toContain('shutdown: drained');
    // The store was closed: closing the last connection checkpoints the WAL and removes its file.
    expect(existsSync(`${db}-wal`)).toBe(false);
    const store = new Database(db, { readonly: true });
    try {
      const row = store.prepare("SELECT auth_user_id FROM users WHERE username = 'in-flight'").get() as { auth_user_id: string | null };
      expect(row.auth_user_id).toBeTruthy();
    } finally {
      store.close();
    }
  });

  it('npm start runs it as one process that SIGTERM reaches through npm', async () => {
    const { env, port } = await serviceEnv();
    // --ignore-scripts skips prestart's build (done already): npm still runs the start script itself.
    const npm = spawn('npm', ['start', '--ignore-scripts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(npm);
    let output = '';
    npm.stdout.on('data', (chunk) => (output += chunk));
    npm.stderr.on('data', (chunk) => (output += chunk));
    while (!output.includes('listening')) {
      expect(npm.exitCode, output).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pid = Number(/"pid":(\d+)/.exec(output)![1]);
    orphans.push(pid);
    expect(pid).not.toBe(npm.pid);
    expect((await fetch(`http://127.0.0.1:${port}/-/healthz`)).status).toBe(200);

    npm.kill('SIGTERM');
    // 'close': the output is read to its end (the last line is written just before the exit).
    const [code] = await once(npm, 'close');
    expect(code).toBe(0);
    expect(output).toContain('shutdown: drained');
    // The service itself is gone, not left running without its parent.
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
