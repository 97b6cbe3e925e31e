import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CrudCollection } from '../src/clients/crud/collection.js';
import { createCrudJobStore } from '../src/clients/crud/job-store.js';
import { createDispatcher } from '../src/clients/http.js';
import type { JobStore } from '../src/ports/job-store.js';
import { UpstreamError } from '../src/errors.js';
import { openDatabase } from '../src/embedded/db.js';
import { createSqliteJobStore } from '../src/embedded/job-store.js';
import { CrudEmulator } from './emulators/crud.js';
import { JOBS_COLLECTION } from './helpers/service.js';
import { FakeClock } from './helpers/fake-clock.js';
import { memoryJobStore } from './helpers/memory-job-store.js';

const emulator = await new CrudEmulator([JOBS_COLLECTION]).start();
afterAll(() => emulator.stop());

/**
 * Two replicas sharing one job store: two connections to one SQLite file, two clients of one CRUD,
 * or the memory store of the job worker's unit tests (which must keep the same contract). Leases
 * are on a fake clock: a lease runs out when the test moves the time, not after a wait.
 */
const REPLICAS: [string, (clock: FakeClock) => [JobStore, JobStore]][] = [
  [
    'embedded (two processes on one file)',
    (clock) => {
      const file = join(mkdtempSync(join(tmpdir(), 'ums-jobs-')), 'jobs.sqlite');
      return [createSqliteJobStore(openDatabase(file), clock), createSqliteJobStore(openDatabase(file), clock)];
    },
  ],
  [
    'CRUD Service (two replicas)',
    (clock) => {
      // The CRUD stamps createdAt and updatedAt: on the test's clock, as the retention compares them with it.
      emulator.now = () => clock.now();
      const replica = () =>
        createCrudJobStore(new CrudCollection({ name: 'CRUD', baseUrl: emulator.url, dispatcher: createDispatcher(2000) }, '/jobs'), clock);
      return [replica(), replica()];
    },
  ],
  [
    "memory (the job worker's unit tests)",
    (clock) => {
      const store = memoryJobStore(clock);
      return [store, store];
    },
  ],
];

