import { z } from 'zod';
import type { GroupConfig } from '../ports/config-store.js';
import type { Context } from '../context.js';
import { requireAdmin } from './access.js';
import { ConflictError, during, NotFoundError } from '../errors.js';
import { ALL_STATES } from '../crud/states.js';
import { parseInput } from './inputs.js';
import { assertCompilableSchema } from '../domain/group-schema-limits.js';
import { shownId } from '../domain/input-limits.js';

/** The longest group name looked up: a group's is at most 200 characters (the CRUD stores look up to 1,024, MAX_LOOKUP_KEY_CHARS). */
const MAX_GROUP_LOOKUP_CHARS = 1024;

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
  if (!group) throw new NotFoundError(`user group "${shownId(userGroup)}" not found`);
  return group;
}

/** Creates or replaces a group; its `crudSchema` must be within the compile limits and compile (400 otherwise). */
export async function saveGroup(ctx: Context, input: unknown): Promise<GroupConfig> {
  await requireAdmin(ctx);
  const group = parseInput(GroupConfigInput, input, 'input');
  // Its shape is bounded before ajv compiles it on the main thread (a 10 KB schema held it 6 s).
  assertCompilableSchema(group.crudSchema, ['input', 'crudSchema']);
  ctx.deps.schemas.compile(group.crudSchema);
  return during('saving user group', () => ctx.deps.groups.saveGroup(group, ctx.scope));
}

/**
 * Deletes a group no user of any state is in (409 GROUP_IN_USE otherwise: they would lose their
 * schema). A creation can pass its group check while the delete counts, so the users are counted
 * again once the group is gone, and the group is put back if one landed meanwhile: the stores share
 * no transaction, and a user must never be left without its group.
 */
export async function deleteGroup(ctx: Context, userGroup: string): Promise<void> {
  await requireAdmin(ctx);
  // A name no group has, as the stores' lookups answer: its count of users filled the CRUD's URL (a 400).
  if (userGroup.length > MAX_GROUP_LOOKUP_CHARS) throw new NotFoundError(`user group "${shownId(userGroup)}" not found`);
  await refuseWhileInUse(ctx, userGroup);
  const group = await during('reading user group', () => ctx.deps.groups.getGroup(userGroup));
  if (!group) throw new NotFoundError(`user group "${shownId(userGroup)}" not found`);
  const deleted = await during('deleting user group', () => ctx.deps.groups.deleteGroup(userGroup));
  if (!deleted) throw new NotFoundError(`user group "${shownId(userGroup)}" not found`);
  try {
    await refuseWhileInUse(ctx, userGroup);
  } catch (error) {
    await during('restoring user group', () => ctx.deps.groups.saveGroup(group, ctx.scope));
    throw error;
  }
}

async function refuseWhileInUse(ctx: Context, userGroup: string): Promise<void> {
  const users = await countGroupUsers(ctx, userGroup);
  if (users === 0) return;
  const counted = users === 1 ? '1 user' : `${users} users`;
  throw new ConflictError(`user group "${userGroup}" still has ${counted} (of any state): move or delete them first`, 'GROUP_IN_USE');
}

/**
 * Every user of the group, trashed and soft-deleted ones included (they can be restored). Counted
 * without the caller's acl_rows, which could hide users the group still serves.
 */
function countGroupUsers(ctx: Context, userGroup: string): Promise<number> {
  const query = { _st: ALL_STATES.join(','), userGroup };
  return during('counting the users of a group', () => ctx.deps.users.count(query, { actorId: ctx.scope.actorId, headers: {} }));
}
