import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackground } from '../src/background.js';
import { seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';
import { subscribeSse } from './helpers/sse.js';

/** Live job progress (issue #22): the `jobs` list and the `jobProgress` subscription over Server-Sent Events. */
const FAST = { JOBS_POLL_MS: '50', JOBS_LEASE_MS: '500', AUTH0_JOB_POLLING_INTERVAL: '20', JOB_PROGRESS_MAX_PER_CALLER: '2' };
const PROGRESS = `subscription ($id: ID!) { jobProgress(id: $id) { jobId kind status total processed failed error } }`;
const JOBS = `query ($kind: JobKind, $status: JobStatus, $first: Int, $after: String) {
  jobs(kind: $kind, status: $status, first: $first, after: $after) { hasNextPage endCursor nodes { jobId kind status total processed failed } }
}`;
const ADMIN = { 'x-api-key': TEST_API_KEY };
/** A second integration, with its own key: its own places. */
const OTHER_KEY = 'second-api-key-0123456789';

let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({ env: { ...FAST, API_KEYS: `${TEST_API_KEY},${OTHER_KEY}` } });
  await seedGroups(service);
});
afterAll(() => service.close());

/** `count` profiles without identity; answers their ids. */
async function profiles(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const name = `jp${(counter += 1)}x`;
    const res = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: name,
      email: `${name}@example.com`,
      name: 'N',
    });
    expect(res.status).toBe(200);
    ids.push(res.body._id);
  }
  return ids;
}

async function startActivation(count: number): Promise<string> {
  const res = await service.call(
    'POST',
    '/jobs/bulk-activation',
    (await profiles(count)).map((userId) => ({ filter: { userId } })),
  );
  expect(res.status).toBe(202);
  return res.body.jobId;
}

/** Returns once the clock reads a later millisecond than when it was called. */
async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  while (Date.now() === start) await new Promise((resolve) => setImmediate(resolve));
}

/** Runs the job worker (as main.ts does) until `work` is done. */
async function withWorker<T>(work: () => Promise<T>): Promise<T> {
  const stop = startBackground(service.deps);
  try {
    return await work();
  } finally {
    stop();
  }
}

describe('jobProgress over Server-Sent Events', () => {
  it('sends the pending state at once, then the end with its counters, then completes', async () => {
    const jobId = await startActivation(3);
    const stream = await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN);
    expect(stream.status).toBe(200);
    const first = await stream.next();
    expect(first).toMatchObject({ event: 'next', data: { data: { jobProgress: { jobId, kind: 'BULK_ACTIVATION', status: 'pending' } } } });
    const rest = await withWorker(() => stream.rest());
    expect(rest.at(-1)?.event).toBe('complete');
    const last = rest.filter((event) => event.event === 'next').at(-1);
    expect(last?.data.data.jobProgress).toEqual({
      jobId,
      kind: 'BULK_ACTIVATION',
      status: 'completed',
      total: 3,
      processed: 3,
      failed: 0,
      error: null,
    });
  });

  it('answers a job that has already ended with one event, then completes', async () => {
    const jobId = await startActivation(1);
    await withWorker(() => subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN).then((stream) => stream.rest()));
    const stream = await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN);
    const events = await stream.rest();
    expect(events.map((event) => event.event)).toEqual(['next', 'complete']);
    expect(events[0]!.data.data.jobProgress).toMatchObject({ status: 'completed', total: 1, processed: 1 });
  });

  it('refuses anonymous callers, unknown jobs and more than JOB_PROGRESS_MAX_PER_CALLER streams', async () => {
    const jobId = await startActivation(1);
    const anonymous = await (await subscribeSse(service.url, PROGRESS, { id: jobId }, {})).rest();
    expect(anonymous[0]!.data.errors[0].extensions.code).toBe('UNAUTHORIZED');
    const unknown = await (await subscribeSse(service.url, PROGRESS, { id: 'nope' }, ADMIN)).rest();
    expect(unknown[0]!.data.errors[0].extensions.code).toBe('NOT_FOUND');

    const open = [
      await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN),
      await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN),
    ];
    await Promise.all(open.map((stream) => stream.next()));
    const third = await (await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN)).rest();
    expect(third[0]!.data.errors[0]).toMatchObject({ extensions: { code: 'TOO_MANY_REQUESTS' } });
    // Every API key is a caller of its own: one integration cannot take the places of another.
    const other = await subscribeSse(service.url, PROGRESS, { id: jobId }, { 'x-api-key': OTHER_KEY });
    expect((await other.next()).data.data.jobProgress.status).toBe('pending');
    other.close();
    open[0]!.close();
    // The place is given back once the service sees the client gone (at its next poll at the latest).
    await expect.poll(() => service.deps.jobWatches.openFor('api-key#1'), { timeout: 3000 }).toBe(1);
    const again = await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN);
    expect((await again.next()).data.data.jobProgress.status).toBe('pending');
    again.close();
    open[1]!.close();
  });
});

