import { describe, expect, it } from 'vitest';
import { ARGON2_PARAMS, DUMMY_HASH, hashPassword, verifyPassword } from '../../src/embedded/password-hash.js';

/** The parameters of a PHC string: `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`. */
function parameters(phc: string) {
  const [, algorithm, , params] = phc.split('$');
  const values = Object.fromEntries(params!.split(',').map((pair) => pair.split('=') as [string, string]));
  return { algorithm, m: Number(values.m), t: Number(values.t), p: Number(values.p) };
}

describe('the dummy hash verified when a login names no known user', () => {
  it('has the parameters of every stored hash, so an unknown name costs as long as a wrong password', async () => {
    const stored = await hashPassword('Some-Passw0rd');
    expect(parameters(DUMMY_HASH)).toEqual(parameters(stored));
    expect(parameters(DUMMY_HASH)).toEqual({ algorithm: 'argon2id', m: ARGON2_PARAMS.memoryCost, t: ARGON2_PARAMS.timeCost, p: 1 });
  });

  it('matches no password', async () => {
    for (const password of ['', 'Some-Passw0rd', DUMMY_HASH]) expect(await verifyPassword(DUMMY_HASH, password)).toBe(false);
  });
});
