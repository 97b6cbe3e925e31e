import type { GroupConfig } from '../ports/config-store.js';
import { NotFoundError } from '../errors.js';
import { deleteGroup, getGroup, listGroups, saveGroup } from '../resolvers/groups.js';
import { builder } from './builder.js';
import { MUTATION_ERRORS } from './errors.js';

const UserGroupRef = builder.objectRef<GroupConfig>('UserGroup').implement({
  description: 'A document of the ums-config collection: one per user group.',
  fields: (t) => ({
    userGroup: t.exposeString('userGroup'),
    label: t.exposeString('label'),
    crudSchema: t.field({ type: 'JSONObject', description: "JSON Schema of the group's users.", resolve: (group) => group.crudSchema }),
    authUserCreationDisabled: t.exposeBoolean('authUserCreationDisabled'),
  }),
});

const UserGroupInput = builder.inputType('UserGroupInput', {
  fields: (t) => ({
    userGroup: t.string({ required: true }),
    label: t.string({ required: true }),
    crudSchema: t.field({ type: 'JSONObject', required: true }),
    authUserCreationDisabled: t.boolean({ required: false }),
  }),
});

builder.queryFields((t) => ({
  userGroups: t.field({ type: [UserGroupRef], resolve: (_root, _args, ctx) => listGroups(ctx) }),
  userGroup: t.field({
    type: UserGroupRef,
    errors: { types: [NotFoundError] },
    args: { userGroup: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => getGroup(ctx, args.userGroup),
  }),
}));

builder.mutationFields((t) => ({
  saveUserGroup: t.field({
    type: UserGroupRef,
    description: 'Creates or replaces a user group; its crudSchema must be a valid JSON Schema.',
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UserGroupInput, required: true }) },
    resolve: (_root, args, ctx) =>
      saveGroup(ctx, { ...args.input, authUserCreationDisabled: args.input.authUserCreationDisabled ?? false }),
  }),
  deleteUserGroup: t.boolean({
    errors: { types: MUTATION_ERRORS },
    args: { userGroup: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await deleteGroup(ctx, args.userGroup);
      return true;
    },
  }),
}));
