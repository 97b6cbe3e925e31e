import DataLoader from 'dataloader';
import type { IdentityProvider, IdentityUser } from './clients/ports.js';

export interface Loaders {
  /** Identity users by id: every id asked for in one tick costs one batched identity call. */
  identityById: DataLoader<string, IdentityUser | undefined>;
  /** Identities loaded so far in this request, readable without a promise. */
  loadedIdentities: ReadonlyMap<string, IdentityUser | undefined>;
  /**
   * Loads a page's identities in one call, skipping those already loaded. Cheaper than
   * `identityById.loadMany` for a known list: no promise per id, and the page's `identity`
   * fields then resolve synchronously from `loadedIdentities`.
   */
  loadIdentities(ids: readonly string[]): Promise<void>;
}

export function createLoaders(identity: IdentityProvider): Loaders {
  const loadedIdentities = new Map<string, IdentityUser | undefined>();
  const inFlight = new Map<string, Promise<void>>();
  const remember = (ids: readonly string[], users: readonly (IdentityUser | undefined)[]) =>
    ids.forEach((id, index) => loadedIdentities.set(id, users[index]));
  return {
    identityById: new DataLoader(async (ids) => {
      const users = await identity.getUsers(ids);
      remember(ids, users);
      return users;
    }),
    loadedIdentities,
    async loadIdentities(ids) {
      const missing = [...new Set(ids)].filter((id) => !loadedIdentities.has(id) && !inFlight.has(id));
      if (missing.length > 0) {
        const loading = identity
          .getUsers(missing)
          .then((users) => remember(missing, users))
          .finally(() => missing.forEach((id) => inFlight.delete(id)));
        missing.forEach((id) => inFlight.set(id, loading));
      }
      await Promise.all(new Set(ids.map((id) => inFlight.get(id))));
    },
  };
}
