import { get, type IncomingMessage } from 'node:http';
import { loggedInAdmin } from '../helpers/admins.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GUEST_GROUP, seedGroups, startService, type TestService } from '../helpers/service.js';
import { subscribeSse } from '../helpers/sse.js';

/**
 * An export and a `jobProgress` stream check their caller again while they run (the caller's
 * profile, and with Auth0 or the auth0-client the identity, once their caches expire). Those reads
 * must not run under the request's own deadline (REQUEST_TIMEOUT_MS after it arrived): an export
 * a client took longer than that to read was cut short with a 5xx upstream error in every
 * connected mode, and a stream ended with an error, though the caller had every right.
 * Only `Date` is faked: the upstream calls are real, the clock jumps past deadline and caches.
 */
const USERS = 3000;
const PROGRESS = `subscription ($id: ID!) { jobProgress(id: $id) { jobId status } }`;
let service: TestService;
/** The export's reads (its pages, its re-checks of the caller) running, and started so far. */
let busy = 0;
let started = 0;

/** `target` with its `method` counted in `busy` and `started`. */
function counted<T extends object>(target: T, method: string): T {
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key);
      if (typeof value !== 'function') return value;
      if (key !== method) return value.bind(object);
      return async (...args: unknown[]) => {
        busy += 1;
        started += 1;
        try {
          return await value.apply(object, args);
        } finally {
          busy -= 1;
        }
      };
    },
  });
}

beforeAll(async () => {
  service = await startService({
    env: { RANDOM_PWD_GEN: 'false', REQUEST_TIMEOUT_MS: '10000', JOB_PROGRESS_POLL_MS: '20' },
    wrap: (deps) => ({ users: counted(deps.users, 'scan'), auth: counted(deps.auth, 'verifyAccessToken') }),
  });
  await seedGroups(service, [GUEST_GROUP]);
  await service.deps.groups.saveGroup(
    { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
    { actorId: 't', headers: {} },
  );
  // 4 KB a user: 12 MB in all, more than the sockets on both sides buffer.
  const big = 'x'.repeat(4000);
  const docs = Array.from({ length: USERS }, (_, index) => ({ userGroup: 'guest', name: `D${index} ${big}` }));
  for (let start = 0; start < USERS; start += 200) {
    await service.deps.users.insertMany(docs.slice(start, start + 200), { actorId: 'test', headers: {} });
  }
});
afterAll(() => service.close());
afterEach(() => vi.useRealTimers());

const newAdmin = () => loggedInAdmin(service, 'late');

/**
 * Once the export waits for its client (no read running or started for 30 ms), a minute later:
 * a read already under way when the clock jumps would be cut by a deadline no real one meets.
 */
async function aMinuteLaterOnceWaiting() {
  for (let tries = 0; tries < 100; tries += 1) {
    const before = started;
    await new Promise((resolve) => setTimeout(resolve, 30));
    if (busy === 0 && started === before) return aMinuteLater();
  }
  throw new Error('the export never waited for its client');
}

/** A minute later on the wall clock: past the request's deadline and every cache of the caller. */
function aMinuteLater() {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  vi.setSystemTime(Date.now() + 60_000);
}

function startExport(headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = get(
      `${service.url}/users/export?userGroup=guest`,
      { headers: { ...headers, accept: 'application/x-ndjson' } },
      (response) => {
        response.once('data', () => {
          response.pause();
          resolve(response);
        });
      },
    );
    request.on('error', reject);
  });
}

function readRest(response: IncomingMessage): Promise<{ lines: number; complete: boolean }> {
  return new Promise((resolve) => {
    let lines = 0;
    response.on('data', (chunk: Buffer) => (lines += chunk.toString().split('\n').length - 1));
    response.on('end', () => resolve({ lines, complete: true }));
    response.on('error', () => resolve({ lines, complete: false }));
    response.on('aborted', () => resolve({ lines, complete: false }));
    response.resume();
  });
}

describe('a caller re-checked after its request deadline', () => {
  it('an export read slowly runs to its end', async () => {
    const admin = await newAdmin();
    const response = await startExport(admin.bearer);
    // The service writes on until the sockets' buffers are full: the jump comes once it waits.
    await aMinuteLaterOnceWaiting();
    expect(await readRest(response)).toMatchObject({ complete: true });
  });

  it('a jobProgress stream runs on', async () => {
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', { userGroup: 'guest', name: 'Followed' });
    const job = await service.call('POST', '/jobs/bulk-activation', [{ filter: { userId: created.body._id } }]);
    expect(job.status).toBe(202);
    const admin = await newAdmin();
    const stream = await subscribeSse(service.url, PROGRESS, { id: job.body.jobId }, admin.bearer);
    expect((await stream.next()).data.data?.jobProgress.status).toBe('pending');
    const checked = started;
    aMinuteLater();
    // Several polls later (20 ms each), each checking the caller again, the stream still holds its place.
    await expect.poll(() => started - checked, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    expect(service.deps.jobWatches.openFor(admin.authUserId)).toBe(1);
    stream.close();
    await expect.poll(() => service.deps.jobWatches.openFor(admin.authUserId), { timeout: 3000 }).toBe(0);
  });
});
