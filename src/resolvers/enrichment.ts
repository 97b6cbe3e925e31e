import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { IdentityUser } from '../clients/ports.js';
import type { Context } from '../context.js';

/** The CONFIGURATION_PATH file of the original service. */
const EnrichmentFile = z.strictObject({
  /** The user property holding the identity id (e.g. `authUserId`). */
  user_id: z.string().min(1),
  /** Identity properties, by their Auth0 names, to add to each user (e.g. `last_login`). */
  additionalProperties: z.array(z.string().min(1)),
});
export type Enrichment = z.infer<typeof EnrichmentFile>;

/** Reads and checks the file once at start-up; a bad file stops the service with its path. */
export function loadEnrichment(path: string): Enrichment {
  try {
    return EnrichmentFile.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new Error(`CONFIGURATION_PATH ${path}: ${(error as Error).message}`);
  }
}

/**
 * Adds the configured identity properties to a page of users in one batched identity read
 * (the platform headers, acl_rows included, are never sent to the identity provider).
 */
export async function enrichUsers(
  ctx: Context,
  users: Record<string, unknown>[],
  enrichment: Enrichment,
): Promise<Record<string, unknown>[]> {
  const ids = users.map((user) => user[enrichment.user_id]).filter((id): id is string => typeof id === 'string');
  if (ids.length === 0) return users;
  // As before: when the identity provider fails, the page is answered without the added properties.
  await ctx.loaders.loadIdentities(ids).catch(() => undefined);
  return users.map((user) => {
    const identity = ctx.loaders.loadedIdentities.get(String(user[enrichment.user_id]));
    if (!identity) return user;
    const view = auth0View(identity);
    const added = Object.fromEntries(
      enrichment.additionalProperties.filter((key) => view[key] !== undefined).map((key) => [key, view[key]]),
    );
    return { ...user, ...added };
  });
}

/** An identity under Auth0's property names, whichever provider it comes from. */
function auth0View(identity: IdentityUser): Record<string, unknown> {
  return {
    user_id: identity.id,
    email: identity.email,
    username: identity.username,
    email_verified: identity.emailVerified,
    blocked: identity.blocked,
    created_at: identity.createdAt,
    updated_at: identity.updatedAt,
    last_login: identity.lastLogin,
    logins_count: identity.loginsCount,
  };
}
