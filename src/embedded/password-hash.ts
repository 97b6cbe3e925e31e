import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (a const enum, which isolated modules cannot read). */
const ARGON2ID = 2;

/**
 * Argon2id at OWASP's first recommended setting (19 MiB, 2 iterations, 1 lane): about 16 ms a
 * hash on one core here, so the embedded provider can serve well over 15 logins/s per vCPU.
 * The parameters are stored in each PHC string, so raising them later keeps old hashes valid.
 */
export const ARGON2_PARAMS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Verified against when a login names no known user, so that costs as long as a wrong password:
 * the hash, with ARGON2_PARAMS, of a random secret nobody kept (it matches nothing). A constant
 * rather than a hash made at start: a start then computes no hash, and the 19 MiB an argon2 hash
 * takes stays with @node-rs/argon2's allocator (mimalloc) until the next hash, idle memory included.
 */
export const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$CoPNx+opXvEHXe/YyL3EFw$sbYKtgWXaEqiD69z79xP+a+7aExY0dRtRcbt2WKLn6o';

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
