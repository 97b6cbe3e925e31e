/**
 * The ports: what the operations need from the outside world. Each has an embedded adapter
 * (src/embedded) and a connected one (src/clients/<upstream>).
 */
import type { Filter } from '../crud/filter.js';
import type { CrudQuery } from '../crud/query.js';
import type { State } from '../crud/states.js';

/** A document of the `users` collection as the CRUD Service returns it. */
export interface UserDoc {
  _id: string;
  __STATE__: State;
  userGroup: string;
  authUserId?: string;
  username?: string;
  email?: string;
  blocked?: boolean;
  roles?: string[];
  expirationDate?: string;
  expirationId?: string;
  createdAt: string;
  updatedAt: string;
  creatorId: string;
  updaterId: string;
  [field: string]: unknown;
}

/** Who is calling, and what is forwarded to upstreams on their behalf. */
export interface CallScope {
  /** Written as creatorId / updaterId. */
  actorId: string;
  /** Platform headers to forward (acl_rows, user id, groups, ADDITIONAL_HEADERS_TO_PROXY). */
  headers: Record<string, string>;
}

/** A CRUD PATCH body: update operators only (a bare object is turned into `$set` before). */
export type UpdateExpr = Partial<
  Record<'$set' | '$unset' | '$inc' | '$mul' | '$currentDate' | '$push' | '$pull' | '$addToSet', Record<string, unknown>>
>;

export interface ByIdOptions {
  /** The states the document may be in (the CRUD's `_st`); internal calls always say. */
  states: readonly State[];
  /** Headers to forward; internal calls without a request forward none. */
  scope?: CallScope;
}

/** A JSON answer kept as its text, to be sent as it is. */
export class JsonText {
  constructor(readonly text: string) {}
}

export interface UserStore {
  /**
   * `GET /users/`: the caller's CRUD query (the raw query string, or an object built by GraphQL),
   * validated exactly as the CRUD does, or passed on to it unchanged.
   */
  list(query: CrudQuery | string, scope: CallScope): Promise<Record<string, unknown>[]>;
  /** `GET /users/count`. */
  count(query: CrudQuery | string, scope: CallScope): Promise<number>;
  /**
   * `GET /users/` and `/users/count` answered with the store's own JSON text, for a store whose
   * answer goes back unchanged (the CRUD Service): no parse and no serialization on the way.
   */
  passThrough?: {
    list(query: string, scope: CallScope): Promise<JsonText>;
    count(query: string, scope: CallScope): Promise<JsonText>;
  };
  /** Internal search: every match of an allow-listed filter in the given states. */
  find(filter: Filter, options: ByIdOptions & { limit?: number }): Promise<UserDoc[]>;
  get(id: string, options: ByIdOptions): Promise<UserDoc | undefined>;
  /** Inserts a new document (`_id` and `__STATE__` may be given, to restore a deleted one). */
  insert(doc: Record<string, unknown>, scope: CallScope): Promise<UserDoc>;
  /**
   * Inserts documents in order, as the CRUD's `POST /bulk` does: it stops at the first refused one
   * (a duplicate), and answers the ids inserted before it and why it was refused.
   */
  insertMany(docs: Record<string, unknown>[], scope: CallScope): Promise<InsertManyResult>;
  /** Applies update operators; undefined when no document with that id is in those states. */
  patch(id: string, update: UpdateExpr, options: ByIdOptions, scope: CallScope): Promise<UserDoc | undefined>;
  /** Many `patch`es in one store call (the CRUD's `PATCH /bulk`); answers how many documents were found and updated. */
  patchMany(updates: { id: string; update: UpdateExpr }[], options: ByIdOptions, scope: CallScope): Promise<number>;
  /** True when a document was deleted. */
  delete(id: string, options: ByIdOptions): Promise<boolean>;
  /** `POST /:id/state`: NotFoundError, or TransitionError when the CRUD would refuse it. */
  setState(id: string, stateTo: State, scope: CallScope): Promise<void>;
}

