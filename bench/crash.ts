/**
 * The long crash test (issue #17): the service (a real process on an embedded file) is killed with
 * SIGKILL at a random moment of BENCH_CRASH_ROUNDS rounds of concurrent creations, started again
 * each time; after the last restart the reconciler runs, and every user must be whole (profile
 * linked to an existing identity) or absent. Writes bench/results/crash.json and its README table.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, spawnService } from '../test/helpers/process.js';
import { publish } from './lib.js';

const API_KEY = 'bench-crash-key';
const ROUNDS = Number(process.env.BENCH_CRASH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_CRASH_CREATIONS ?? 1000);
const CONCURRENCY = 50;

async function start(env: Record<string, string>): Promise<ChildProcess> {
  return (await spawnService(env)).child;
}

/** Creations from `first` on, CONCURRENCY at a time, until PER_ROUND are sent or the service is gone. */
async function createUsers(port: number, first: number, stop: { killed: boolean }): Promise<number> {
  let next = first;
  let answered = 0;
  const lane = async () => {
    while (!stop.killed && next < first + PER_ROUND) {
      const n = next++;
      const res = await fetch(`http://127.0.0.1:${port}/users/`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ userGroup: 'g', username: `u${n}`, email: `u${n}@example.com` }),
      }).catch(() => undefined);
      if (res) answered += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return answered;
}

function census(db: Database.Database) {
  const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  return {
    users: count("SELECT count(*) AS n FROM users WHERE user_group = 'g'"),
    halfMade: count("SELECT count(*) AS n FROM users WHERE user_group = 'g' AND auth_user_id IS NULL"),
    orphans: count(
      'SELECT count(*) AS n FROM identity_users WHERE id NOT IN (SELECT auth_user_id FROM users WHERE auth_user_id IS NOT NULL)',
    ),
    dangling: count(
      "SELECT count(*) AS n FROM users WHERE user_group = 'g' AND auth_user_id IS NOT NULL AND auth_user_id NOT IN (SELECT id FROM identity_users)",
    ),
    open: count("SELECT count(*) AS n FROM jobs WHERE type = 'user-creation' AND status IN ('pending', 'running')"),
  };
}

export async function runCrash(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ums-bench-crash-'));
  const groups = join(dir, 'groups.json');
  writeFileSync(groups, JSON.stringify([{ userGroup: 'g', label: 'G', crudSchema: { type: 'object' } }]));
  const file = join(dir, 'ums.sqlite');
  const port = await freePort();
  const env = {
    HTTP_PORT: String(port),
    EMBEDDED_DB_PATH: file,
    UMS_CONFIG_FILE: groups,
    API_KEYS: API_KEY,
    BOOTSTRAP_ADMIN_PASSWORD: 'Bootstrap-Passw0rd',
    LOG_LEVEL: 'info',
    JOBS_LEASE_MS: '2000',
    JOBS_POLL_MS: '100',
    TMPDIR: dir,
  };
  const rounds: { answered: number; killedAfterMs: number; afterKill: ReturnType<typeof census> }[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const child = await start(env);
    const stop = { killed: false };
    const killedAfterMs = 500 + Math.floor(Math.random() * 2500);
    const creating = createUsers(port, round * PER_ROUND, stop);
    await new Promise((resolve) => setTimeout(resolve, killedAfterMs));
    child.kill('SIGKILL');
    stop.killed = true;
    await once(child, 'exit');
    const answered = await creating;
    const db = new Database(file, { readonly: true });
    rounds.push({ answered, killedAfterMs, afterKill: census(db) });
    db.close();
  }
  const last = await start(env);
  const started = performance.now();
  const db = new Database(file, { readonly: true });
  let state = census(db);
  while ((state.open > 0 || state.halfMade > 0) && performance.now() - started < 120_000) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    state = census(db);
  }
  const reconcileMs = Math.round(performance.now() - started);
  db.close();
  last.kill('SIGTERM');
  await once(last, 'exit');
  const whole = state.halfMade === 0 && state.orphans === 0 && state.dangling === 0 && state.open === 0;
  const summary = { rounds, afterRepair: state, reconcileMs, whole, perRound: PER_ROUND, concurrency: CONCURRENCY };
  const markdown = [
    `${ROUNDS} rounds of ${PER_ROUND} creations (${CONCURRENCY} at a time), each ended by SIGKILL at a random moment, then one restart:`,
    '',
    '| round | killed after | answered | profiles | without identity | open intents |',
    '|---|---|---|---|---|---|',
    ...rounds.map(
      (r, i) =>
        `| ${i + 1} | ${r.killedAfterMs} ms | ${r.answered} | ${r.afterKill.users} | ${r.afterKill.halfMade} | ${r.afterKill.open} |`,
    ),
    `| after the restart (${reconcileMs} ms) | | | ${state.users} | ${state.halfMade} | ${state.open} |`,
    '',
    `Orphan identities ${state.orphans}, links to a missing identity ${state.dangling}: ${whole ? 'every user whole or absent' : 'BROKEN USERS LEFT'}.`,
  ].join('\n');
  publish('crash', summary, markdown);
  if (!whole) throw new Error('users left broken after the crashes');
}