describe.each(REPLICAS)('job store: %s', (_name, replicas) => {
  const clock = new FakeClock();
  const [a, b] = replicas(clock);

  it('creates pending jobs that either replica can read', async () => {
    const job = await a.create({ type: 'bulk-activation', payload: { ids: ['1', '2'] } });
    expect(job).toMatchObject({ type: 'bulk-activation', status: 'pending', payload: { ids: ['1', '2'] } });
    expect(job.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await b.get(job.jobId)).toMatchObject({ jobId: job.jobId, status: 'pending' });
    expect(await b.get('no-such-job')).toBeUndefined();
  });

  it('lists jobs of some types newest first, by keyset pages, with only the summary of a result', async () => {
    const types = [`list-a-${Math.random()}`, `list-b-${Math.random()}`];
    const created = [];
    for (const type of [types[0]!, types[1]!, types[0]!, 'other-type']) {
      created.push(await a.create({ type, payload: { ids: ['1'] } }));
      // Distinct creation times: the list's order is by time, then id (the CRUD stamps its own clock's time).
      await clock.advance(5);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(await b.claim(created[2]!.jobId, 'w', 60_000)).toBe(true);
    const failures = Array.from({ length: 3 }, (_, index) => ({ userId: String(index) }));
    await b.finish(created[2]!.jobId, 'w', { status: 'completed', result: { summary: { total: 3, failed: 3 }, failures } });

    const all = await b.list({ types, limit: 10 });
    expect(all.map((job) => job.jobId)).toEqual([created[2]!.jobId, created[1]!.jobId, created[0]!.jobId]);
    expect(all[0]).toMatchObject({ status: 'completed', summary: { total: 3, failed: 3 } });
    expect(all[0]).not.toHaveProperty('result');
    expect(all[0]).not.toHaveProperty('payload');

    const [first] = await b.list({ types, limit: 1 });
    const rest = await b.list({ types, limit: 10, before: { createdAt: first!.createdAt, jobId: first!.jobId } });
    expect(rest.map((job) => job.jobId)).toEqual([created[1]!.jobId, created[0]!.jobId]);
    expect(await a.claim(created[0]!.jobId, 'w2', 60_000)).toBe(true);
    await a.heartbeat(created[0]!.jobId, 'w2', 60_000, { next: 2 }, { total: 5, processed: 2, failed: 1 });
    const pending = await b.list({ types: [types[0]!], statuses: ['pending', 'running'], limit: 10 });
    expect(pending).toEqual([expect.objectContaining({ jobId: created[0]!.jobId, counters: { total: 5, processed: 2, failed: 1 } })]);
  });

  it('lets exactly one replica claim a job, even when they race', async () => {
    const job = await a.create({ type: 'race', payload: null });
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, index) => (index % 2 ? a : b).claim(job.jobId, `owner-${index}`, 60_000)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = `owner-${claims.indexOf(true)}`;
    expect(await a.get(job.jobId)).toMatchObject({ status: 'running', owner: winner });
  });

  it('keeps the job with its owner while the lease is renewed, and saves progress', async () => {
    const job = await a.create({ type: 'renew', payload: null });
    expect(await a.claim(job.jobId, 'a', 60_000)).toBe(true);
    expect(await a.heartbeat(job.jobId, 'a', 60_000, { done: 5 })).toBe(true);
    expect(await b.heartbeat(job.jobId, 'b', 60_000)).toBe(false);
    expect(await b.claim(job.jobId, 'b', 60_000)).toBe(false);
    expect((await b.get(job.jobId))?.result).toEqual({ done: 5 });
  });

  it('hands a job whose owner died to another replica when its lease expires', async () => {
    const job = await a.create({ type: 'takeover', payload: null });
    expect(await a.claim(job.jobId, 'dying', 50)).toBe(true);
    await clock.advance(50);
    expect(await b.claim(job.jobId, 'survivor', 60_000)).toBe(false);
    await clock.advance(1);
    expect(await b.claim(job.jobId, 'survivor', 60_000)).toBe(true);
    expect(await a.finish(job.jobId, 'dying', { status: 'completed' })).toBe(false);
    expect(await b.finish(job.jobId, 'survivor', { status: 'completed', result: { ok: 1 } })).toBe(true);
    expect(await a.get(job.jobId)).toMatchObject({ status: 'completed', result: { ok: 1 } });
    expect(await a.claim(job.jobId, 'late', 60_000)).toBe(false);
  });

  it('claims the next job of a type, oldest first, and nothing when none is left', async () => {
    const first = await a.create({ type: 'queue', payload: 1 });
    // The CRUD stamps createdAt with its own clock.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await clock.advance(5);
    const second = await a.create({ type: 'queue', payload: 2 });
    expect((await b.claimNext('queue', 'b', 60_000))?.jobId).toBe(first.jobId);
    expect((await a.claimNext('queue', 'a', 60_000))?.jobId).toBe(second.jobId);
    expect(await a.claimNext('queue', 'a', 60_000)).toBeUndefined();
  });

  it('keeps the counters saved with a step, and shows them without the payload', async () => {
    const job = await a.create({ type: 'counted', payload: { ids: ['1', '2', '3'] } });
    expect((await a.head(job.jobId))?.counters).toBeUndefined();
    expect(await a.claim(job.jobId, 'a', 60_000)).toBe(true);
    expect(await a.heartbeat(job.jobId, 'a', 60_000, { next: 2 }, { total: 3, processed: 2, failed: 1 })).toBe(true);
    expect(await b.head(job.jobId)).toMatchObject({ status: 'running', counters: { total: 3, processed: 2, failed: 1 } });
    // A renewal without counters keeps the last ones; finishing keeps them too.
    expect(await a.heartbeat(job.jobId, 'a', 60_000)).toBe(true);
    expect(await a.finish(job.jobId, 'a', { status: 'completed', result: {} })).toBe(true);
    expect(await b.get(job.jobId)).toMatchObject({ status: 'completed', counters: { total: 3, processed: 2, failed: 1 } });
  });

  it('deletes finished jobs of some types last changed before a time, at most a batch, never an unfinished one', async () => {
    const DAY = 86_400_000;
    const type = `retained-${Math.random()}`;
    const finished = async (status: 'completed' | 'failed', jobType = type) => {
      const job = await a.create({ type: jobType, payload: { ids: ['1', '2'] } });
      expect(await a.claim(job.jobId, 'w', 60_000)).toBe(true);
      expect(await a.finish(job.jobId, 'w', { status, result: { summary: { total: 2 } } })).toBe(true);
      await clock.advance(1);
      return job.jobId;
    };
    const oldCompleted = await finished('completed');
    const oldFailed = await finished('failed');
    const otherType = await finished('completed', `other-${type}`);
    const pending = (await a.create({ type, payload: null })).jobId;
    // An intent held (running) by a replica, and a job claimed and never finished: the reconciler's, whatever their age.
    const held = (await a.create({ type, payload: null, owner: 'w', leaseMs: 40 * DAY })).jobId;
    const lapsed = (await a.create({ type, payload: null })).jobId;
    expect(await a.claim(lapsed, 'dead', 1000)).toBe(true);
    await clock.advance(20 * DAY);
    const young = await finished('completed');
    await clock.advance(11 * DAY);

    const query = { types: [type], before: new Date(clock.now() - 30 * DAY).toISOString(), limit: 1 };
    expect(await b.deleteFinished(query)).toBe(1);
    expect(await b.head(oldCompleted)).toBeUndefined();
    expect(await b.get(oldCompleted)).toBeUndefined();
    expect(await b.head(oldFailed)).toMatchObject({ status: 'failed' });
    // Two replicas sweeping at once: each job is deleted once, and nothing else.
    const swept = await Promise.all([a.deleteFinished({ ...query, limit: 500 }), b.deleteFinished({ ...query, limit: 500 })]);
    expect(swept.sort()).toEqual([0, 1]);
    expect(await a.get(oldFailed)).toBeUndefined();
    for (const jobId of [otherType, pending, held, lapsed, young]) expect(await a.head(jobId)).toBeDefined();
    expect(await a.deleteFinished({ ...query, limit: 500 })).toBe(0);
  });

  it('deletes an operation intent that ended failed (named, recorded held) as a finished job; a held one of its type stays', async () => {
    const DAY = 86_400_000;
    const type = `intent-${Math.random()}`;
    const failed = (await a.create({ type, jobId: `${type}:failed`, payload: { userId: 'u' }, owner: 'r:1', leaseMs: 60_000 })).jobId;
    expect(await a.finish(failed, 'r:1', { status: 'failed', result: { error: 'its progress cannot be read' } })).toBe(true);
    const held = (await a.create({ type, jobId: `${type}:held`, payload: { userId: 'v' }, owner: 'r:2', leaseMs: 40 * DAY })).jobId;
    await clock.advance(31 * DAY);
    expect(await b.deleteFinished({ types: [type], before: new Date(clock.now() - 30 * DAY).toISOString(), limit: 500 })).toBe(1);
    expect(await a.head(failed)).toBeUndefined();
    expect(await a.head(held)).toMatchObject({ status: 'running' });
  });

  it('counts each claim of a job in the store (attempts), whichever replica claims it; a hand-back takes its count back', async () => {
    const type = `counted-${Math.random()}`;
    const job = await a.create({ type, payload: null });
    expect((await b.head(job.jobId))?.attempts ?? 0).toBe(0);
    expect(await a.claim(job.jobId, 'r:1', 1000)).toBe(true);
    expect((await b.head(job.jobId))?.attempts).toBe(1);
    // Its process died: the lease lapses and another replica takes the job over.
    await clock.advance(1001);
    expect((await b.claimNext(type, 'r:2', 1000))?.attempts).toBe(2);
    // Stopping, r:2 hands it back: that run is not counted.
    expect(await b.handBack(job.jobId, 'r:2')).toBe(true);
    expect(await b.handBack(job.jobId, 'r:2')).toBe(false);
    expect((await a.head(job.jobId))?.attempts).toBe(1);
    expect(await a.claim(job.jobId, 'r:3', 1000)).toBe(true);
    expect((await a.get(job.jobId))?.attempts).toBe(2);
  });

  it('deleteEnded removes a named intent that ended (failed or completed), once; never a held, given back or pending one', async () => {
    const type = `intent-${Math.random()}`;
    const named = async (name: string, status?: 'failed' | 'completed') => {
      const jobId = (await a.create({ type, jobId: `${type}:${name}`, payload: { userId: name }, owner: 'r:1', leaseMs: 60_000 })).jobId;
      if (status) expect(await a.finish(jobId, 'r:1', { status, result: null })).toBe(true);
      return jobId;
    };
    const failed = await named('failed', 'failed');
    const completed = await named('completed', 'completed');
    const held = await named('held');
    const givenBack = await named('given-back');
    expect(await a.heartbeat(givenBack, 'r:1', -1)).toBe(true);
    const pending = (await a.create({ type, payload: null })).jobId;
    // Two replicas at once: it goes once.
    expect((await Promise.all([a.deleteEnded(failed), b.deleteEnded(failed)])).sort()).toEqual([false, true]);
    expect(await b.deleteEnded(completed)).toBe(true);
    for (const jobId of [failed, completed]) expect(await a.get(jobId)).toBeUndefined();
    for (const jobId of [held, givenBack, pending, `${type}:absent`]) expect(await b.deleteEnded(jobId)).toBe(false);
    for (const jobId of [held, givenBack, pending]) expect(await a.head(jobId)).toBeDefined();
    // Its id is free again: an intent recorded under it is a new holder.
    expect(await a.create({ type, jobId: failed, payload: null, owner: 'r:2', leaseMs: 60_000 })).toMatchObject({ status: 'running' });
  });
});