export interface InsertManyResult {
  ids: string[];
  /** The first document refused: its index in the batch and the error. */
  failure?: { index: number; error: Error };
}

/** A document of the `ums-config` collection: one per user group. */
export interface GroupConfig {
  userGroup: string;
  label: string;
  crudSchema: Record<string, unknown>;
  authUserCreationDisabled: boolean;
}

export interface ConfigStore {
  getGroup(userGroup: string): Promise<GroupConfig | undefined>;
  listGroups(): Promise<GroupConfig[]>;
  /** Inserts or replaces the group's document. */
  saveGroup(group: GroupConfig, scope: CallScope): Promise<GroupConfig>;
  /** True when a group was deleted. */
  deleteGroup(userGroup: string): Promise<boolean>;
}

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
  /** NotFoundError when unknown, ConflictError on a taken username or email. */
  updateUser(id: string, changes: IdentityChanges): Promise<IdentityUser>;
  /** False when there was no such user (deleting twice is not an error). */
  deleteUser(id: string): Promise<boolean>;
}

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
   * `userId` (`created`), else, where the provider can tell, the existing one it matched by e-mail.
   */
  findImported(users: readonly ImportedIdentity[]): Promise<(ImportedIdentityRef | undefined)[]>;
}

export interface ImportedIdentityRef {
  id: string;
  /** False when the import updated an identity that existed before (matched by e-mail). */
  created: boolean;
}

/** What a login or a refresh answers: the documented `{accessToken, refreshToken, expireAt}`. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, in seconds since the epoch. */
  expireAt: number;
  /** The `sid` cookie secret of a website client's session. */
  sessionCookie?: string;
}

/** The verified claims of an access token (or of the session behind a `sid` cookie). */
export interface AccessClaims {
  sub: string;
  exp: number;
  iat: number;
  iss?: string;
  /** The session the token belongs to; logout revokes it. */
  sid?: string;
  username?: string;
  email?: string;
  email_verified?: boolean;
  userGroup?: string;
  [claim: string]: unknown;
}

export interface LoginInput {
  /** A username or an e-mail address. */
  username: string;
  password: string;
  ip: string;
  /** Website clients get a session cookie instead of tokens in the body. */
  website: boolean;
}

