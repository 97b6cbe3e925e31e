import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

/**
 * Long work gives the event loop a turn at least every 50 ms, so probes and other requests are
 * answered while a bulk job runs. Sizes are chosen so that one unbroken run of the work would block
 * for well over STALL_LIMIT_MS (0.3 to 0.65 s before the fix), while the file stays short.
 */
const USERS = 4000;
/** Rows of the CSV import (the first USERS of them are then activated). */
const ROWS = 8000;
/** Some slack over the 50 ms goal: CI machines have 2 cores shared with the other test files. */
const STALL_LIMIT_MS = 200;

const folder = mkdtempSync(join(tmpdir(), 'ums-event-loop-'));
let service: TestService;
let profileIds: string[] = [];
let authUserIds: string[] = [];

beforeAll(async () => {
  service = await startService({
    env: {
      // A file, as in production: each commit costs what it costs there (an in-memory store hides it).
      EMBEDDED_DB_PATH: join(folder, 'ums.sqlite'),
      JOBS_POLL_MS: '50',
      AUTH0_JOB_POLLING_INTERVAL: '20',
      AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: '1000000',
      // One batch for the whole file: the store's own writes have to give the loop its turns.
      USER_IMPORT_BATCH_SIZE: '10000',
    },
    background: true,
  });
  await seedGroups(service, [CUSTOMER_GROUP]);
});
afterAll(async () => {
  await service.close();
  rmSync(folder, { recursive: true, force: true });
});

/**
 * Runs `work` while measuring the longest event-loop stall: the longest gap between two ticks of a
 * 5 ms timer (the one still running at the end included), counted in CPU time of this process, so
 * that a machine busy with other processes, which only delays the ticks, does not look like a stall.
 * Meanwhile `/-/healthz` is probed every 20 ms; answers the probes' statuses.
 */
async function watched<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number; probes: number[] }> {
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  let last = { wall: performance.now(), cpu: cpuMs() };
  let stallMs = 0;
  const gap = () => {
    const now = { wall: performance.now(), cpu: cpuMs() };
    stallMs = Math.max(stallMs, Math.min(now.wall - last.wall, now.cpu - last.cpu));
    last = now;
  };
  const ticker = setInterval(gap, 5);
  const answers: Promise<number>[] = [];
  const probe = async () => (await fetch(`${service.url}/-/healthz`)).status;
  const prober = setInterval(() => answers.push(probe()), 20);
  try {
    const result = await work();
    gap();
    clearInterval(prober);
    return { result, stallMs, probes: await Promise.all(answers) };
  } finally {
    clearInterval(ticker);
    clearInterval(prober);
  }
}

async function finished(path: string) {
  for (;;) {
    const res = await service.call('GET', path);
    expect(res.status).toBe(200);
    if (res.body.status !== 'pending') return res.body;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the event loop keeps turning during bulk work', () => {
  it(`PATCH /users/import of ${ROWS} rows`, async () => {
    const rows = Array.from({ length: ROWS }, (_, index) => `customer;loop${index};loop${index}@example.com;Name ${index}`);
    const form = new FormData();
    form.append('delimiter', ';');
    form.append('file', new Blob([`userGroup;username;email;name\n${rows.join('\n')}\n`], { type: 'text/csv' }), 'users.csv');
    const { result, stallMs, probes } = await watched(async () => {
      const response = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
      return { status: response.status, body: (await response.json()) as { inserted: string[] } };
    });
    expect(result.status).toBe(200);
    expect(result.body.inserted).toHaveLength(ROWS);
    profileIds = result.body.inserted.slice(0, USERS);
    expect(stallMs).toBeLessThan(STALL_LIMIT_MS);
    expect(probes.every((status) => status === 200)).toBe(true);
  });

  it('PATCH /users/import of rows with a cell more than the header', async () => {
    // csv-parse makes an error object for each such row (about 30 µs), and read a 64 KiB chunk of
    // the file at once: 32,000 two-byte rows held the loop about 1 s, in each of the import's two readings.
    const rows = 16_000;
    const form = new FormData();
    form.append('file', new Blob([`userGroup\n${',\n'.repeat(rows)}`], { type: 'text/csv' }), 'users.csv');
    const { result, stallMs, probes } = await watched(async () => {
      const response = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
      return { status: response.status, body: (await response.json()) as { invalid: unknown[] } };
    });
    expect(result.status).toBe(200);
    expect(result.body.invalid).toHaveLength(rows);
    expect(stallMs).toBeLessThan(STALL_LIMIT_MS);
    expect(probes.every((status) => status === 200)).toBe(true);
  });

  it(`a bulk activation of ${USERS} users`, async () => {
    expect(profileIds).toHaveLength(USERS);
    const { result, stallMs, probes } = await watched(async () => {
      const started = await service.call(
        'POST',
        '/jobs/bulk-activation',
        profileIds.map((userId) => ({ filter: { userId } })),
      );
      expect(started.status).toBe(202);
      return finished(`/jobs/bulk-activation/${started.body.jobId}`);
    });
    expect(result.summary).toEqual({ failed: 0, updated: 0, inserted: USERS, total: USERS });
    const users = await service.deps.users.find(
      { _id: { $in: profileIds } },
      { states: ['PUBLIC'], scope: { actorId: 'test', headers: {} } },
    );
    authUserIds = users.map((user) => user.authUserId!);
    expect(stallMs).toBeLessThan(STALL_LIMIT_MS);
    expect(probes.every((status) => status === 200)).toBe(true);
  });

  it(`a bulk change-password of ${USERS} users`, async () => {
    expect(authUserIds).toHaveLength(USERS);
    const { result, stallMs, probes } = await watched(async () => {
      const started = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: authUserIds });
      expect(started.status).toBe(202);
      return finished(`/jobs/change-password/bulk/${started.body.jobId}`);
    });
    expect(result.summary).toEqual({ failed: 0, completed: USERS, total: USERS });
    expect(stallMs).toBeLessThan(STALL_LIMIT_MS);
    expect(probes.every((status) => status === 200)).toBe(true);
  });
});