describe('job store: CRUD, a jobs collection declared before attempts', () => {
  it('claims without the count once the CRUD refuses the field (400), saying so once; the claim and its lease hold', async () => {
    const clock = new FakeClock();
    emulator.now = () => clock.now();
    const collection = new CrudCollection({ name: 'CRUD', baseUrl: emulator.url, dispatcher: createDispatcher(2000) }, '/jobs');
    // As a Console collection without the field: an $inc of it is a 400 (additionalProperties false).
    const patch = collection.patch.bind(collection);
    collection.patch = async (id, update, ...rest) => {
      if ('$inc' in (update as object))
        throw new UpstreamError('CRUD', 'PATCH /jobs/:id', 400, { message: 'body/$inc must NOT have additional properties' });
      return patch(id, update, ...rest);
    };
    let said = 0;
    const store = createCrudJobStore(collection, clock, () => (said += 1));
    const type = `uncounted-${Math.random()}`;
    const job = await store.create({ type, payload: null });
    expect(await store.claim(job.jobId, 'r:1', 1000)).toBe(true);
    expect(await store.claim(job.jobId, 'r:2', 1000)).toBe(false);
    expect(await store.handBack(job.jobId, 'r:1')).toBe(true);
    expect((await store.claimNext(type, 'r:2', 1000))?.jobId).toBe(job.jobId);
    expect(await store.head(job.jobId)).toMatchObject({ status: 'running', owner: 'r:2' });
    expect((await store.head(job.jobId))?.attempts).toBeUndefined();
    expect(said).toBe(1);
  });

  it('keeps counting after a 400 the count did not cause, and answers no stale count once it stops', async () => {
    const clock = new FakeClock();
    emulator.now = () => clock.now();
    const collection = new CrudCollection({ name: 'CRUD', baseUrl: emulator.url, dispatcher: createDispatcher(2000) }, '/jobs');
    // A collection that takes attempts; `refuse` PATCHes answered 400 whatever they send (a proxy, a passing fault).
    let refuse = 0;
    let refuseInc = 0;
    const patch = collection.patch.bind(collection);
    collection.patch = async (id, update, ...rest) => {
      if (refuse > 0 || (refuseInc > 0 && '$inc' in (update as object))) {
        if (refuse > 0) refuse -= 1;
        else refuseInc -= 1;
        throw new UpstreamError('CRUD', 'PATCH /jobs/:id', 400, { message: 'bad request' });
      }
      return patch(id, update, ...rest);
    };
    let said = 0;
    const store = createCrudJobStore(collection, clock, () => (said += 1));
    const type = `counted-${Math.random()}`;
    const job = await store.create({ type, payload: null });
    expect((await store.claimNext(type, 'r:1', 1000))?.attempts).toBe(1);
    await clock.advance(2000);
    refuse = 2;
    await expect(store.claim(job.jobId, 'r:2', 1000)).rejects.toThrow();
    expect((await store.claimNext(type, 'r:2', 1000))?.attempts).toBe(2);
    expect(said).toBe(0);
    // Refused once, then taken without the count: the count stored before is no count of the runs.
    await clock.advance(2000);
    refuseInc = 1;
    const uncounted = await store.claimNext(type, 'r:3', 1000);
    expect(uncounted).toMatchObject({ jobId: job.jobId, owner: 'r:3' });
    expect(uncounted?.attempts).toBeUndefined();
    expect(said).toBe(1);
  });
});

