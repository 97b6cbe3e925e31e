import { z } from 'zod';
import type { Binding, Role } from '../ports/role-binder.js';
import { InvalidInputError } from '../errors.js';
import { requireAdmin } from '../resolvers/access.js';
import { permissionsOf } from '../resolvers/roles.js';
import { builder } from './builder.js';
import { MUTATION_ERRORS } from './errors.js';
import { UserRef } from './user.js';

const RoleRef = builder.objectRef<Role>('Role').implement({
  fields: (t) => ({ roleId: t.exposeString('roleId'), name: t.exposeString('name'), permissions: t.exposeStringList('permissions') }),
});

const BindingRef = builder.objectRef<Binding>('Binding').implement({
  description: "A Rönd-style binding; a user's subject is its authUserId.",
  fields: (t) => ({
    bindingId: t.exposeString('bindingId'),
    subjects: t.exposeStringList('subjects'),
    roles: t.exposeStringList('roles'),
    groups: t.exposeStringList('groups'),
    permissions: t.exposeStringList('permissions'),
  }),
});

const RoleInput = builder.inputType('RoleInput', {
  fields: (t) => ({
    roleId: t.string({ required: true, validate: z.string().min(1) }),
    name: t.string({ required: true }),
    permissions: t.stringList({ required: true }),
  }),
});

builder.objectField(UserRef, 'permissions', (t) =>
  t.stringList({
    description: "The union of the permissions of the user's roles.",
    resolve: (user, _args, ctx) => permissionsOf(ctx, user.roles),
  }),
);

/** Roles are managed here only when they live in the embedded store (with Rönd, in its collections). */
function roleAdmin(ctx: Parameters<typeof requireAdmin>[0]) {
  if (!ctx.deps.roleAdmin) throw new InvalidInputError('Roles are managed in Rönd (ROND_ENABLED=true)');
  return ctx.deps.roleAdmin;
}

builder.queryFields((t) => ({
  roles: t.field({
    type: [RoleRef],
    resolve: async (_root, _args, ctx) => {
      await requireAdmin(ctx);
      return roleAdmin(ctx).listRoles();
    },
  }),
  bindings: t.field({
    type: [BindingRef],
    args: { subject: t.arg.string({ required: false }) },
    resolve: async (_root, args, ctx) => {
      await requireAdmin(ctx);
      return roleAdmin(ctx).listBindings(args.subject ?? undefined);
    },
  }),
}));

builder.mutationFields((t) => ({
  saveRole: t.field({
    type: RoleRef,
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: RoleInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      await requireAdmin(ctx);
      return roleAdmin(ctx).saveRole(args.input);
    },
  }),
  deleteRole: t.boolean({
    errors: { types: MUTATION_ERRORS },
    args: { roleId: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await requireAdmin(ctx);
      return roleAdmin(ctx).deleteRole(args.roleId);
    },
  }),
}));
