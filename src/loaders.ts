import DataLoader from 'dataloader';
import type { IdentityField, IdentityProvider, IdentityUser } from './ports/identity-provider.js';

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
  /** The identity of `id` if it is loaded (null: it has none), without a promise; undefined if not. */
  peek(id: string): IdentityUser | null | undefined;
  /**
   * Loads a known list of identities (a page) in one call, skipping those loaded or loading: no
   * promise per id, and the results are then read with `peek`. `byId` is for scattered single loads.
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
  /** Identity-provider reads made through these loaders so far (the GraphQL metrics count them per operation). */
  identityCalls(): number;
}

export function createLoaders(identity: IdentityProvider): Loaders {
  const loaders = new Map<string, IdentityLoader>();
  const reads = { count: 0 };
  return {
    identityCalls: () => reads.count,
    identities(fieldSet) {
      const key = fieldSet?.key ?? '*';
      let loader = loaders.get(key);
      if (!loader) {
        loader = createIdentityLoader(identity, fieldSet?.fields, reads);
        loaders.set(key, loader);
      }
      return loader;
    },
  };
}

function createIdentityLoader(
  identity: IdentityProvider,
  fields: readonly IdentityField[] | undefined,
  reads: { count: number },
): IdentityLoader {
  /** Per id: its identity (null: none), or the read in flight that will tell. One map, one lookup. */
  const entries = new Map<string, IdentityUser | null | Promise<void>>();
  const load = async (ids: readonly string[]) => {
    reads.count += 1;
    const users = await identity.getUsers(ids, fields);
    for (let index = 0; index < ids.length; index += 1) entries.set(ids[index]!, users[index] ?? null);
    return users;
  };
  return {
    byId: new DataLoader(load),
    peek(id) {
      const entry = entries.get(id);
      return entry instanceof Promise ? undefined : entry;
    },
    async loadMany(ids) {
      const batch: string[] = [];
      let read: Promise<void> | undefined;
      const reads = new Set<Promise<void>>();
      for (const id of ids) {
        const entry = entries.get(id);
        if (entry === undefined) {
          // The batch is read a microtask later, once this loop has gathered it.
          read ??= Promise.resolve().then(() => readBatch(batch));
          batch.push(id);
          entries.set(id, read);
        } else if (entry instanceof Promise) reads.add(entry);
      }
      if (read) reads.add(read);
      await Promise.all(reads);
    },
  };

  /** A failed read is forgotten, so that a later one asks again. */
  async function readBatch(batch: readonly string[]): Promise<void> {
    try {
      await load(batch);
    } catch (error) {
      for (const id of batch) if (entries.get(id) instanceof Promise) entries.delete(id);
      throw error;
    }
  }
}
