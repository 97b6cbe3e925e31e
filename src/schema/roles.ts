import { z } from 'zod';
import type { Binding, Role } from '../ports/role-binder.js';
import { deleteRole, listBindings, listRoles, saveRole } from '../resolvers/role-admin.js';
import { permissionsOf } from '../resolvers/roles.js';
import { builder } from './builder.js';
import { MUTATION_ERRORS } from './errors.js';
import { UserRef } from './user.js';

const RoleRef = builder.objectRef<Role>('Role').implement({
  description: 'A role: a name for a set of permissions, bound to users by their `roles`.',
  fields: (t) => ({
    roleId: t.exposeString('roleId', { description: 'The id users name in their `roles`.' }),
    name: t.exposeString('name', { description: 'A name for people.' }),
    permissions: t.exposeStringList('permissions', { description: 'What the role allows, e.g. "users.read".' }),
  }),
});

const BindingRef = builder.objectRef<Binding>('Binding').implement({
  description: "A Rönd-style binding; a user's subject is its authUserId.",
  fields: (t) => ({
    bindingId: t.exposeString('bindingId', { description: 'The id of the binding.' }),
    subjects: t.exposeStringList('subjects', { description: 'Who it binds: authUserIds.' }),
    roles: t.exposeStringList('roles', { description: 'The roles it grants.' }),
    groups: t.exposeStringList('groups', { description: 'The groups it binds, besides subjects.' }),
    permissions: t.exposeStringList('permissions', { description: 'Permissions it grants directly.' }),
  }),
});

/** A role's id, name and each permission: at most as long as a group's name (docs/decisions.md). */
const MAX_ROLE_TEXT = 200;
/** Most permissions of one role. */
const MAX_ROLE_PERMISSIONS = 1000;

const RoleInput = builder.inputType('RoleInput', {
  description: 'A role to create or replace (by roleId).',
  fields: (t) => ({
    roleId: t.string({
      required: true,
      description: 'The id users name in their `roles`.',
      validate: z.string().min(1).max(MAX_ROLE_TEXT),
    }),
    name: t.string({ required: true, description: 'A name for people.', validate: z.string().max(MAX_ROLE_TEXT) }),
    permissions: t.stringList({
      required: true,
      description: 'What the role allows.',
      validate: z.array(z.string().max(MAX_ROLE_TEXT)).max(MAX_ROLE_PERMISSIONS),
    }),
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
    description: 'Administrators: every role (embedded roles; with Rönd they live in its collections).',
    resolve: (_root, _args, ctx) => listRoles(ctx),
  }),
  bindings: t.field({
    type: [BindingRef],
    description: 'Administrators: the role bindings, all or those of one subject.',
    args: { subject: t.arg.string({ required: false, description: 'Only the bindings of this authUserId.' }) },
    resolve: (_root, args, ctx) => listBindings(ctx, args.subject ?? undefined),
  }),
}));

builder.mutationFields((t) => ({
  saveRole: t.field({
    type: RoleRef,
    description: 'Administrators: creates or replaces a role.',
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: RoleInput, required: true, description: 'The role.' }) },
    resolve: (_root, args, ctx) => saveRole(ctx, args.input),
  }),
  deleteRole: t.boolean({
    description: 'Administrators: deletes a role; answers whether it existed.',
    errors: { types: MUTATION_ERRORS },
    args: { roleId: t.arg.string({ required: true, description: 'The id of the role.' }) },
    resolve: (_root, args, ctx) => deleteRole(ctx, args.roleId),
  }),
}));
