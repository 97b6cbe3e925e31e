import { z } from 'zod';
import type { Binding, Role } from '../ports/role-binder.js';
import { deleteRole, listBindings, listRoles, saveRole } from '../resolvers/role-admin.js';
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

builder.queryFields((t) => ({
  roles: t.field({
    type: [RoleRef],
    resolve: (_root, _args, ctx) => listRoles(ctx),
  }),
  bindings: t.field({
    type: [BindingRef],
    args: { subject: t.arg.string({ required: false }) },
    resolve: (_root, args, ctx) => listBindings(ctx, args.subject ?? undefined),
  }),
}));

builder.mutationFields((t) => ({
  saveRole: t.field({
    type: RoleRef,
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: RoleInput, required: true }) },
    resolve: (_root, args, ctx) => saveRole(ctx, args.input),
  }),
  deleteRole: t.boolean({
    errors: { types: MUTATION_ERRORS },
    args: { roleId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => deleteRole(ctx, args.roleId),
  }),
}));
