import { describe, expect, it } from 'vitest';
import { sharedReadiness } from '../../src/infra/shared-readiness.js';
import type { ReadinessCheck } from '../../src/ports/readiness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A probe round whose answer the test sets, counting the rounds and letting the test end each one. */
function upstreams(initial: ReadinessCheck[]) {
  const state = { checks: initial, rounds: 0, pending: [] as (() => void)[] };
  const probe = () => {
    state.rounds += 1;
    return new Promise<ReadinessCheck[]>((resolve) => state.pending.push(() => resolve(state.checks)));
  };
  const answer = () => state.pending.splice(0).forEach((end) => end());
  return { state, probe, answer };
}

const READY = [{ name: 'CRUD', ok: true }];
const DOWN = [{ name: 'CRUD', ok: false, detail: 'CRUD GET /-/healthz answered 503' }];

describe('the readiness probes, shared', () => {
  it('gives the calls that arrive during a round the answer of that one round', async () => {
    const { state, probe, answer } = upstreams(READY);
    const ready = sharedReadiness(probe, new FakeClock(), 1000);
    const calls = Array.from({ length: 50 }, () => ready());
    answer();
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 50 }, () => READY));
    expect(state.rounds).toBe(1);
  });

  it('answers an all-ready round again for READINESS_CACHE_MS, then probes again', async () => {
    const clock = new FakeClock();
    const { state, probe, answer } = upstreams(READY);
    const ready = sharedReadiness(probe, clock, 1000);
    const first = ready();
    answer();
    await first;
    await clock.advance(999);
    expect(await ready()).toEqual(READY);
    expect(state.rounds).toBe(1);
    await clock.advance(1);
    state.checks = DOWN;
    const next = ready();
    answer();
    expect(await next).toEqual(DOWN);
    expect(state.rounds).toBe(2);
  });

  it('keeps no round that found a backend not ready: the next call sees a recovery at once', async () => {
    const { state, probe, answer } = upstreams(DOWN);
    const ready = sharedReadiness(probe, new FakeClock(), 1000);
    const first = ready();
    answer();
    expect(await first).toEqual(DOWN);
    state.checks = READY;
    const second = ready();
    answer();
    expect(await second).toEqual(READY);
    expect(state.rounds).toBe(2);
  });

  it('probes again after a round that failed as a whole', async () => {
    let rounds = 0;
    const ready = sharedReadiness(
      async () => {
        rounds += 1;
        if (rounds === 1) throw new Error('probe broke');
        return READY;
      },
      new FakeClock(),
      1000,
    );
    await expect(ready()).rejects.toThrow('probe broke');
    expect(await ready()).toEqual(READY);
  });
});
