import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Deps } from '../../src/context.js';
import { passwordChangeJob } from '../../src/resolvers/passwords.js';
import { workerFixture } from '../helpers/job-worker.js';

/**
 * Saved progress, through the bulk change-password job (2 e-mails a second: windows of 2 users,
 * progress saved after each) over a memory job store on a fake clock: a replica that dies between
 * two windows, progress saved by an older release, and progress this release cannot read.
 */
let fixture: Awaited<ReturnType<typeof workerFixture>>;
beforeEach(async () => {
  fixture = await workerFixture();
});
afterEach(() => fixture.close());

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];

/** A replica whose identity provider records each password e-mail asked for; `hangOn` never answers (the process froze there). */
function replica(sent: string[], hangOn?: string) {
  return fixture.replica([passwordChangeJob], (deps: Deps) => ({
    auth: {
      ...deps.auth,
      requestPasswordChange: (authUserId: string) => {
        sent.push(authUserId);
        return authUserId === hangOn ? new Promise<void>(() => undefined) : Promise.resolve();
      },
    },
  }));
}

/** A job some earlier replica claimed and saved `saved` for, then died: its lease lapses in 1 s. */
async function leftBehind(saved: unknown) {
  const job = await fixture.store.create({ type: passwordChangeJob.type, payload: { authUserIds: USERS } });
  expect(await fixture.store.claim(job.jobId, 'dead', 1000)).toBe(true);
  expect(await fixture.store.heartbeat(job.jobId, 'dead', 1000, saved)).toBe(true);
  return job.jobId;
}

describe('saved job progress', () => {
  it('shows its counters while it runs, and a replica that died between two windows is resumed after it, not redone', async () => {
    const job = await fixture.store.create({ type: passwordChangeJob.type, payload: { authUserIds: USERS } });
    const sentByA: string[] = [];
    const a = replica(sentByA, 'u3');
    await fixture.clock.advance(500);
    expect(sentByA).toEqual(['u1', 'u2']);
    expect(await fixture.store.head(job.jobId)).toMatchObject({ status: 'running', counters: { total: 6, processed: 2, failed: 0 } });
    // The second window starts a second after the first, and A dies in it (u3 never answered).
    await fixture.clock.advance(600);
    expect(sentByA).toEqual(['u1', 'u2', 'u3', 'u4']);
    a.kill();

    const sentByB: string[] = [];
    replica(sentByB);
    await fixture.clock.advance(2_900);
    expect(sentByB).toEqual([]); // A's lease (3 s, renewed until it died) still holds
    await fixture.clock.advance(5_000);
    // Resumed from A's last save: the window in flight is sent again, the one before is not.
    expect(sentByB).toEqual(['u3', 'u4', 'u5', 'u6']);
    expect(await fixture.store.get(job.jobId)).toMatchObject({
      status: 'completed',
      result: { next: 6, failures: [] },
      counters: { total: 6, processed: 6, failed: 0 },
    });
  });

  it('shows its total before the first window is done', async () => {
    const job = await fixture.store.create({ type: passwordChangeJob.type, payload: { authUserIds: USERS } });
    const frozen = replica([], 'u1');
    await fixture.clock.advance(500);
    expect(await fixture.store.head(job.jobId)).toMatchObject({ status: 'running', counters: { total: 6, processed: 0, failed: 0 } });
    frozen.kill();
  });

  it('resumes progress saved before it had a version (version 0) from where it stopped', async () => {
    const jobId = await leftBehind({ next: 4, failures: [{ authUserId: 'u2', error: 'no e-mail' }] });
    const sent: string[] = [];
    replica(sent);
    await fixture.clock.advance(5_000);
    expect(sent).toEqual(['u5', 'u6']);
    expect(await fixture.store.get(jobId)).toMatchObject({
      status: 'completed',
      result: { next: 6, failures: [{ authUserId: 'u2', error: 'no e-mail' }] },
      counters: { total: 6, processed: 6, failed: 1 },
    });
  });

  it('saves its progress with its version', async () => {
    const jobId = await leftBehind({ version: 1, progress: { next: 2, failures: [] } });
    const sent: string[] = [];
    const frozen = replica(sent, 'u5');
    await fixture.clock.advance(2_500);
    expect(sent).toEqual(['u3', 'u4', 'u5', 'u6']);
    frozen.kill();
    expect((await fixture.store.get(jobId))?.result).toEqual({ version: 1, progress: { next: 4, failures: [] } });
  });

  it.each([
    [
      'a newer release (an unknown version)',
      { version: 7, progress: { next: 2 } },
      /saved by a newer release \(version 7; this release reads versions up to 1\)/,
    ],
    [
      'a shape its version does not have',
      { version: 1, progress: { next: 'two', failures: [] } },
      /progress of version 1 cannot be read: .*next/s,
    ],
    ['a shape version 0 never had', { cursor: 'u3' }, /progress of version 0 cannot be read/],
  ])('fails a job whose progress was saved by %s, with a clear error, sending nothing', async (_name, saved, error) => {
    const jobId = await leftBehind(saved);
    const sent: string[] = [];
    replica(sent);
    await fixture.clock.advance(10_000);
    expect(sent).toEqual([]);
    const job = await fixture.store.get(jobId);
    expect(job).toMatchObject({ status: 'failed', result: { error: expect.stringMatching(error) } });
    expect((job?.result as { error: string }).error).toContain(jobId);
  });
});
