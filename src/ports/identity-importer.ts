/** Bulk creation of identities through the provider's import jobs. */

/** One user of a bulk import (Auth0's users-imports schema, the fields the service sets). */
export interface ImportedIdentity {
  email: string;
  username?: string;
  /** Auth0 prefixes it (`auth0|<userId>`): the profile `_id` here links the identity back. */
  userId?: string;
  emailVerified?: boolean;
  blocked?: boolean;
}

/** An identity-provider import job, as Auth0's `GET /jobs/{id}` reports it. */
export interface IdentityImportJob {
  id: string;
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'expired';
  summary?: { inserted: number; updated: number; failed: number; total: number };
}

/** A row an import job refused, with Auth0's error codes (DUPLICATED_USER, CONFLICT_EMAIL…). */
export interface IdentityImportError {
  user: Record<string, unknown>;
  errors: { code: string; message: string; path?: string }[];
}

/**
 * Bulk creation of identities through the provider's import jobs (Auth0 users-imports), for
 * activating many profiles at once. Jobs run on the provider's side; callers poll them.
 */
export interface IdentityImporter {
  /** Users per job at most: Auth0 takes files up to 500 KB. */
  readonly maxUsersPerJob: number;
  /** Starts a job (InvalidInputError beyond maxUsersPerJob); upsert updates users that match. */
  startImport(users: readonly ImportedIdentity[], options: { upsert: boolean }): Promise<IdentityImportJob>;
  /** NotFoundError for an unknown or expired job id. */
  importJob(id: string): Promise<IdentityImportJob>;
  /** The refused rows; empty when there are none. */
  importErrors(id: string): Promise<IdentityImportError[]>;
  /**
   * The identities a finished import gave these users: the one under the id the import gives its
   * `userId` (`created`), else, where the provider can tell, the existing one it matched by e-mail
   * (not looked for without an e-mail: a user whose profile is gone is known by its id alone).
   */
  findImported(users: readonly ImportedLookup[]): Promise<(ImportedIdentityRef | undefined)[]>;
}

/** A user of a finished import to find: the `userId` it was sent with, and its e-mail when known. */
export type ImportedLookup = Pick<ImportedIdentity, 'userId'> & { email?: string };

export interface ImportedIdentityRef {
  id: string;
  /** False when the import updated an identity that existed before (matched by e-mail). */
  created: boolean;
  /** What an identity the import made holds (read with it): the profile may have changed since it was sent. */
  values?: ImportedValues;
}

/** The fields of an imported identity that follow its profile. */
export interface ImportedValues {
  email?: string;
  username?: string;
  blocked: boolean;
}
