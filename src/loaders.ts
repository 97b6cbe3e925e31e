import DataLoader from 'dataloader';
import type { IdentityProvider, IdentityUser } from './clients/ports.js';

export interface Loaders {
  /** Identity users by id: every id asked for in one tick costs one batched identity call. */
  identityById: DataLoader<string, IdentityUser | undefined>;
}

export function createLoaders(identity: IdentityProvider): Loaders {
  return {
    identityById: new DataLoader((ids) => identity.getUsers(ids)),
  };
}
