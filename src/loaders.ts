import DataLoader from 'dataloader';
import type { IdentityField, IdentityProvider, IdentityUser } from './clients/ports.js';

/** The identity fields a query reads, and the name of that set (its loader's key). */
export interface IdentityFieldSet {
  fields: readonly IdentityField[];
  key: string;
}

const IDENTITY_FIELDS: Record<IdentityField, true> = {
  username: true,
  email: true,
  blocked: true,
  emailVerified: true,
  createdAt: true,
  updatedAt: true,
  lastLogin: true,
  loginsCount: true,
};

export function isIdentityField(name: string): name is IdentityField {
  return Object.hasOwn(IDENTITY_FIELDS, name);
}

/** `fields` as a set: in a fixed order, each once, so that equal sets have equal keys. */
export function identityFieldSet(fields: Iterable<IdentityField>): IdentityFieldSet {
  const sorted = [...new Set(fields)].sort();
  return { fields: sorted, key: sorted.join(',') };
}

/** The identities of one request read with one set of fields. */
export interface IdentityLoader {
  /** Identity users by id: every id asked for in one tick costs one batched identity call. */
  byId: DataLoader<string, IdentityUser | undefined>;
  /** Identities loaded so far, readable without a promise. */
  loaded: ReadonlyMap<string, IdentityUser | undefined>;
  /**
   * Loads a known list of identities (a page) in one call, skipping those already loaded: no
   * promise per id, and the results are then read from `loaded` synchronously. `byId` is for
   * scattered single loads.
   */
  loadMany(ids: readonly string[]): Promise<void>;
}

export interface Loaders {
  /**
   * The loader of identities read with `fieldSet` (all fields without one). Each set has its own
   * loader, so an identity read with some fields never answers a read of others; a request
   * usually reads one set.
   */
  identities(fieldSet?: IdentityFieldSet): IdentityLoader;
}

export function createLoaders(identity: IdentityProvider): Loaders {
  const loaders = new Map<string, IdentityLoader>();
  return {
    identities(fieldSet) {
      const key = fieldSet?.key ?? '*';
      let loader = loaders.get(key);
      if (!loader) {
        loader = createIdentityLoader(identity, fieldSet?.fields);
        loaders.set(key, loader);
      }
      return loader;
    },
  };
}

function createIdentityLoader(identity: IdentityProvider, fields: readonly IdentityField[] | undefined): IdentityLoader {
  const loaded = new Map<string, IdentityUser | undefined>();
  const inFlight = new Map<string, Promise<void>>();
  const load = async (ids: readonly string[]) => {
    const users = await identity.getUsers(ids, fields);
    ids.forEach((id, index) => loaded.set(id, users[index]));
    return users;
  };
  return {
    byId: new DataLoader(load),
    loaded,
    async loadMany(ids) {
      const missing = new Set<string>();
      const pending = new Set<Promise<void>>();
      for (const id of ids) {
        const loading = inFlight.get(id);
        if (loading) pending.add(loading);
        else if (!loaded.has(id)) missing.add(id);
      }
      if (missing.size > 0) {
        const batch = [...missing];
        const loading = load(batch)
          .then(() => undefined)
          .finally(() => batch.forEach((id) => inFlight.delete(id)));
        batch.forEach((id) => inFlight.set(id, loading));
        pending.add(loading);
      }
      await Promise.all(pending);
    },
  };
}
