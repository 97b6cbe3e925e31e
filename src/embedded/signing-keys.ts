import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { nowSeconds } from '../domain/clock.js';
import type { Clock } from '../ports/clock.js';
import type { Db } from './db.js';

export const ALGORITHM = 'EdDSA';
const RECHECK_SECONDS = 30;

interface KeyRow {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  retired_at: number | null;
}

export interface SigningKeysOptions {
  /** A key older than this is retired and replaced when the next token is signed. */
  maxAgeSeconds: number;
  /** A retired key stays published this long, so the tokens it signed stay valid until they expire. */
  accessTokenTtlSeconds: number;
  clock: Clock;
}

/**
 * Ed25519 signing keys, generated on first use and kept in the embedded store, so every process
 * on the same file signs and verifies with the same keys.
 */
export class SigningKeys {
  private signing?: { kid: string; key: CryptoKey | Uint8Array; createdAt: number; checkedAt: number };
  private verifier?: JWTVerifyGetKey;

  constructor(
    private readonly db: Db,
    private readonly options: SigningKeysOptions,
  ) {}

  /** The key to sign with now; rotates it when it is too old. */
  async current(): Promise<{ kid: string; key: CryptoKey | Uint8Array }> {
    const now = nowSeconds(this.options.clock);
    // Re-read the store now and then: another process on the same file may have rotated the key.
    if (this.signing && now - this.signing.checkedAt < RECHECK_SECONDS && now - this.signing.createdAt < this.options.maxAgeSeconds) {
      return this.signing;
    }
    const row = this.db.prepare<[], KeyRow>('SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1').get();
    if (row && now - row.created_at < this.options.maxAgeSeconds) {
      const reuse = this.signing?.kid === row.kid ? this.signing.key : await importJWK(JSON.parse(row.private_jwk) as JWK, ALGORITHM);
      this.signing = { kid: row.kid, key: reuse, createdAt: row.created_at, checkedAt: now };
      return this.signing;
    }
    return this.rotate();
  }

  /** Retires the current key and starts signing with a new one. */
  async rotate(): Promise<{ kid: string; key: CryptoKey | Uint8Array }> {
    const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' };
    const privateJwk = await exportJWK(privateKey);
    const createdAt = nowSeconds(this.options.clock);
    this.db.transaction(() => {
      this.db.prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL').run(createdAt);
      this.db
        .prepare('INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?)')
        .run(kid, JSON.stringify(privateJwk), JSON.stringify(publicJwk), createdAt);
    })();
    this.signing = { kid, key: privateKey, createdAt, checkedAt: createdAt };
    this.verifier = undefined;
    return this.signing;
  }

  /** Published keys: the current one and those retired less than an access-token lifetime ago. */
  jwks(): JSONWebKeySet {
    const oldest = nowSeconds(this.options.clock) - this.options.accessTokenTtlSeconds;
    const rows = this.db
      .prepare<[number], { public_jwk: string }>(
        'SELECT public_jwk FROM signing_keys WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at DESC',
      )
      .all(oldest);
    return { keys: rows.map((row) => JSON.parse(row.public_jwk) as JWK) };
  }

  /** A key resolver for jose's jwtVerify; reloads from the store when a key id is unknown. */
  getKey(): JWTVerifyGetKey {
    return async (header, token) => {
      this.verifier ??= createLocalJWKSet(this.jwks());
      try {
        return await this.verifier(header, token);
      } catch {
        this.verifier = createLocalJWKSet(this.jwks());
        return this.verifier(header, token);
      }
    };
  }
}
