import { ALL_STATES, type State } from '../crud/states.js';
import type { UserStore } from '../ports/user-store.js';

/** What the access check needs of a caller's profile, read from the store rather than from its token. */
export interface CallerProfile {
  userGroup?: string;
  state: State;
  blocked: boolean;
  /** Changes whenever the profile does (its `updatedAt`, username, e-mail, state): see VerifyOptions. */
  version: string;
}

/** How long a caller's profile is trusted without reading it again (ms); a change on this replica forgets it at once. */
export const CALLER_PROFILE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

/**
 * The profiles behind bearer tokens and cookies, cached briefly: a token's `userGroup` claim
 * outlives a demotion by up to the token's lifetime, so the admin check reads the current group.
 * A change made through this replica forgets the entry at once (`forget`); one made through
 * another replica is seen within CALLER_PROFILE_TTL_MS. Reads in flight are shared.
 */
export class CallerProfiles {
  private readonly entries = new Map<string, { profile: Promise<CallerProfile | undefined>; until: number }>();

  constructor(
    private readonly read: (authUserId: string) => Promise<CallerProfile | undefined>,
    private readonly ttlMs = CALLER_PROFILE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get(authUserId: string): Promise<CallerProfile | undefined> {
    const now = this.now();
    const cached = this.entries.get(authUserId);
    if (cached && cached.until > now) return cached.profile;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const profile = this.read(authUserId);
    const entry = { profile, until: now + this.ttlMs };
    this.entries.set(authUserId, entry);
    // A failed read is not remembered: the next request tries again.
    profile.catch(() => this.entries.get(authUserId) === entry && this.entries.delete(authUserId));
    return profile;
  }

  forget(authUserId: string): void {
    this.entries.delete(authUserId);
  }
}

/**
 * A caller's profile as the access check reads it (cached by CallerProfiles): with no request
 * headers, so a row filter (acl_rows) the caller sends cannot hide its own demotion or block.
 */
export async function readCallerProfile(users: UserStore, authUserId: string): Promise<CallerProfile | undefined> {
  const [profile] = await users.find({ authUserId }, { states: ALL_STATES, limit: 1, scope: { actorId: 'ums', headers: {} } });
  if (!profile) return undefined;
  const state = { userGroup: profile.userGroup, state: profile.__STATE__, blocked: profile.blocked === true };
  // The fields too, not only `updatedAt`: two writes within one tick of the store's clock share it.
  const version = JSON.stringify([profile.updatedAt, profile.username, profile.email, profile.__STATE__, profile.blocked]);
  return { ...state, version };
}
