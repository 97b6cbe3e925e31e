import type { Context } from '../context.js';
import type { IdentityFieldSet } from '../loaders.js';
import type { IdentityUser } from '../ports/identity-provider.js';

// The identity of users already read (and access-checked) by another operation: a page of users,
// or the caller's own profile. Batched per request, so a page costs one identity-provider call.

/** A user's identity, narrowed to `fields`; answered at once, with no promise, when it was prefetched. */
export function identityOf(ctx: Context, authUserId: string, fields: IdentityFieldSet): IdentityUser | null | Promise<IdentityUser | null> {
  const loader = ctx.loaders.identities(fields);
  const loaded = loader.peek(authUserId);
  if (loaded !== undefined) return loaded;
  return loader.byId.load(authUserId).then((identity) => identity ?? null);
}

/**
 * Reads the identities of a page of users in one call, before the users resolve. A failure is
 * left for each user's own `identityOf` to report (the page itself still answers).
 */
export async function prefetchIdentities(ctx: Context, authUserIds: readonly string[], fields: IdentityFieldSet): Promise<void> {
  await ctx.loaders
    .identities(fields)
    .loadMany(authUserIds)
    .catch(() => undefined);
}
