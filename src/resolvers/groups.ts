import { z } from 'zod';
import type { GroupConfig } from '../ports/config-store.js';
import type { Context } from '../context.js';
import { requireAdmin } from './access.js';
import { during, NotFoundError } from '../errors.js';
import { parseInput } from './inputs.js';
import { assertSafeInput } from '../domain/input-limits.js';

/** A document of the `ums-config` collection. */
export const GroupConfigInput = z.object({
  userGroup: z.string().min(1).max(200),
  label: z.string().min(1),
  crudSchema: z.record(z.string(), z.unknown()),
  authUserCreationDisabled: z.boolean().default(false),
});

export async function listGroups(ctx: Context): Promise<GroupConfig[]> {
  await requireAdmin(ctx);
  return during('listing user groups', () => ctx.deps.groups.listGroups());
}

export async function getGroup(ctx: Context, userGroup: string): Promise<GroupConfig> {
  await requireAdmin(ctx);
  const group = await during('reading user group', () => ctx.deps.groups.getGroup(userGroup));
  if (!group) throw new NotFoundError(`user group "${userGroup}" not found`);
  return group;
}

/** Creates or replaces a group; its `crudSchema` must compile (400 otherwise). */
export async function saveGroup(ctx: Context, input: unknown): Promise<GroupConfig> {
  await requireAdmin(ctx);
  const group = parseInput(GroupConfigInput, input, 'input');
  assertSafeInput(group.crudSchema, { where: ['input', 'crudSchema'] });
  ctx.deps.schemas.compile(group.crudSchema);
  return during('saving user group', () => ctx.deps.groups.saveGroup(group, ctx.scope));
}

export async function deleteGroup(ctx: Context, userGroup: string): Promise<void> {
  await requireAdmin(ctx);
  const deleted = await during('deleting user group', () => ctx.deps.groups.deleteGroup(userGroup));
  if (!deleted) throw new NotFoundError(`user group "${userGroup}" not found`);
}
