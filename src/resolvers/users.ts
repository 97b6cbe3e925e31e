import type { GroupConfig, UserDoc } from '../clients/ports.js';
import type { Context } from '../context.js';
import { requireAdmin } from './access.js';
import type { CrudQuery } from '../crud/query.js';
import { ALL_STATES, type State } from '../crud/states.js';
import { ConflictError, during, InvalidInputError, NotFoundError } from '../errors.js';
import type { CreateUserBody, CreateUserWithIdBody, RegisterBody } from './inputs.js';
import { assertPasswordPolicy } from '../domain/password-policy.js';
import { sendWelcomeReset } from './auth.js';
import { enrichUsers } from './enrichment.js';
import { randomPassword } from './random-password.js';
import { compensate, identityBlocked } from './sagas.js';

/** States in which a user can still be edited or registered (not soft-deleted). */
export const LIVE_STATES: readonly State[] = ['PUBLIC', 'DRAFT', 'TRASH'];

export interface CreateUserOptions {
  postponeAuthUserCreation?: boolean;
  sendResetPwdEmail?: boolean;
}

/**
 * `POST /users/`: the profile first, then the identity user, then `authUserId` on the profile.
 * If a later step fails, the earlier ones are undone and the caller gets the error.
 */
export async function createUser(ctx: Context, body: CreateUserBody, options: CreateUserOptions = {}): Promise<{ _id: string }> {
  await requireAdmin(ctx);
  const { password: requested, ...profile } = body;
  const password = chosenPassword(ctx, requested);
  const group = await requireGroup(ctx, profile.userGroup);
  ctx.deps.schemas.validateUser(group, profile);
  const withIdentity = !options.postponeAuthUserCreation && !group.authUserCreationDisabled;
  if (withIdentity) assertIdentityFields(profile);
  return during('creating user', async () => {
    const created = await ctx.deps.users.insert(profile, ctx.scope);
    if (!withIdentity) return { _id: created._id };
    let authUserId: string;
    try {
      authUserId = await attachIdentity(ctx, created, password);
    } catch (error) {
      await compensate(ctx, 'remove the profile of a failed creation', () =>
        ctx.deps.users.delete(created._id, { states: ALL_STATES, scope: ctx.scope }),
      );
      throw error;
    }
    await sendWelcomeReset(ctx, authUserId, options.sendResetPwdEmail);
    return { _id: created._id };
  });
}

/** `POST /users/with-id`: a profile for an identity user that already exists. */
export async function createUserWithId(ctx: Context, body: CreateUserWithIdBody): Promise<{ _id: string }> {
  await requireAdmin(ctx);
  const group = await requireGroup(ctx, body.userGroup);
  const [identity] = await ctx.deps.identity.getUsers([body.authUserId]);
  if (!identity) throw new InvalidInputError(`authUserId "${body.authUserId}" does not exist in the authentication service`);
  const linked = await ctx.deps.users.find({ authUserId: body.authUserId }, { states: ALL_STATES, limit: 1, scope: ctx.scope });
  if (linked.length > 0) throw new InvalidInputError(`authUserId "${body.authUserId}" is already linked to user ${linked[0]!._id}`);
  const profile: Record<string, unknown> = { ...body };
  if (profile.username === undefined && identity.username) profile.username = identity.username;
  if (profile.email === undefined && identity.email) profile.email = identity.email;
  ctx.deps.schemas.validateUser(group, profile);
  return during('creating user', async () => {
    const created = await ctx.deps.users.insert(profile, ctx.scope);
    if (body.blocked !== undefined && body.blocked !== identity.blocked) {
      try {
        await ctx.deps.identity.updateUser(identity.id, { blocked: body.blocked });
      } catch (error) {
        await compensate(ctx, 'remove the profile of a failed creation', () =>
          ctx.deps.users.delete(created._id, { states: ALL_STATES, scope: ctx.scope }),
        );
        throw error;
      }
    }
    return { _id: created._id };
  });
}

