import { ALL_STATES } from '../crud/states.js';
import { CreateUserBody, CreateUserWithIdBody, parseInput, StateChangesBody } from '../resolvers/inputs.js';
import { updateUser } from '../resolvers/update-user.js';
import { changeUsersState, softDeleteUser } from '../resolvers/user-state.js';
import { createUser, createUserWithId } from '../resolvers/create-user.js';
import { registerUser } from '../resolvers/register-user.js';
import { deleteUser, getUser } from '../resolvers/users.js';
import { builder } from './builder.js';
import { MUTATION_ERRORS } from './errors.js';
import { UserRef, UserStateEnum } from './user.js';

/** The field builder the input types below receive. */
type InputFieldBuilder = PothosSchemaTypes.InputFieldBuilder<
  typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never,
  'InputObject'
>;

const standardInputFields = (t: InputFieldBuilder) => ({
  userGroup: t.string({ required: true, description: "The user's group: its schema validates `properties`." }),
  username: t.string({ required: false, description: 'The username to log in with (unique).' }),
  email: t.string({ required: false, description: 'The e-mail address (unique); the password e-mail goes there.' }),
  blocked: t.boolean({ required: false, description: 'True: the user cannot log in.' }),
  roles: t.stringList({ required: false, description: 'The roles to bind to the user.' }),
  expirationDate: t.field({
    type: 'DateTime',
    required: false,
    description: 'When the account expires (in the future): the user is blocked then.',
  }),
  properties: t.field({ type: 'JSONObject', required: false, description: "Group-specific fields, checked against the group's schema." }),
});

const CreateUserInput = builder.inputType('CreateUserInput', {
  description: 'A new user (POST /users/).',
  fields: (t) => ({
    ...standardInputFields(t),
    password: t.string({ required: false, description: 'Used only when RANDOM_PWD_GEN is false.' }),
  }),
});

const CreateUserWithIdInput = builder.inputType('CreateUserWithIdInput', {
  description: 'A profile for an identity that exists already (POST /users/with-id).',
  fields: (t) => ({
    ...standardInputFields(t),
    authUserId: t.string({ required: true, description: 'The id of the existing identity.' }),
  }),
});

const StateChangeInput = builder.inputType('StateChangeInput', {
  description: 'Which users to move, and where to.',
  fields: (t) => ({
    filter: t.field({ type: 'JSONObject', required: true, description: 'A CRUD filter (same operator allow-list as _q).' }),
    stateTo: t.field({ type: UserStateEnum, required: true, description: 'The state to move them to.' }),
  }),
});

/** GraphQL input → the REST body shape, so both go through the same zod schema. */
function toBody(input: Record<string, unknown>): Record<string, unknown> {
  const { properties, expirationDate, ...standard } = input;
  const body: Record<string, unknown> = { ...(properties as Record<string, unknown> | undefined) };
  for (const [field, value] of Object.entries(standard)) if (value !== null && value !== undefined) body[field] = value;
  if (expirationDate instanceof Date) body.expirationDate = expirationDate.toISOString();
  return body;
}

builder.mutationFields((t) => ({
  createUser: t.field({
    type: UserRef,
    description:
      'Creates the profile, then its identity, binds its roles, schedules its expiration and sends the password e-mail ' +
      '(POST /users/). A failure undoes what was done.',
    errors: { types: MUTATION_ERRORS },
    args: {
      input: t.arg({ type: CreateUserInput, required: true, description: 'The user.' }),
      postponeAuthUserCreation: t.arg.boolean({
        required: false,
        description: 'True: the profile only; registerUser creates the identity later.',
      }),
      sendResetPwdEmail: t.arg.boolean({ required: false, description: 'False: no password e-mail.' }),
    },
    resolve: async (_root, args, ctx) => {
      const body = parseInput(CreateUserBody, toBody(args.input), 'input');
      const { _id } = await createUser(ctx, body, {
        postponeAuthUserCreation: args.postponeAuthUserCreation ?? false,
        sendResetPwdEmail: args.sendResetPwdEmail ?? undefined,
      });
      return getUser(ctx, _id);
    },
  }),
  createUserWithId: t.field({
    type: UserRef,
    description: 'Creates the profile of an identity that exists already (POST /users/with-id).',
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateUserWithIdInput, required: true, description: 'The profile and its identity.' }) },
    resolve: async (_root, args, ctx) => {
      const { _id } = await createUserWithId(ctx, parseInput(CreateUserWithIdBody, toBody(args.input), 'input'));
      return getUser(ctx, _id);
    },
  }),
  registerUser: t.field({
    type: UserRef,
    description: 'Creates the identity user of a profile-only user.',
    errors: { types: MUTATION_ERRORS },
    args: {
      id: t.arg.id({ required: true, description: 'The profile _id.' }),
      password: t.arg.string({ required: false, description: 'The first password (used only when RANDOM_PWD_GEN is false).' }),
      sendResetPwdEmail: t.arg.boolean({ required: false, description: 'False: no password e-mail.' }),
    },
    resolve: async (_root, args, ctx) => {
      await registerUser(
        ctx,
        { _id: String(args.id), password: args.password ?? undefined },
        { sendResetPwdEmail: args.sendResetPwdEmail ?? undefined },
      );
      return getUser(ctx, String(args.id));
    },
  }),
  updateUser: t.field({
    type: UserRef,
    description: 'A CRUD PATCH body: $set, $unset, $inc, $mul, $currentDate, $push, $pull, $addToSet, or a bare object meaning $set.',
    errors: { types: MUTATION_ERRORS },
    args: {
      id: t.arg.id({ required: true, description: 'The profile _id.' }),
      update: t.arg({ type: 'JSONObject', required: true, description: 'The update, e.g. {"$set": {"name": "Ada"}}.' }),
    },
    resolve: (_root, args, ctx) => updateUser(ctx, String(args.id), args.update),
  }),
  deleteUser: t.boolean({
    description: 'Deletes the profile and the identity user.',
    errors: { types: MUTATION_ERRORS },
    args: { id: t.arg.id({ required: true, description: 'The profile _id.' }) },
    resolve: async (_root, args, ctx) => {
      await deleteUser(ctx, String(args.id));
      return true;
    },
  }),
  softDeleteUser: t.field({
    type: UserRef,
    description: 'Moves the user to DELETED (through TRASH) and deletes or blocks its identity. Safe to call again after a failure.',
    errors: { types: MUTATION_ERRORS },
    args: { id: t.arg.id({ required: true, description: 'The profile _id.' }) },
    resolve: async (_root, args, ctx) => {
      await softDeleteUser(ctx, String(args.id));
      return getUser(ctx, String(args.id), ALL_STATES);
    },
  }),
  changeUsersState: t.int({
    description: 'Moves every user matching each filter to its stateTo; answers how many moved.',
    errors: { types: MUTATION_ERRORS },
    args: { changes: t.arg({ type: [StateChangeInput], required: true, description: 'The moves, made in order.' }) },
    resolve: (_root, args, ctx) => changeUsersState(ctx, parseInput(StateChangesBody, args.changes, 'changes')),
  }),
}));
