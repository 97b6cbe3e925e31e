import DataLoader from 'dataloader';
import type { IdentityProvider, IdentityUser } from './clients/ports.js';

export interface Loaders {
  /** Identity users by id: every id asked for in one tick costs one batched identity call. */
  identityById: DataLoader<string, IdentityUser | undefined>;
  /** Identities loaded so far in this request, readable without a promise. */
  loadedIdentities: ReadonlyMap<string, IdentityUser | undefined>;
  /**
   * Loads a known list of identities (a page, the enrichment of `GET /users/`) in one call,
   * skipping those already loaded: no promise per id, and the results are then read from
   * `loadedIdentities` synchronously. `identityById` is for scattered single loads.
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
      const missing = new Set<string>();
      const pending = new Set<Promise<void>>();
      for (const id of ids) {
        const loading = inFlight.get(id);
        if (loading) pending.add(loading);
        else if (!loadedIdentities.has(id)) missing.add(id);
      }
      if (missing.size > 0) {
        const batch = [...missing];
        const loading = identity
          .getUsers(batch)
          .then((users) => remember(batch, users))
          .finally(() => batch.forEach((id) => inFlight.delete(id)));
        batch.forEach((id) => inFlight.set(id, loading));
        pending.add(loading);
      }
      await Promise.all(pending);
    },
  };
}
