import { hash, randomBytes } from 'node:crypto';

/** A random opaque secret (256 bits), for refresh tokens, session cookies and reset tickets. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored instead of a secret. SHA-256 suffices: the secrets are random, not passwords. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'base64url');
}
