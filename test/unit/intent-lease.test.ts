import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Context, Deps } from '../../src/context.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { endIntent, holdingIntent } from '../../src/resolvers/intent-jobs.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { memoryJobStore } from '../helpers/memory-job-store.js';

/**
 * holdingIntent (intent-jobs.ts) renews an intent's lease while its operation runs; the operation
 * then gives its lease up (a request handing its intent to the reconciler). A renewal still in
 * flight when the operation ended must not land after that hand-over: it would hold the intent (a
 * user-sync intent is the user's lock) for a whole JOBS_LEASE_MS. Memory job store, fake clock.
 */
const LEASE_MS = 3000;
let clock: FakeClock;
let deps: Deps & { db: { close(): void } };
beforeEach(async () => {
  clock = new FakeClock();
  const env = { EMBEDDED_DB_PATH: ':memory:', LOG_LEVEL: 'silent', JOBS_LEASE_MS: String(LEASE_MS) };
  deps = await createDeps(loadConfig(env), pino({ level: 'silent' }), { clock });
});
afterEach(() => deps.db.close());

describe('an intent held while its operation runs, then handed over', () => {
  it('is claimable at once: a renewal still in flight when the operation ended lands before the hand-over', async () => {
    const store = memoryJobStore(clock);
    let releaseRenewal!: () => void;
    const renewalGate = new Promise<void>((resolve) => (releaseRenewal = resolve));
    let renewals = 0;
    // A job store whose answer to a renewal is slow (the CRUD Service over the network).
    const jobs = {
      ...store,
      async heartbeat(...args: Parameters<typeof store.heartbeat>) {
        if (args[2] === LEASE_MS) {
          renewals += 1;
          await renewalGate;
        }
        return store.heartbeat(...args);
      },
    };
    const ctx = { deps: { ...deps, jobs, replicaId: 'me' }, requestId: 'r1' } as unknown as Context;
    await jobs.create({ type: 'user-sync', jobId: 'user-sync:u1', payload: {}, owner: 'me', leaseMs: LEASE_MS });

    const held = holdingIntent(ctx, 'user-sync:u1', async () => {
      await clock.advance(LEASE_MS / 3); // a renewal starts; its answer is slow
      expect(renewals).toBe(1);
    });
    // The operation ends while the renewal is in flight; the renewal is answered a moment later.
    setTimeout(releaseRenewal, 20);
    await held;
    await endIntent(ctx, 'user-sync:u1', false);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await clock.advance(1); // a lease given up has ended by the next millisecond

    expect(await store.claim('user-sync:u1', 'reconciler', LEASE_MS)).toBe(true);
  });
});
