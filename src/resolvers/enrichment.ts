import type { Context } from '../context.js';
import type { Enrichment } from '../infra/enrichment-file.js';

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