/** `POST /users/register`: creates the identity user of a profile-only user. */
export async function registerUser(ctx: Context, body: RegisterBody, options: { sendResetPwdEmail?: boolean } = {}): Promise<void> {
  await requireAdmin(ctx);
  const user = await getUser(ctx, body._id, LIVE_STATES);
  const group = await requireGroup(ctx, user.userGroup);
  if (group.authUserCreationDisabled) {
    throw new InvalidInputError(`user group "${group.userGroup}" has authUserCreationDisabled: its users have no identity`);
  }
  if (user.authUserId) throw new ConflictError(`user ${user._id} is already registered as ${user.authUserId}`);
  assertIdentityFields(user);
  const password = chosenPassword(ctx, body.password);
  const authUserId = await during('registering user', () => attachIdentity(ctx, user, password));
  await sendWelcomeReset(ctx, authUserId, options.sendResetPwdEmail);
}

export async function listUsers(ctx: Context, query: CrudQuery | string): Promise<Record<string, unknown>[]> {
  await requireAdmin(ctx);
  const users = await during('listing users', () => ctx.deps.users.list(query, ctx.scope));
  const { enrichment } = ctx.deps;
  return enrichment ? during('reading identity properties', () => enrichUsers(ctx, users, enrichment)) : users;
}

export async function countUsers(ctx: Context, query: CrudQuery | string): Promise<number> {
  await requireAdmin(ctx);
  return during('counting users', () => ctx.deps.users.count(query, ctx.scope));
}

export async function getUser(ctx: Context, id: string, states: readonly State[] = ALL_STATES, action = 'reading user'): Promise<UserDoc> {
  await requireAdmin(ctx);
  const user = await during(action, () => ctx.deps.users.get(id, { states, scope: ctx.scope }));
  if (!user) throw new NotFoundError(`user ${id} not found`);
  return user;
}

/** `DELETE /users/:id`: the profile, then the identity user; the profile comes back if that fails. */
export async function deleteUser(ctx: Context, id: string): Promise<void> {
  await requireAdmin(ctx);
  const user = await getUser(ctx, id, ALL_STATES, 'deleting user');
  await during('deleting user', async () => {
    if (!(await ctx.deps.users.delete(id, { states: ALL_STATES, scope: ctx.scope }))) throw new NotFoundError(`user ${id} not found`);
    if (!user.authUserId) return;
    try {
      await ctx.deps.identity.deleteUser(user.authUserId);
    } catch (error) {
      await compensate(ctx, 'restore the profile of a failed deletion', () => ctx.deps.users.insert(user, ctx.scope));
      throw error;
    }
  });
}

export async function requireGroup(ctx: Context, userGroup: unknown): Promise<GroupConfig> {
  if (typeof userGroup !== 'string' || userGroup === '') {
    throw new InvalidInputError('body/userGroup must be a non-empty string', [{ path: ['body', 'userGroup'], message: 'required' }]);
  }
  const group = await during('reading the user group', () => ctx.deps.groups.getGroup(userGroup));
  if (!group) {
    throw new InvalidInputError(`userGroup "${userGroup}" does not exist`, [
      { path: ['body', 'userGroup'], message: 'unknown user group' },
    ]);
  }
  return group;
}

/**
 * The password the identity user gets: the caller's (checked against the policy) only when
 * RANDOM_PWD_GEN is false; otherwise, or when none is given, a random one (undefined here).
 */
function chosenPassword(ctx: Context, password: string | undefined): string | undefined {
  if (ctx.deps.config.RANDOM_PWD_GEN || !password) return undefined;
  assertPasswordPolicy(password);
  return password;
}

/** Creates the identity user of a profile and stores its id there; no identity is left behind on failure. */
async function attachIdentity(ctx: Context, user: UserDoc, password: string | undefined): Promise<string> {
  const { config } = ctx.deps;
  const identity = await ctx.deps.identity.createUser({
    username: user.username,
    email: user.email,
    password: password ?? randomPassword(config.RANDOM_PWD_LENGTH),
    blocked: identityBlocked(user),
  });
  try {
    const patched = await ctx.deps.users.patch(user._id, { $set: { authUserId: identity.id } }, { states: ALL_STATES }, ctx.scope);
    if (!patched) throw new NotFoundError(`user ${user._id} disappeared while its identity was created`);
  } catch (error) {
    await compensate(ctx, 'remove the identity user of a failed creation', () => ctx.deps.identity.deleteUser(identity.id));
    throw error;
  }
  return identity.id;
}

function assertIdentityFields(user: { username?: unknown; email?: unknown }): void {
  if (!user.username && !user.email) {
    throw new InvalidInputError('username or email is required to create the user in the authentication service', [
      { path: ['body', 'username'], message: 'username or email is required' },
    ]);
  }
}
