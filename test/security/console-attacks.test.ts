import { request } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

/**
 * The admin console's files attacked (docs/security.md): traversal out of the build's assets in
 * every spelling that reaches the server unnormalised, hidden files, and the headers that keep the
 * console out of frames and caches on every answer under /admin, errors included.
 */
const root = mkdtempSync(join(tmpdir(), 'ums-console-attack-'));
const built = join(root, 'console');
mkdirSync(join(built, 'assets'), { recursive: true });
const SECRET = 'SECRET-FILE-CONTENT-7f3a';
writeFileSync(join(root, 'secret.txt'), SECRET);
writeFileSync(join(built, 'secret.txt'), SECRET);
writeFileSync(join(built, 'assets', '.env'), SECRET);
const INDEX = '<!doctype html><title>console</title>';
writeFileSync(join(built, 'index.html'), INDEX);
writeFileSync(join(built, 'assets', 'app-1.js'), 'console.log(1)');

/** This file picks its own backends: it runs once, in the project that sets none (embedded). */
const ONCE = process.env.UMS_TEST_STORE === undefined && process.env.UMS_TEST_IDENTITY === undefined;

let service: TestService;
beforeAll(async () => {
  if (!ONCE) return;
  service = await startService({ store: 'embedded', identity: 'embedded', env: { CONSOLE_ASSETS_DIR: built } });
});
afterAll(() => service?.close());

/** A GET with the path exactly as written (fetch would resolve the dots first). */
function rawGet(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(service.url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.runIf(ONCE)('the console attacked', () => {
  it('serves nothing outside the build, in any spelling of "..", and no hidden file', async () => {
    for (const path of [
      '/admin/assets/../secret.txt',
      '/admin/assets/../../secret.txt',
      '/admin/assets/%2e%2e/secret.txt',
      '/admin/assets/%2e%2e/%2e%2e/secret.txt',
      '/admin/assets/%2E%2E%2Fsecret.txt',
      '/admin/assets/..%2f..%2fsecret.txt',
      '/admin/assets/..%5c..%5csecret.txt',
      '/admin/assets/..\\..\\secret.txt',
      '/admin/assets/%252e%252e/secret.txt',
      '/admin/assets/app-1.js%00.png',
      '/admin/assets/%00',
      '/admin/assets/.env',
      '/admin/assets/%2eenv',
      '/admin/assets//etc/passwd',
      `/admin/assets/${encodeURIComponent(join(root, 'secret.txt'))}`,
      '/admin/..%2fsecret.txt',
      '/admin/%2e%2e/secret.txt',
      '/ADMIN/ASSETS/../secret.txt',
    ]) {
      const res = await rawGet(path);
      expect(res.body, path).not.toContain(SECRET);
      // A refusal, or (outside /admin/assets) the app's own page: never a file.
      if (res.status === 200) expect(res.body, path).toBe(INDEX);
      else expect([400, 403, 404], path).toContain(res.status);
    }
  });

  it('keeps every answer under /admin out of frames, errors included', async () => {
    for (const path of ['/admin', '/admin/x', '/admin/assets/app-1.js', '/admin/assets/missing.js', '/admin/assets/%2e%2e/x']) {
      const res = await rawGet(path);
      expect(res.headers['x-frame-options'], path).toBe('DENY');
      expect(String(res.headers['content-security-policy']), path).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options'], path).toBe('nosniff');
    }
  });

  it('redirects nowhere: a path that looks like another origin is the app page', async () => {
    for (const path of ['/admin//evil.example', '/admin/assets', '/admin/%2f%2fevil.example']) {
      const res = await rawGet(path);
      expect(res.headers.location, path).toBeUndefined();
      expect(res.status, path).not.toBe(301);
    }
  });
});
