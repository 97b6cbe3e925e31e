import type { GroupConfig } from '../ports/config-store.js';
import { NotFoundError } from '../errors.js';
import { deleteGroup, getGroup, listGroups, saveGroup } from '../resolvers/groups.js';
import { builder } from './builder.js';
import { MUTATION_ERRORS } from './errors.js';

const UserGroupRef = builder.objectRef<GroupConfig>('UserGroup').implement({
  description: 'A document of the ums-config collection: one per user group.',
  fields: (t) => ({
    userGroup: t.exposeString('userGroup', { description: 'The name users refer to in their `userGroup`.' }),
    label: t.exposeString('label', { description: 'A name for people.' }),
    crudSchema: t.field({ type: 'JSONObject', description: "JSON Schema of the group's users.", resolve: (group) => group.crudSchema }),
    authUserCreationDisabled: t.exposeBoolean('authUserCreationDisabled', {
      description: 'True: users of the group are profiles only, with no identity (they cannot log in).',
    }),
  }),
});

const UserGroupInput = builder.inputType('UserGroupInput', {
  description: 'A user group to create or replace (by `userGroup`).',
  fields: (t) => ({
    userGroup: t.string({ required: true, description: 'The name of the group.' }),
    label: t.string({ required: true, description: 'A name for people.' }),
    crudSchema: t.field({ type: 'JSONObject', required: true, description: "A JSON Schema for the group's custom fields." }),
    authUserCreationDisabled: t.boolean({ required: false, description: 'True: profiles only, no identities. False by default.' }),
  }),
});

builder.queryFields((t) => ({
  userGroups: t.field({ type: [UserGroupRef], description: 'Every user group.', resolve: (_root, _args, ctx) => listGroups(ctx) }),
  userGroup: t.field({
    type: UserGroupRef,
    description: 'One user group by name.',
    errors: { types: [NotFoundError] },
    args: { userGroup: t.arg.string({ required: true, description: 'The name of the group.' }) },
    resolve: (_root, args, ctx) => getGroup(ctx, args.userGroup),
  }),
}));

builder.mutationFields((t) => ({
  saveUserGroup: t.field({
    type: UserGroupRef,
    description: 'Creates or replaces a user group; its crudSchema must be a valid JSON Schema.',
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UserGroupInput, required: true, description: 'The group.' }) },
    resolve: (_root, args, ctx) =>
      saveGroup(ctx, { ...args.input, authUserCreationDisabled: args.input.authUserCreationDisabled ?? false }),
  }),
  deleteUserGroup: t.boolean({
    description:
      'Deletes a user group no user of any state is in; answers true. A ConflictError with code GROUP_IN_USE while users remain.',
    errors: { types: MUTATION_ERRORS },
    args: { userGroup: t.arg.string({ required: true, description: 'The name of the group.' }) },
    resolve: async (_root, args, ctx) => {
      await deleteGroup(ctx, args.userGroup);
      return true;
    },
  }),
}));
