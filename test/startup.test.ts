import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST_MAIN, missingBuild } from './helpers/compiled.js';

const dir = mkdtempSync(join(tmpdir(), 'ums-startup-'));
const servers: Server[] = [];
afterAll(() => servers.forEach((server) => server.close()));

const skipped = missingBuild();

/**
 * Runs the compiled service (what production runs, and three times faster to start than through
 * tsx) until it exits (it must not start); answers its exit code and standard error.
 */
async function failedStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [DIST_MAIN], {
    env: { ...process.env, LOG_LEVEL: 'silent', TMPDIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
  // 'close', not 'exit': the process may exit before its standard error has been read (it was
  // empty once in CI, under load), and 'close' waits for its streams too.
  const [code] = await once(child, 'close');
  clearTimeout(timer);
  return { code: code as number | null, stderr };
}

/** A TCP port that refuses or holds connections: a listening server the test owns. */
async function occupiedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A free port: nobody listens there, so connections are refused. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function expectOneLine(result: { code: number | null; stderr: string }, ...words: string[]) {
  expect(result.code).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  for (const word of words) expect(lines[0]).toContain(word);
  expect(lines[0]).not.toMatch(/\s at /);
}

// Each start loads the whole service: seconds each on a busy machine.
describe
  .skipIf(skipped)
  .concurrent(
    `start-up failures: one line naming the variable, exit code 1${skipped ? ` (skipped: ${skipped})` : ''}`,
    { timeout: 60_000 },
    () => {
      it('a port in use names HTTP_PORT and the port', async () => {
        const port = await occupiedPort();
        const result = await failedStart({ HTTP_PORT: String(port), EMBEDDED_DB_PATH: join(dir, 'port.sqlite') });
        expectOneLine(result, 'HTTP_PORT', String(port), 'already in use');
      });

      it('an EMBEDDED_DB_PATH that cannot be opened (under a file) names it', async () => {
        const file = join(dir, 'a-file');
        writeFileSync(file, 'not a folder');
        const result = await failedStart({ HTTP_PORT: '0', EMBEDDED_DB_PATH: join(file, 'ums.sqlite') });
        expectOneLine(result, 'EMBEDDED_DB_PATH', file);
      });

      it('an EMBEDDED_DB_PATH that is not a database names it', async () => {
        const file = join(dir, 'not-a-database.sqlite');
        writeFileSync(file, 'x'.repeat(4096));
        const result = await failedStart({ HTTP_PORT: '0', EMBEDDED_DB_PATH: file });
        expectOneLine(result, 'EMBEDDED_DB_PATH', file);
      });

      it('a weak BOOTSTRAP_ADMIN_PASSWORD names it and the policy', async () => {
        const result = await failedStart({
          HTTP_PORT: '0',
          EMBEDDED_DB_PATH: join(dir, 'weak.sqlite'),
          BOOTSTRAP_ADMIN_PASSWORD: 'password',
        });
        expectOneLine(result, 'BOOTSTRAP_ADMIN_PASSWORD', 'at least 8');
      });

      it('a missing UMS_CONFIG_FILE names it', async () => {
        const missing = join(dir, 'no-such-groups.json');
        const result = await failedStart({ HTTP_PORT: '0', EMBEDDED_DB_PATH: join(dir, 'missing.sqlite'), UMS_CONFIG_FILE: missing });
        expectOneLine(result, 'UMS_CONFIG_FILE', missing, 'cannot be read');
      });

      it('a UMS_CONFIG_FILE that is not JSON names it', async () => {
        const malformed = join(dir, 'malformed.json');
        writeFileSync(malformed, '[{"userGroup": "g",}');
        const result = await failedStart({ HTTP_PORT: '0', EMBEDDED_DB_PATH: join(dir, 'malformed.sqlite'), UMS_CONFIG_FILE: malformed });
        expectOneLine(result, 'UMS_CONFIG_FILE', malformed, 'not valid JSON');
      });

      it('a UMS_CONFIG_FILE whose groups are not group documents names it and the field', async () => {
        const wrong = join(dir, 'wrong.json');
        writeFileSync(wrong, JSON.stringify([{ userGroup: 'g', crudSchema: { type: 'object' } }]));
        const result = await failedStart({ HTTP_PORT: '0', EMBEDDED_DB_PATH: join(dir, 'wrong.sqlite'), UMS_CONFIG_FILE: wrong });
        expectOneLine(result, 'UMS_CONFIG_FILE', wrong, 'label');
      });

      it('a HOST that is not an address of this machine names it', async () => {
        // 192.0.2.1: TEST-NET-1 (RFC 5737), never assigned to a machine.
        const result = await failedStart({ HTTP_PORT: '0', EMBEDDED_DB_PATH: join(dir, 'host.sqlite'), HOST: '192.0.2.1' });
        expectOneLine(result, 'HOST 192.0.2.1', 'not an address of this machine');
      });

      it('several bad variables: one line naming each', async () => {
        const result = await failedStart({ HTTP_PORT: 'eighty', LOG_LEVEL: 'loud', EMBEDDED_DB_PATH: join(dir, 'vars.sqlite') });
        expectOneLine(result, 'Invalid configuration', 'HTTP_PORT', 'LOG_LEVEL');
      });

      it('REPLICAS=shared with state left in the embedded file names each variable that moves it upstream', async () => {
        const result = await failedStart({
          HTTP_PORT: '0',
          EMBEDDED_DB_PATH: join(dir, 'replicas.sqlite'),
          REPLICAS: 'shared',
          USERS_CRUD_ENDPOINT: '/users',
          UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
          AUTH_MODULE: 'auth0Client',
          AUTH_SERVICE: 'auth0-client',
          AUTH_CONNECTION: 'db',
        });
        expectOneLine(result, 'REPLICAS=shared', 'JOBS_CRUD_ENDPOINT', 'TIMER_SERVICE', 'TIMER_CALLBACK_SECRET', 'ROND_ENABLED');
        expect(result.stderr).not.toContain('SESSIONS_CRUD_ENDPOINT');
      });

      it('an unreachable CRUD Service with UMS_CONFIG_FILE names the file, the group and CRUD_SERVICE', async () => {
        const groups = join(dir, 'groups.json');
        writeFileSync(groups, JSON.stringify([{ userGroup: 'g', label: 'G', crudSchema: { type: 'object' } }]));
        const crud = `http://127.0.0.1:${await closedPort()}`;
        const result = await failedStart({
          HTTP_PORT: '0',
          EMBEDDED_DB_PATH: join(dir, 'crud.sqlite'),
          UMS_CONFIG_FILE: groups,
          USERS_CRUD_ENDPOINT: '/users',
          UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
          CRUD_SERVICE: crud,
          CRUD_TIMEOUT_MS: '1000',
        });
        expectOneLine(result, 'UMS_CONFIG_FILE', groups, '"g"', 'CRUD_SERVICE', crud);
      });
    },
  );
