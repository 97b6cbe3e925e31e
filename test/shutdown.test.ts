import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, spawnService } from './helpers/process.js';

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
});

const API_KEY = 'shutdown-test-key';

/** Starts src/main.ts and keeps hold of it, to kill it at the end whatever happens. */
async function startService(env: Record<string, string>) {
  const service = await spawnService(env);
  child = service.child;
  return service;
}

type Outcome = 'answered' | 'cut' | 'refused' | 'unanswered';

/**
 * One keep-alive client sending requests in a loop, creations and reads in turn, until the server
 * refuses its connection. An answer that started and broke off is `cut`; a request whose
 * connection closed before any answer is `unanswered` (the server never read it, the test checks
 * it had no effect).
 */
async function clientLoop(url: string, index: number, record: (outcome: Outcome, detail: { status?: number; username?: string }) => void) {
  const client = new Client(url, { pipelining: 1 });
  try {
    for (let n = 0; ; n += 1) {
      const username = n % 2 === 0 ? `c${index}-${n}` : undefined;
      let response;
      try {
        response = await client.request({
          method: username ? 'POST' : 'GET',
          path: username ? '/users/' : '/users/?_l=5',
          headers: { 'x-api-key': API_KEY, ...(username ? { 'content-type': 'application/json' } : {}) },
          body: username ? JSON.stringify({ userGroup: 'g', username, email: `${username}@example.com` }) : undefined,
        });
      } catch (error) {
        const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        record(refused ? 'refused' : 'unanswered', { username });
        if (refused) return;
        continue;
      }
      try {
        await response.body.text();
        record('answered', { status: response.statusCode, username });
      } catch {
        record('cut', { username });
      }
    }
  } finally {
    await client.destroy();
  }
}

describe('shutdown (src/main.ts)', () => {
  it('drains 10 keep-alive clients on SIGTERM: exit 0, no answer cut, no half-created user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ums-shutdown-'));
    const groups = join(dir, 'groups.json');
    writeFileSync(groups, JSON.stringify([{ userGroup: 'g', label: 'G', crudSchema: { type: 'object' } }]));
    const db = join(dir, 'ums.sqlite');
    const port = await freePort();
    const service = await startService({
      HTTP_PORT: String(port),
      EMBEDDED_DB_PATH: db,
      UMS_CONFIG_FILE: groups,
      API_KEYS: API_KEY,
      BOOTSTRAP_ADMIN_PASSWORD: 'Bootstrap-Passw0rd',
      LOG_LEVEL: 'info',
      COOKIE_SECURE: 'false',
      SHUTDOWN_TIMEOUT_MS: '5000',
      TMPDIR: dir,
    });

    const counts: Record<Outcome, number> = { answered: 0, cut: 0, refused: 0, unanswered: 0 };
    const statuses = new Map<number, number>();
    const answeredAfterSignal = { count: 0 };
    const unansweredCreations: string[] = [];
    let signalledAt: number | undefined;
    let warmedUp!: () => void;
    const warm = new Promise<void>((resolve) => (warmedUp = resolve));
    const record = (outcome: Outcome, detail: { status?: number; username?: string }) => {
      counts[outcome] += 1;
      if (outcome === 'answered') statuses.set(detail.status!, (statuses.get(detail.status!) ?? 0) + 1);
      if (outcome === 'answered' && signalledAt !== undefined) answeredAfterSignal.count += 1;
      if (outcome === 'unanswered' && detail.username) unansweredCreations.push(detail.username);
      if (counts.answered === 100) warmedUp();
    };
    const loops = Array.from({ length: 10 }, (_, index) => clientLoop(`http://127.0.0.1:${port}`, index, record));

    await warm;
    signalledAt = Date.now();
    child!.kill('SIGTERM');
    const code = await service.exit;
    const drainMs = Date.now() - signalledAt;
    await Promise.all(loops);

    console.info('shutdown drain', { drainMs, ...counts, answeredAfterSignal: answeredAfterSignal.count, statuses: [...statuses] });
    expect(code).toBe(0);
    expect(drainMs).toBeLessThan(5000);
    expect(counts.cut).toBe(0);
    // Idle connections are closed only after a grace, so no request is lost to a connection closed under it.
    expect(counts.unanswered).toBe(0);
    expect(counts.refused).toBe(10);
    expect([...statuses.keys()]).toEqual([200]);
    expect(service.output()).toContain('shutdown: drained');

    const store = new Database(db, { readonly: true });
    try {
      const halfCreated = store.prepare("SELECT count(*) AS n FROM users WHERE json_extract(doc, '$.authUserId') IS NULL").get() as {
        n: number;
      };
      expect(halfCreated.n).toBe(0);
      const orphans = store
        .prepare('SELECT count(*) AS n FROM identity_users WHERE id NOT IN (SELECT auth_user_id FROM users WHERE auth_user_id IS NOT NULL)')
        .get() as { n: number };
      expect(orphans.n).toBe(0);
      // A request the server closed the connection on without reading it did nothing.
      for (const username of unansweredCreations) {
        expect(store.prepare('SELECT count(*) AS n FROM users WHERE username = ?').get(username)).toEqual({ n: 0 });
      }
    } finally {
      store.close();
    }
  }, 30_000);
});
