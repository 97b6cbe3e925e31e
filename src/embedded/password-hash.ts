import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (a const enum, which isolated modules cannot read). */
const ARGON2ID = 2;

/**
 * Argon2id at OWASP's first recommended setting (19 MiB, 2 iterations, 1 lane): about 16 ms a
 * hash on one core here, so the embedded provider can serve well over 15 logins/s per vCPU.
 * The parameters are stored in each PHC string, so raising them later keeps old hashes valid.
 */
export const ARGON2_PARAMS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** The stored hash of an identity that has no password yet (an imported user): it matches nothing. */
export const NO_PASSWORD = '!';

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}
