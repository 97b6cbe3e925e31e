import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/ports/identity-provider.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { countIdentities, seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * A live creation whose step outlasts JOBS_LEASE_MS (a cold first request on a loaded machine, a
 * slow identity provider, a REQUEST_TIMEOUT_MS above the lease) keeps its intent: its lease is
 * renewed while it works, so it answers as if it were quick, and no reconciler takes it over.
 * The reconciler runs (background) and the fake clock moves while the step is held at a gate.
 */
const LEASE_MS = 1000;
const clock = new FakeClock();
let service: TestService;
let counter = 0;

/** The next identity made with this e-mail waits here before it is made: `reached` once it waits. */
const gates = new Map<string, { reached: () => void; opened: Promise<void> }>();

function gatedIdentity(identity: IdentityProvider): IdentityProvider {
  return {
    ...identity,
    async createUser(user) {
      const gate = user.email === undefined ? undefined : gates.get(user.email);
      if (gate) {
        gates.delete(user.email!);
        gate.reached();
        await gate.opened;
      }
      return identity.createUser(user);
    },
  };
}

/** Holds the identity step of `email` until `open()`; `reached` resolves once a request waits there. */
function hold(email: string): { reached: Promise<void>; open: () => void } {
  let reached!: () => void;
  let open!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  gates.set(email, { reached, opened: new Promise<void>((resolve) => (open = resolve)) });
  return { reached: arrived, open };
}

/** Three leases go by in steps of a quarter lease: each due renewal and reconciler poll runs. */
async function leasesGoBy(): Promise<void> {
  for (let step = 0; step < 12; step += 1) await clock.advance(LEASE_MS / 4);
}

beforeAll(async () => {
  service = await startService({
    clock,
    background: true,
    env: { JOBS_LEASE_MS: String(LEASE_MS), JOBS_POLL_MS: '50' },
    wrap: (deps) => ({ identity: gatedIdentity(deps.identity) }),
  });
  await seedGroups(service);
});
afterAll(() => service?.close());

function next(): { username: string; email: string } {
  counter += 1;
  return { username: `slow${counter}`, email: `slow${counter}@example.com` };
}

async function expectWhole(id: string): Promise<void> {
  const stored = (await service.call('GET', `/users/${id}`)).body;
  expect(stored.authUserId).toEqual(expect.any(String));
  expect(await service.deps.jobs.head(`user-creation:${id}`)).toBeUndefined();
}

describe('a creation whose identity step outlasts the lease', () => {
  it('POST /users/ answers 200 with a whole user, one identity', async () => {
    const names = next();
    const identities = countIdentities(service);
    const gate = hold(names.email);
    const answer = service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'customer', name: 'S', ...names });
    await gate.reached;
    await leasesGoBy();
    gate.open();
    const created = await answer;
    expect(created.body).toEqual({ _id: expect.any(String) });
    expect(created.status).toBe(200);
    await expectWhole(created.body._id);
    expect(countIdentities(service)).toBe(identities + 1);
  });

  it('POST /users/register answers 204, the profile linked, one identity', async () => {
    const names = next();
    const created = await service.call('POST', '/users/?postponeAuthUserCreation=true', { userGroup: 'customer', name: 'S', ...names });
    expect(created.status).toBe(200);
    const identities = countIdentities(service);
    const gate = hold(names.email);
    const answer = service.call('POST', '/users/register?sendResetPwdEmail=false', { _id: created.body._id });
    await gate.reached;
    await leasesGoBy();
    gate.open();
    const registered = await answer;
    expect(registered.body).toBeUndefined();
    expect(registered.status).toBe(204);
    await expectWhole(created.body._id);
    expect(countIdentities(service)).toBe(identities + 1);
  });
});
