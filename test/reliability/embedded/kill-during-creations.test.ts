import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, spawnService } from '../../helpers/process.js';

/**
 * Issue #17, part 2: kill -9 the service in the middle of concurrent creations, start it again,
 * and let the reconciler run: every user is whole (a profile linked to an identity that exists)
 * or absent, and no identity is left without its profile.
 */
const API_KEY = 'crash-test-key';
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
});

function create(port: number, n: number): Promise<number | undefined> {
  return fetch(`http://127.0.0.1:${port}/users/`, {
    method: 'POST',
    headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ userGroup: 'g', username: `k${n}`, email: `k${n}@example.com` }),
  }).then(
    (res) => res.status,
    () => undefined,
  );
}

/** The log of the last process started. */
let output = () => '';

/** Starts the service and keeps hold of it, to kill it at the end whatever happens. */
async function start(env: Record<string, string>): Promise<ChildProcess> {
  const spawned = await spawnService(env);
  child = spawned.child;
  output = spawned.output;
  return child;
}

/**
 * How many repairs met the documented limit (docs/reliability.md: a kill -9 in the instant between
 * an identity's creation and the saving of its id): a failure of this test names its cause.
 */
const clashes = () => output().split('a repaired user clashes with an unrecorded identity').length - 1;

describe('kill -9 during concurrent creations', () => {
  it('leaves every user whole or absent once restarted and reconciled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ums-crash-'));
    const groups = join(dir, 'groups.json');
    writeFileSync(groups, JSON.stringify([{ userGroup: 'g', label: 'G', crudSchema: { type: 'object' } }]));
    const db = join(dir, 'ums.sqlite');
    const port = await freePort();
    const env = {
      HTTP_PORT: String(port),
      EMBEDDED_DB_PATH: db,
      UMS_CONFIG_FILE: groups,
      API_KEYS: API_KEY,
      BOOTSTRAP_ADMIN_PASSWORD: 'Bootstrap-Passw0rd',
      LOG_LEVEL: 'info',
      JOBS_LEASE_MS: '2000',
      JOBS_POLL_MS: '100',
      TMPDIR: dir,
    };
    const first = await start(env);
    // 150 creations at once; the process dies as soon as 30 have been answered.
    let answered = 0;
    const killed = new Promise<void>((resolve) => {
      const statuses = Array.from({ length: 150 }, (_, n) =>
        create(port, n).then((status) => {
          if (status !== undefined && (answered += 1) === 30) {
            first.kill('SIGKILL');
            resolve();
          }
        }),
      );
      void Promise.all(statuses).then(() => resolve());
    });
    await killed;
    await once(first, 'exit');

    const store = new Database(db, { readonly: true });
    const broken = () => {
      const halfMade = store.prepare("SELECT count(*) AS n FROM users WHERE user_group = 'g' AND auth_user_id IS NULL").get() as {
        n: number;
      };
      const orphans = store
        .prepare('SELECT count(*) AS n FROM identity_users WHERE id NOT IN (SELECT auth_user_id FROM users WHERE auth_user_id IS NOT NULL)')
        .get() as { n: number };
      const dangling = store
        .prepare(
          "SELECT count(*) AS n FROM users WHERE user_group = 'g' AND auth_user_id IS NOT NULL AND auth_user_id NOT IN (SELECT id FROM identity_users)",
        )
        .get() as { n: number };
      const open = store
        .prepare("SELECT count(*) AS n FROM jobs WHERE type = 'user-creation'") // any intent left, even finished, would block its user's next one
        .get() as {
        n: number;
      };
      return { halfMade: halfMade.n, orphans: orphans.n, dangling: dangling.n, open: open.n };
    };
    const afterKill = broken();
    try {
      await start(env);
      // The reconciler takes each intent once its lease (2 s) lapses.
      const until = Date.now() + 40_000;
      let state = broken();
      while ((state.open > 0 || state.halfMade > 0) && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = broken();
      }
      console.info('kill -9 during creations', { answered, afterKill, afterRepair: state, clashes: clashes() });
      expect(state).toEqual({ halfMade: 0, orphans: 0, dangling: 0, open: 0 });
    } finally {
      store.close();
    }
  }, 90_000);
});