describe('jobs', () => {
  it('lists bulk jobs newest first, a page at a time, by kind and status', async () => {
    // Newest first is by creation time, then by id (the job stores' contract, test/job-store.test.ts):
    // each job is made in a later millisecond than the one before, or two could tie.
    const older = await startActivation(1);
    await nextMillisecond();
    const newer = await startActivation(1);
    await nextMillisecond();
    const mail = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ['nobody'] });
    expect(mail.status).toBe(202);

    const page1 = (await service.graphql(JOBS, { kind: 'BULK_ACTIVATION', status: 'pending', first: 1 })).data.jobs;
    expect(page1.nodes).toEqual([{ jobId: newer, kind: 'BULK_ACTIVATION', status: 'pending', total: null, processed: null, failed: null }]);
    expect(page1.hasNextPage).toBe(true);
    const page2 = (await service.graphql(JOBS, { kind: 'BULK_ACTIVATION', status: 'pending', first: 1, after: page1.endCursor })).data.jobs;
    expect(page2.nodes.map((job: { jobId: string }) => job.jobId)).toEqual([older]);

    const all = (await service.graphql(JOBS, { first: 100 })).data.jobs.nodes.map((job: { jobId: string }) => job.jobId);
    expect(all.slice(0, 3)).toEqual([mail.body.jobId, newer, older]);
    const mails = (await service.graphql(JOBS, { kind: 'BULK_PASSWORD_CHANGE' })).data.jobs.nodes;
    expect(mails.map((job: { kind: string }) => job.kind)).toEqual(mails.map(() => 'BULK_PASSWORD_CHANGE'));

    await withWorker(() => subscribeSse(service.url, PROGRESS, { id: newer }, ADMIN).then((stream) => stream.rest()));
    const completed = (await service.graphql(JOBS, { status: 'completed', first: 100 })).data.jobs.nodes;
    expect(completed).toContainEqual({ jobId: newer, kind: 'BULK_ACTIVATION', status: 'completed', total: 1, processed: 1, failed: 0 });
  });

  it('keeps the counters of a completed bulk password job, in the list and its last event', async () => {
    const mail = await service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ['nobody-1', 'nobody-2'] });
    expect(mail.status).toBe(202);
    const events = await withWorker(() =>
      subscribeSse(service.url, PROGRESS, { id: mail.body.jobId }, ADMIN).then((stream) => stream.rest()),
    );
    const done = { jobId: mail.body.jobId, kind: 'BULK_PASSWORD_CHANGE', status: 'completed', total: 2, processed: 2, failed: 2 };
    expect(events.filter((event) => event.event === 'next').at(-1)?.data.data.jobProgress).toMatchObject(done);
    const completed = (await service.graphql(JOBS, { kind: 'BULK_PASSWORD_CHANGE', status: 'completed', first: 100 })).data.jobs.nodes;
    expect(completed).toContainEqual(done);
  });

  it('is for administrators, and refuses a cursor it did not give', async () => {
    const anonymous = await service.graphql(JOBS, {}, { 'x-api-key': '' });
    expect(anonymous.errors?.[0].extensions.code).toBe('UNAUTHORIZED');
    const bad = await service.graphql(JOBS, { after: 'not-a-cursor' });
    expect(bad.errors?.[0]).toMatchObject({ message: 'after is not a cursor of this list', extensions: { code: 'INVALID_INPUT' } });
    const tooMany = await service.graphql(JOBS, { first: 1000 });
    expect(tooMany.errors?.[0].extensions.code).toBe('INVALID_INPUT');
  });
});
