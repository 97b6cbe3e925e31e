import { loggedInAdmin, NO_API_KEY } from '../helpers/admins.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTED_IDENTITY, seedGroups, startService, type TestService } from '../helpers/service.js';
import { subscribeSse } from '../helpers/sse.js';

/**
 * A `jobProgress` stream outlived the rights it was opened with: an administrator who was demoted,
 * blocked or logged out kept a stream open (and one of its JOB_PROGRESS_MAX_PER_CALLER places) for
 * as long as the job ran, hours for a large bulk change-password, reading its progress. The stream
 * re-checks its caller at every poll and ends once the caller may no longer open it.
 */
const PROGRESS = `subscription ($id: ID!) { jobProgress(id: $id) { jobId status } }`;
const anonymous = NO_API_KEY;
let service: TestService;
let jobId: string;

beforeAll(async () => {
  service = await startService({ env: { JOB_PROGRESS_POLL_MS: '20', RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
  await service.deps.groups.saveGroup(
    { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
    { actorId: 't', headers: {} },
  );
  const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
    userGroup: 'customer',
    username: 'followed',
    email: 'followed@example.com',
    name: 'F',
  });
  const started = await service.call('POST', '/jobs/bulk-activation', [{ filter: { userId: created.body._id } }]);
  expect(started.status).toBe(202);
  jobId = started.body.jobId; // pending for good: no worker runs in this file
});
afterAll(() => service.close());

/** A new administrator following the job: its profile, its headers and its open stream. */
async function followingAdmin() {
  const { id, authUserId, bearer } = await loggedInAdmin(service, 'watcher');
  const auth = { ...anonymous, ...bearer };
  const stream = await subscribeSse(service.url, PROGRESS, { id: jobId }, bearer);
  const first = await stream.next();
  expect(first.data.data?.jobProgress.status, JSON.stringify(first)).toBe('pending');
  expect(service.deps.jobWatches.openFor(authUserId)).toBe(1);
  return { id, authUserId, auth, stream };
}

/** The stream ended by the service: its place is given back and the client sees the end. */
async function expectEnded(follower: Awaited<ReturnType<typeof followingAdmin>>) {
  await expect.poll(() => service.deps.jobWatches.openFor(follower.authUserId), { timeout: 3000 }).toBe(0);
  const events = await follower.stream.rest();
  expect(JSON.stringify(events)).not.toContain('"status":"pending"');
}

describe('a jobProgress stream whose caller loses the right', () => {
  it.each([
    ['a move out of ADMIN_GROUPS', (id: string) => service.call('PATCH', `/users/${id}`, { userGroup: 'customer', name: 'Demoted' })],
    ['a block', (id: string) => service.call('PATCH', `/users/${id}`, { blocked: true })],
    ['a move to TRASH', (id: string) => service.call('POST', '/users/state', [{ filter: { _id: id }, stateTo: 'TRASH' }])],
  ])('ends after %s', async (_change, change) => {
    const follower = await followingAdmin();
    expect((await change(follower.id)).status).toBeLessThan(300);
    await expectEnded(follower);
  });

  // Auth0's own access tokens run until they expire (docs/security.md): logout ends them only on the embedded provider.
  it.runIf(!CONNECTED_IDENTITY)('ends after a logout', async () => {
    const follower = await followingAdmin();
    expect((await service.call('POST', '/logout', undefined, follower.auth)).status).toBe(204);
    await expectEnded(follower);
  });

  it('runs on while the caller keeps its rights', async () => {
    const follower = await followingAdmin();
    expect((await service.call('PATCH', `/users/${follower.id}`, { name: 'Renamed' })).status).toBe(200);
    // Several polls later, the place is still held.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(service.deps.jobWatches.openFor(follower.authUserId)).toBe(1);
    follower.stream.close();
    await expect.poll(() => service.deps.jobWatches.openFor(follower.authUserId), { timeout: 3000 }).toBe(0);
  });
});
