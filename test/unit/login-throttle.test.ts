import { afterEach, describe, expect, it, vi } from 'vitest';
import { TooManyRequestsError } from '../../src/errors.js';
import { LoginThrottle } from '../../src/infra/login-throttle.js';
import { FakeClock } from '../helpers/fake-clock.js';

afterEach(() => vi.restoreAllMocks());

describe('the in-memory windows of LoginThrottle', () => {
  it('past 100,000 keys in one window, does not scan every key again at each new one', () => {
    // A bulk change-password job counts one key per user in the password e-mail window (an hour):
    // each key past 100,000 scanned the whole map for windows that ended, none of which had.
    const clock = new FakeClock();
    const throttle = new LoginThrottle({ max: 1, windowSeconds: 3600, clock });
    const scans = vi.spyOn(Map.prototype, 'keys');
    for (let index = 0; index < 100_200; index += 1) throttle.reserve(`auth0|${index}`);
    expect(scans.mock.calls.length).toBeLessThanOrEqual(1);
    expect(() => throttle.reserve('auth0|0')).toThrow(TooManyRequestsError);
    expect(() => throttle.reserve('auth0|100199')).toThrow(TooManyRequestsError);
  });

  it('still forgets windows that ended once the map is past 100,000 keys', async () => {
    const clock = new FakeClock();
    const throttle = new LoginThrottle({ max: 1, windowSeconds: 60, clock });
    for (let index = 0; index < 100_001; index += 1) throttle.reserve(`a${index}`);
    await clock.advance(60_000);
    for (let index = 0; index < 100_010; index += 1) throttle.reserve(`b${index}`);
    // The first prune (at 100,001 keys, nothing ended) waited for the map to double; the next one dropped every a….
    expect((throttle as unknown as { windows: Map<string, unknown> }).windows.has('a5')).toBe(false);
    expect(() => throttle.reserve('a5')).not.toThrow();
  });
});
