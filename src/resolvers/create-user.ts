import type { UserDoc } from '../clients/ports.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { assertPasswordPolicy } from '../domain/password-policy.js';
import { ConflictError, during, InvalidInputError, NotFoundError } from '../errors.js';
import { requireAdmin } from './access.js';
import { sendWelcomeReset } from './auth.js';
import { abortExpiration, scheduleExpiration } from './expiration.js';
import type { CreateUserBody, CreateUserWithIdBody, RegisterBody } from './inputs.js';
import { randomPassword } from './random-password.js';
import { grantRoles } from './roles.js';
import { compensate, identityBlocked } from './sagas.js';
import { getUser, LIVE_STATES, requireGroup } from './users.js';

export interface CreateUserOptions {
  postponeAuthUserCreation?: boolean;
  sendResetPwdEmail?: boolean;
}

/**
 * `POST /users/`: the profile first, then the identity user and `authUserId` on the profile, then
 * the expiration schedule. If a step fails, the earlier ones are undone and the caller gets the
 * error. Roles are granted once the identity exists.
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
    let authUserId: string | undefined;
    try {
      if (withIdentity) authUserId = await attachIdentity(ctx, created, password);
      await attachExpiration(ctx, created);
    } catch (error) {
      const identityId = authUserId;
      if (identityId) await compensate(ctx, 'remove the identity of a failed creation', () => ctx.deps.identity.deleteUser(identityId));
      await compensate(ctx, 'remove the profile of a failed creation', () =>
        ctx.deps.users.delete(created._id, { states: ALL_STATES, scope: ctx.scope }),
      );
      throw error;
    }
    if (authUserId) {
      await grantRoles(ctx, authUserId, created.roles);
      await sendWelcomeReset(ctx, authUserId, options.sendResetPwdEmail);
    }
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
    try {
      if (body.blocked !== undefined && body.blocked !== identity.blocked)
        await ctx.deps.identity.updateUser(identity.id, { blocked: body.blocked });
      await attachExpiration(ctx, created);
    } catch (error) {
      await compensate(ctx, 'remove the profile of a failed creation', () =>
        ctx.deps.users.delete(created._id, { states: ALL_STATES, scope: ctx.scope }),
      );
      throw error;
    }
    await grantRoles(ctx, identity.id, created.roles);
    return { _id: created._id };
  });
}

/** `POST /users/register`: creates the identity user of a profile-only user, then grants its roles. */
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
  await grantRoles(ctx, authUserId, user.roles);
  await sendWelcomeReset(ctx, authUserId, options.sendResetPwdEmail);
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
  const identity = await ctx.deps.identity.createUser({
    username: user.username,
    email: user.email,
    password: password ?? randomPassword(ctx.deps.config.RANDOM_PWD_LENGTH),
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

/** Schedules the expiry of a new user and stores the schedule's id on it. */
export async function attachExpiration(ctx: Context, user: UserDoc): Promise<void> {
  const expirationId = await scheduleExpiration(ctx, user);
  if (!expirationId) return;
  try {
    await ctx.deps.users.patch(user._id, { $set: { expirationId } }, { states: ALL_STATES }, ctx.scope);
  } catch (error) {
    await abortExpiration(ctx, expirationId);
    throw error;
  }
}

function assertIdentityFields(user: { username?: unknown; email?: unknown }): void {
  if (!user.username && !user.email) {
    throw new InvalidInputError('username or email is required to create the user in the authentication service', [
      { path: ['body', 'username'], message: 'username or email is required' },
    ]);
  }
}
