import type { Context } from '../context.js';
import { InvalidInputError } from '../errors.js';
import type { Binding, Role, RoleAdmin } from '../ports/role-binder.js';
import { requireAdmin } from './access.js';
import { namesNoIdentity } from '../domain/input-limits.js';

// Managing roles and bindings, for administrators, where the service stores them itself (embedded):
// with Rönd they live in its collections and are managed there.

/** The embedded role store, after the caller was found to be an administrator. */
async function roleAdmin(ctx: Context): Promise<RoleAdmin> {
  await requireAdmin(ctx);
  if (!ctx.deps.roleAdmin) throw new InvalidInputError('Roles are managed in Rönd (ROND_ENABLED=true)');
  return ctx.deps.roleAdmin;
}

export async function listRoles(ctx: Context): Promise<Role[]> {
  return (await roleAdmin(ctx)).listRoles();
}

/**
 * Every binding, or those of one subject (a user's authUserId). A subject no identity can have
 * (empty, or longer than any: namesNoIdentity) is bound by nothing, and the store is not asked;
 * an empty one listed every binding.
 */
export async function listBindings(ctx: Context, subject?: string): Promise<Binding[]> {
  const admin = await roleAdmin(ctx);
  if (subject !== undefined && (subject === '' || namesNoIdentity(subject))) return [];
  return admin.listBindings(subject);
}

export async function saveRole(ctx: Context, role: Role): Promise<Role> {
  return (await roleAdmin(ctx)).saveRole(role);
}

/** False when there was no such role. */
export async function deleteRole(ctx: Context, roleId: string): Promise<boolean> {
  return (await roleAdmin(ctx)).deleteRole(roleId);
}
