import { get, type IncomingMessage } from 'node:http';
import { loggedInAdmin, NO_API_KEY } from '../helpers/admins.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTED_IDENTITY, GUEST_GROUP, seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * An export outlived the rights it was started with: it reads the store only as its client takes
 * the file, so a slow download of a large collection runs for minutes, and it went on to the last
 * user after the administrator logged out or was demoted. Each page now checks the caller again;
 * once it is refused, the response is cut short (so no client takes it for the whole file).
 */
const anonymous = NO_API_KEY;
const USERS = 3000;
let service: TestService;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service, [GUEST_GROUP]);
  await service.deps.groups.saveGroup(
    { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
    { actorId: 't', headers: {} },
  );
  // 4 KB a user: 12 MB in all, more than the sockets on both sides buffer.
  const big = 'x'.repeat(4000);
  const docs = Array.from({ length: USERS }, (_, index) => ({ userGroup: 'guest', name: `E${index} ${big}` }));
  for (let start = 0; start < USERS; start += 200) {
    await service.deps.users.insertMany(docs.slice(start, start + 200), { actorId: 'test', headers: {} });
  }
});
afterAll(() => service.close());

const newAdmin = () => loggedInAdmin(service, 'exporter');

/** Starts an export, takes its first chunk, and answers the response paused there. */
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

/** Reads the rest: how many users the client got, and whether the response was complete. */
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

describe('an export whose caller loses the right while it runs', () => {
  type Admin = Awaited<ReturnType<typeof loggedInAdmin>>;
  const changes: [string, (admin: Admin) => Promise<{ status: number }>][] = [
    ['a demotion', (admin) => service.call('PATCH', `/users/${admin.id}`, { userGroup: 'guest' })],
  ];
  // Auth0's own access tokens run until they expire (docs/security.md): a logout ends them on the embedded provider only.
  if (!CONNECTED_IDENTITY)
    changes.push(['a logout', (admin) => service.call('POST', '/logout', undefined, { ...anonymous, ...admin.bearer })]);
  it.each(changes)('is cut short after %s', async (_change, change) => {
    const admin = await newAdmin();
    const response = await startExport(admin.bearer);
    expect((await change(admin)).status).toBeLessThan(300);
    const rest = await readRest(response);
    expect(rest.complete).toBe(false);
    expect(rest.lines).toBeLessThan(USERS);
  });

  it('runs to its end for a caller who keeps the right', async () => {
    const admin = await newAdmin();
    const response = await startExport(admin.bearer);
    expect(await readRest(response)).toMatchObject({ complete: true });
  });
});
