import { readFileSync } from 'node:fs';
import { z } from 'zod';
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
  const ids = [...new Set(users.map((user) => user[enrichment.user_id]).filter((id): id is string => typeof id === 'string'))];
  if (ids.length === 0) return users;
  // As before: when the identity provider fails, the page is answered without the added properties.
  const properties = await ctx.deps.identity.getProperties(ids, enrichment.additionalProperties).catch(() => undefined);
  if (!properties) return users;
  const byId = new Map(ids.map((id, index) => [id, properties[index]]));
  return users.map((user) => {
    const added = byId.get(String(user[enrichment.user_id]));
    return added ? { ...user, ...added } : user;
  });
}
