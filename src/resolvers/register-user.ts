import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ConflictError, during, InvalidInputError } from '../errors.js';
import { assertIdentityFields, chosenPassword, finishWhole, giveUp } from './create-user.js';
import { attachIdentity, undoRegistration } from './creation-steps.js';
import { requireAdmin } from './access.js';
import { sendWelcomeReset } from './auth.js';
import type { RegisterBody } from './inputs.js';
import { grantRoles } from './roles.js';
import { closeIntent, heldWhile, type IntentHandle, noteProgress, openIntent } from './intents.js';
import { getUser, LIVE_STATES, requireGroup } from './users.js';
import { holdingIntent, IntentLapsedError } from './intent-jobs.js';
import { closeSync, openSync, type SyncHandle } from './user-sync.js';
import { followLinkedProfile } from './sync-follow.js';

/** `POST /users/register`: creates the identity user of a profile-only user, then grants its roles. */
export async function registerUser(ctx: Context, body: RegisterBody, options: { sendResetPwdEmail?: boolean } = {}): Promise<void> {
  await requireAdmin(ctx);
  const read = await getUser(ctx, body._id, LIVE_STATES);
  await assertRegistrable(ctx, read);
  const password = chosenPassword(ctx, body.password);
  await during('registering user', async () => {
    const intent = await openIntent(ctx, {
      userId: read._id,
      kind: 'register',
      identity: true,
      sendResetPwdEmail: options.sendResetPwdEmail,
    });
    const sync = await lockUser(ctx, intent, read);
    try {
      // Held while the steps run, its lease checked before each of them (`lockHeld`).
      await holdingIntent(ctx, sync, (lockHeld) => registerHeld(ctx, { intent, id: read._id, password, options, lockHeld }));
    } finally {
      // Whatever the registration came to, its own intent (user-creation) finishes it: the lock goes.
      await closeSync(ctx, sync, true);
    }
  });
}

/**
 * The user's lock (`user-sync`), taken once the registration's intent is recorded: a registration
 * links an identity to a profile, and a `DELETE` that had read the profile without one under the
 * lock just before that link deleted the profile after it, leaving the identity no profile points
 * to. Held by another write, the 409 `USER_BUSY`, nothing made, the intent closed.
 */
async function lockUser(ctx: Context, intent: IntentHandle, user: UserDoc): Promise<SyncHandle> {
  try {
    return await openSync(ctx, user);
  } catch (error) {
    await closeIntent(ctx, intent);
    throw error;
  }
}

interface Registering {
  intent: IntentHandle;
  id: string;
  password: string | undefined;
  options: { sendResetPwdEmail?: boolean };
  /** Throws once the user's lock may have lapsed. */
  lockHeld: () => void;
}

async function registerHeld(ctx: Context, { intent, id, password, options, lockHeld }: Registering): Promise<void> {
  const user = await readUnderIntent(ctx, intent, id);
  // The link's answer showing a profile changed meanwhile: the identity follows it here, this
  // registration holding the lock (`attachIdentity` would leave it to the holder).
  const follow = followLinkedProfile(ctx, lockHeld);
  const attached = await heldWhile(ctx, intent, async () => {
    lockHeld();
    return attachIdentity(
      ctx,
      user,
      password,
      async (made) => {
        await noteProgress(ctx, intent, { authUserId: made });
        lockHeld();
      },
      follow,
    );
  });
  if (!attached.ok) {
    const identityId = intent.progress.authUserId;
    await giveUp(ctx, intent, identityId ? [() => undoRegistration(ctx, user._id, identityId)] : []);
    throw registerClash(user._id, attached.error);
  }
  const authUserId = attached.value;
  // Closed after the roles and the e-mail: a crash before then leaves them to the reconciler.
  await finishWhole(ctx, intent, async () => {
    lockHeld();
    await grantRoles(ctx, authUserId, user.roles);
    await sendWelcomeReset(ctx, authUserId, options.sendResetPwdEmail);
  });
}

/** What refuses a register whatever the moment: an identity-less group, a profile registered already or without username and e-mail. */
async function assertRegistrable(ctx: Context, user: UserDoc): Promise<void> {
  const group = await requireGroup(ctx, user.userGroup);
  if (group.authUserCreationDisabled) {
    throw new InvalidInputError(`user group "${group.userGroup}" has authUserCreationDisabled: its users have no identity`);
  }
  if (user.authUserId) throw new ConflictError(`user ${user._id} is already registered as ${user.authUserId}`);
  assertIdentityFields(user);
}

/**
 * The profile read again once its intent (the user's lock) is held: the first read came before it,
 * and another register (a retry on another replica) may have linked an identity and let the lock go
 * in between. Registering from that read made a second identity, refused by the provider in its own
 * words. Refused here, nothing made, the intent goes.
 */
async function readUnderIntent(ctx: Context, intent: IntentHandle, id: string): Promise<UserDoc> {
  try {
    const user = await getUser(ctx, id, LIVE_STATES);
    if (user.authUserId) throw new ConflictError(`user ${id} is already registered as ${user.authUserId}`);
    assertIdentityFields(user);
    return user;
  } catch (error) {
    await closeIntent(ctx, intent);
    throw error;
  }
}

/**
 * The identity provider refused the identity as a duplicate: an identity with the profile's username
 * or e-mail exists (made outside this service, or by another user's profile). The caller hears it in
 * the service's words, not the provider's ("The user already exists.").
 */
function registerClash(id: string, error: unknown): unknown {
  // The lock lost (USER_BUSY) is no clash of the identity's.
  if (!(error instanceof ConflictError) || error instanceof IntentLapsedError) return error;
  return new ConflictError(`user ${id} cannot be registered: an identity with its username or e-mail exists already`);
}
