import { createHash, randomBytes } from 'node:crypto';

/** A random opaque secret (256 bits), for refresh tokens, session cookies and reset tickets. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored instead of a secret. SHA-256 suffices: the secrets are random, not passwords. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
