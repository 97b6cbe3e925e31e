/** The identity provider's users (Auth0, auth0-client, or the embedded provider). */

/** The identity provider's view of a user. Never carries a password or its hash. */
export interface IdentityUser {
  id: string;
  username?: string;
  email?: string;
  blocked: boolean;
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
  lastLogin?: string;
  loginsCount: number;
}

/** A field of an identity besides its id: what a read may be narrowed to (`getUsers`). */
export type IdentityField = Exclude<keyof IdentityUser, 'id'>;

export interface NewIdentityUser {
  username?: string;
  email?: string;
  password: string;
  blocked?: boolean;
}

export interface IdentityChanges {
  username?: string;
  email?: string;
  blocked?: boolean;
}

export interface IdentityProvider {
  /** ConflictError when the username or email is taken. */
  createUser(user: NewIdentityUser): Promise<IdentityUser>;
  /**
   * One call for many ids; the answer has one entry per id, in order, undefined when unknown.
   * `fields` are the only ones the caller will read: a provider may fetch just those (Auth0 asks
   * its search for them) and leave the others empty (false, 0, undefined, the epoch).
   */
  getUsers(ids: readonly string[], fields?: readonly IdentityField[]): Promise<(IdentityUser | undefined)[]>;
  /**
   * The named properties of many users under Auth0's names (CONFIGURATION_PATH), like getUsers:
   * one call, one entry per id, undefined when unknown. A property the user lacks is left out.
   */
  getProperties(ids: readonly string[], names: readonly string[]): Promise<(Record<string, unknown> | undefined)[]>;
  /**
   * NotFoundError when unknown, ConflictError on a taken username or email. Its answer is not to
   * be read: the auth0-client documents none for its PATCH, and no caller needs the user back.
   */
  updateUser(id: string, changes: IdentityChanges): Promise<unknown>;
  /** False when there was no such user (deleting twice is not an error). */
  deleteUser(id: string): Promise<boolean>;
}
