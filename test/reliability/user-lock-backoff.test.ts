import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import { UpstreamError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * The user-sync intent is also the user's lock (409 USER_BUSY), and the reconciler holds it
 * between its tries while an upstream is down. Leases and the reconciler's polls run on a fake
 * clock, moved by the test.
 */
const clock = new FakeClock();
let identityDown = false;
/** Identity calls refused while the provider was down: the reconciler's tries. */
let refused = 0;
let service: TestService;

function flakyIdentity(identity: IdentityProvider): IdentityProvider {
  const down = () => {
    refused += 1;
    return new UpstreamError('Auth0', 'users', 0, { unreachable: true });
  };
  return {
    ...identity,
    async updateUser(id, changes) {
      if (identityDown) throw down();
      return identity.updateUser(id, changes);
    },
    async getUsers(ids) {
      if (identityDown) throw down();
      return identity.getUsers(ids);
    },
  };
}

beforeAll(async () => {
  service = await startService({
    clock,
    background: true,
    env: { RANDOM_PWD_GEN: 'false', JOBS_LEASE_MS: '60000', JOBS_POLL_MS: '50' },
    wrap: (deps) => ({ identity: flakyIdentity(deps.identity) }),
  });
  await seedGroups(service);
});
afterAll(() => service.close());

/** Moves the fake clock by `ms` in steps of a second, letting the reconciler's work settle at each. */
async function pass(ms: number): Promise<void> {
  for (let moved = 0; moved < ms; moved += 1000) {
    await clock.advance(Math.min(1000, ms - moved));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a user whose write failed while its identity provider was down', () => {
  it('is free again within 5 s of the provider coming back, however long the reconciler backed off', async () => {
    const body = { userGroup: 'customer', username: 'backoff', email: 'backoff@example.com', name: 'B' };
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', body);
    expect(created.status).toBe(200);
    const path = `/users/${created.body._id}`;
    identityDown = true;
    expect((await service.call('PATCH', path, { email: 'backoff-2@example.com' })).status).toBe(503);
    // The reconciler tries again after 2, 4, 8, 16 s… holding the user meanwhile.
    refused = 0;
    await pass(40_000);
    expect(refused).toBeGreaterThanOrEqual(4);
    identityDown = false;
    await pass(5_000);
    const retried = await service.call('PATCH', path, { email: 'backoff-2@example.com' });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ email: 'backoff-2@example.com' });
  });
});
