import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import type { ExpirationScheduler } from '../../src/ports/expiration-scheduler.js';
import { UpstreamError } from '../../src/errors.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * A `PATCH /users/:id` whose steps fail part-way leaves the user as it was on both sides, and no
 * schedule of its own behind: every backend.
 */
type Trap = 'none' | 'identity-update-fails';
let trap: Trap = 'none';
let service: TestService;
let counter = 0;
/** Schedules made and not aborted, by id (what the scheduler still holds). */
const live = new Map<string, string>();

function recordedScheduler(scheduler: ExpirationScheduler): ExpirationScheduler {
  return {
    ...scheduler,
    start: scheduler.start?.bind(scheduler),
    stop: scheduler.stop?.bind(scheduler),
    async schedule(payload, headers) {
      const id = await scheduler.schedule(payload, headers);
      live.set(id, payload.userId);
      return id;
    },
    async abort(id) {
      await scheduler.abort(id);
      live.delete(id);
    },
  };
}

function trappedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async updateUser(id, changes) {
      if (trap === 'identity-update-fails') throw new UpstreamError('Auth0', 'PATCH /users/:id', 500);
      return identity.updateUser(id, changes);
    },
  };
}

beforeAll(async () => {
  service = await startService({
    env: { RANDOM_PWD_GEN: 'false' },
    wrap: (deps) => ({ scheduler: recordedScheduler(deps.scheduler), identity: trappedIdentity(deps.identity) }),
  });
  await seedGroups(service);
});
beforeEach(() => {
  trap = 'none';
});
afterAll(() => service.close());

async function newUser(): Promise<{ _id: string; email: string }> {
  counter += 1;
  const email = `upd${counter}@example.com`;
  const body = { userGroup: 'customer', username: `upd${counter}`, email, name: 'U', password: 'Update-pass-1' };
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', body);
  expect(created.status).toBe(200);
  return { _id: created.body._id, email };
}

const schedulesOf = (userId: string) => [...live.values()].filter((owner) => owner === userId).length;
const inADay = () => new Date(Date.now() + 86_400_000).toISOString();

describe('an update whose identity step fails', () => {
  it('with an e-mail another identity has: 409, and the new expiration schedule is aborted', async () => {
    const [user, other] = [await newUser(), await newUser()];
    const res = await service.call('PATCH', `/users/${user._id}`, { email: other.email, expirationDate: inADay() });
    expect(res.status).toBe(409);
    expect(schedulesOf(user._id)).toBe(0);
    expect((await service.call('GET', `/users/${user._id}`)).body).not.toHaveProperty('expirationDate');
  });

  it('with the identity provider failing: an error, and the new expiration schedule is aborted', async () => {
    const user = await newUser();
    trap = 'identity-update-fails';
    const res = await service.call('PATCH', `/users/${user._id}`, { name: 'V', email: `moved-${user.email}`, expirationDate: inADay() });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(schedulesOf(user._id)).toBe(0);
    expect((await service.call('GET', `/users/${user._id}`)).body).toMatchObject({ name: 'U', email: user.email });
  });
});
