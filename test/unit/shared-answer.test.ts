import { describe, expect, it } from 'vitest';
import { sharedAnswer } from '../../src/infra/shared-answer.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('an upstream answer shared by anonymous callers (Auth0 key set)', () => {
  it('keeps an answer for its time, then asks again; a failure is not kept', async () => {
    const clock = new FakeClock();
    let fetches = 0;
    let fail = false;
    const answer = sharedAnswer(
      async () => {
        fetches += 1;
        if (fail) throw new Error('tenant down');
        return { keys: [fetches] };
      },
      clock,
      1000,
    );
    expect(await Promise.all([answer(), answer(), answer()])).toEqual([{ keys: [1] }, { keys: [1] }, { keys: [1] }]);
    await clock.advance(999);
    expect(await answer()).toEqual({ keys: [1] });
    expect(fetches).toBe(1);
    await clock.advance(1);
    fail = true;
    await expect(answer()).rejects.toThrow('tenant down');
    await expect(answer()).rejects.toThrow('tenant down');
    expect(fetches).toBe(3);
    fail = false;
    expect(await answer()).toEqual({ keys: [4] });
  });
});