describe('job store: embedded, the retention sweep', () => {
  it('deletes the payloads of the jobs it deletes, and only theirs', async () => {
    const DAY = 86_400_000;
    const clock = new FakeClock();
    const file = join(mkdtempSync(join(tmpdir(), 'ums-jobs-')), 'jobs.sqlite');
    const db = openDatabase(file);
    const store = createSqliteJobStore(db, clock);
    const payloads = () =>
      db
        .prepare<[], { job_id: string }>('SELECT job_id FROM job_payloads')
        .all()
        .map((row) => row.job_id);
    const finished = async (type: string) => {
      const job = await store.create({ type, payload: { ids: [type] } });
      expect(await store.claim(job.jobId, 'w', 60_000)).toBe(true);
      expect(await store.finish(job.jobId, 'w', { status: 'completed', result: { summary: {} } })).toBe(true);
      return job.jobId;
    };
    const old = [await finished('kept'), await finished('kept'), await finished('kept')];
    const otherType = await finished('other');
    const pending = (await store.create({ type: 'kept', payload: { ids: ['p'] } })).jobId;
    await clock.advance(31 * DAY);
    const young = await finished('kept');
    const before = new Date(clock.now() - 30 * DAY).toISOString();

    expect(await store.deleteFinished({ types: ['kept'], before, limit: 2 })).toBe(2);
    const left: string[] = [];
    for (const jobId of old) if (await store.head(jobId)) left.push(jobId);
    expect(left).toHaveLength(1);
    expect(payloads().sort()).toEqual([...left, otherType, pending, young].sort());
    expect(await store.deleteFinished({ types: ['kept'], before, limit: 500 })).toBe(1);
    expect(payloads().sort()).toEqual([otherType, pending, young].sort());
    for (const [jobId, type] of [
      [otherType, 'other'],
      [pending, 'p'],
      [young, 'kept'],
    ] as const) {
      expect((await store.get(jobId))?.payload).toEqual({ ids: [type] });
    }
  });
});