/** Logins, tokens and passwords: the identity provider's authentication side. */
export interface Authenticator {
  /** UnauthorizedError (same message for every bad case) or TooManyRequestsError (locked). */
  login(input: LoginInput): Promise<TokenSet>;
  /** A new pair for a refresh token and the (possibly expired) access token of the same user. */
  refresh(input: { refreshToken: string; accessToken: string }): Promise<TokenSet>;
  /** Signature, expiry and session; UnauthorizedError otherwise. */
  verifyAccessToken(token: string): Promise<AccessClaims>;
  /** The claims of the session behind a `sid` cookie; UnauthorizedError otherwise. */
  verifySessionCookie(secret: string): Promise<AccessClaims>;
  /** Revokes the session (its refresh tokens and cookie). */
  logout(sessionId: string): Promise<void>;
  /**
   * Ends every session of a user (its refresh tokens, cookies and, where the provider ties them
   * to a session, access tokens): after a change of group, a block, a state other than PUBLIC, a
   * deletion or a new password. Tokens the provider signed without a session stay valid until
   * they expire, but the access check reads the user's current profile (resolvers/access.ts).
   */
  endSessions(authUserId: string): Promise<void>;
  /** Starts a password change: the user receives an e-mail with a reset link. */
  requestPasswordChange(authUserId: string): Promise<void>;
  /** Sets a new password with a reset ticket from that e-mail. */
  resetPassword(ticket: string, password: string): Promise<void>;
  /**
   * True while a reset ticket is unused and unexpired, so the reset page can refuse a dead link
   * before showing its form. Only the embedded provider serves its own reset page.
   */
  checkResetTicket?(ticket: string): Promise<boolean>;
  /** Clears a lockout after too many failed logins. */
  unlock(authUserId: string): Promise<void>;
  /** The public signing keys, for `/.well-known/jwks.json`. */
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export type JobStatus = 'pending' | 'running' | 'completed' | 'failed';

/** A long-running job (bulk activation, bulk password e-mails, large imports). */
export interface Job {
  jobId: string;
  type: string;
  status: JobStatus;
  payload: unknown;
  /** Progress so far, or the final result. */
  result?: unknown;
  /** The replica working on it, and until when (ms since the epoch) its claim holds. */
  owner?: string;
  leaseUntil?: number;
  createdAt: string;
  updatedAt: string;
}

/** A job without its payload: what a status read needs, however big the payload. */
export type JobHead = Omit<Job, 'payload'>;

/**
 * Persisted jobs that survive restarts and several replicas: a job is worked on only by the replica
 * holding its lease; a lease that is not renewed expires and another replica takes the job over.
 */
export interface JobStore {
  /**
   * A new job, pending; or, with an `owner`, already claimed by it for `leaseMs` (an operation's
   * intent, held while the request works on it). `jobId` names it when the caller needs to find it.
   */
  create(job: { type: string; payload: unknown; jobId?: string; owner?: string; leaseMs?: number }): Promise<Job>;
  /** The job with its payload (megabytes for 100,000 ids): for the worker that runs it. */
  get(jobId: string): Promise<Job | undefined>;
  /** The job without its payload, which is neither read nor parsed: for status reads. */
  head(jobId: string): Promise<JobHead | undefined>;
  /** Claims an unfinished job whose lease is free or expired; false when another replica holds it. */
  claim(jobId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Claims the oldest claimable job of a type, if any. */
  claimNext(type: string, owner: string, leaseMs: number): Promise<Job | undefined>;
  /** Extends the lease and saves progress; false when the lease was lost. */
  heartbeat(jobId: string, owner: string, leaseMs: number, progress?: unknown): Promise<boolean>;
  /** Ends the job; false when the lease was lost (another replica took over). */
  finish(jobId: string, owner: string, outcome: { status: 'completed' | 'failed'; result?: unknown }): Promise<boolean>;
  /** Removes a job `owner` holds (an intent whose operation completed); false when the lease was lost. */
  discard(jobId: string, owner: string): Promise<boolean>;
}

/** What a schedule carries back when it fires: whose expiry, and for which date. */
export interface ExpirationPayload {
  userId: string;
  expirationDate: string;
}

/** Blocks users when their `expirationDate` passes. */
export interface ExpirationScheduler {
  /**
   * Schedules the blocking of a user at its expiration date; answers the schedule's id
   * (`expirationId`). `headers` are request headers to send back with the callback.
   */
  schedule(payload: ExpirationPayload, headers: Record<string, string>): Promise<string>;
  /** Cancels a pending schedule. */
  abort(expirationId: string): Promise<void>;
  /** Embedded schedulers fire by themselves: start polling with the operation that blocks a user. */
  start?(fire: (payload: ExpirationPayload, expirationId: string) => Promise<void>): void;
  stop?(): void;
}

export interface Role {
  roleId: string;
  name: string;
  permissions: string[];
}

export interface Binding {
  bindingId: string;
  subjects: string[];
  roles: string[];
  groups: string[];
  permissions: string[];
}

/** Roles of users, as Rönd bindings whose subject is the user's `authUserId`. */
export interface RoleBinder {
  /** Creates a binding of these roles for the subject. */
  grant(subject: string, roles: string[], scope: CallScope): Promise<void>;
  /** Removes the subject from every binding (bindings left empty are deleted). */
  revoke(subject: string, scope: CallScope): Promise<void>;
  /** The union of the permissions of these roles. */
  permissionsOf(roles: string[], scope: CallScope): Promise<string[]>;
}

/** Managing roles and bindings where the service stores them itself (the embedded model). */
export interface RoleAdmin {
  listRoles(): Promise<Role[]>;
  saveRole(role: Role): Promise<Role>;
  deleteRole(roleId: string): Promise<boolean>;
  listBindings(subject?: string): Promise<Binding[]>;
}