describe('job store: embedded, a sweep of large jobs', () => {
  it('deletes in small transactions with turns of the event loop between them, not its whole batch in one', async () => {
    const DAY = 86_400_000;
    const clock = new FakeClock();
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'ums-jobs-')), 'jobs.sqlite'));
    const store = createSqliteJobStore(db, clock);
    // 500 jobs of 100,000 ids (3 MB of payload, 5 MB of results each) held the loop about a second.
    for (let index = 0; index < 30; index += 1) {
      const job = await store.create({ type: 'kept', payload: { ids: [index] } });
      await store.claim(job.jobId, 'w', 60_000);
      await store.finish(job.jobId, 'w', { status: 'completed', result: { summary: {} } });
    }
    await clock.advance(31 * DAY);
    const stored = () => db.prepare<[], { n: number }>('SELECT count(*) AS n FROM jobs').get()!.n;
    let atFirstTurn: number | undefined;
    setImmediate(() => (atFirstTurn = stored()));
    const before = new Date(clock.now() - 30 * DAY).toISOString();
    expect(await store.deleteFinished({ types: ['kept'], before, limit: 500 })).toBe(30);
    expect(stored()).toBe(0);
    // Rows deleted before the loop's first turn: some, not all 30 (none before: the turn came after the sweep).
    expect(atFirstTurn ?? 0).toBeGreaterThan(0);
    expect(atFirstTurn ?? 30).toBeLessThan(30);
  });
});
