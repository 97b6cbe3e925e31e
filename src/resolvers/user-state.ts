import type { Context } from '../context.js';
import type { UserDoc } from '../ports/user-store.js';
import { requireAdmin } from './access.js';
import { checkFilter } from '../crud/filter.js';
import { assertObjectIdConditions } from '../crud/ids.js';
import { ALL_STATES, bulkSourcesOf, pathToDeleted } from '../crud/states.js';
import { ConflictError, during, userBusy } from '../errors.js';
import type { StateChangesBody } from './inputs.js';
import { abortExpiration } from './expiration.js';
import { transitionUser } from './sagas.js';
import { syncNow } from './user-sync.js';
import { getUser } from './users.js';
import { groupFields } from './by-id-query.js';
import { coerceFilterValues } from '../crud/cast.js';

/** How many users are moved at once by a bulk state change. */
const STATE_CHANGE_CONCURRENCY = 8;

/**
 * `POST /users/state`: every user matching a filter and in a state the CRUD's bulk route accepts
 * is moved one by one, with the identity provider kept in step. Answers how many moved.
 */
export async function changeUsersState(ctx: Context, changes: StateChangesBody): Promise<number> {
  await requireAdmin(ctx);
  for (const change of changes) {
    checkFilter(change.filter, 'filter');
    assertObjectIdConditions(change.filter); // as the CRUD's parser casts `_id` (the store's own finds are not judged)
  }
  // Field values coerced by the group schemas, as the CRUD's body schema coerces them ({"age": "5"} finds age 5).
  const fields = await groupFields(ctx);
  const coerced = changes.map((change, position) => ({
    stateTo: change.stateTo,
    filter: coerceFilterValues(change.filter, fields, ['body', String(position), 'filter']),
  }));
  return during('changing users state', async () => {
    // The CRUD parses every filter before it moves anyone; the filters after the first are asked
    // once here (one user at most), so a refused one (an unknown field, a bad date) moves nobody.
    for (const { filter, stateTo } of coerced.slice(1)) {
      await ctx.deps.users.find(filter, { states: bulkSourcesOf(stateTo), scope: ctx.scope, limit: 1 });
    }
    let moved = 0;
    for (const { filter, stateTo } of coerced) {
      const matching = await ctx.deps.users.find(filter, { states: bulkSourcesOf(stateTo), scope: ctx.scope });
      for (let start = 0; start < matching.length; start += STATE_CHANGE_CONCURRENCY) {
        const slice = matching.slice(start, start + STATE_CHANGE_CONCURRENCY);
        // Every move of the slice ends before the answer: an error (a user busy, an upstream down)
        // answered at once left the others moving after it, where the client's retry met them.
        const settled = await Promise.allSettled(slice.map((user) => transitionUser(ctx, user, stateTo)));
        const failed = settled.find((outcome) => outcome.status === 'rejected');
        if (failed) throw failed.reason;
        // A user moved meanwhile out of the states this change moves from is not moved, nor counted.
        moved += settled.filter((outcome) => outcome.status === 'fulfilled' && outcome.value !== undefined).length;
      }
    }
    return moved;
  });
}

/**
 * `POST /users/:id/soft-delete`: walks the user to DELETED one allowed step at a time
 * (PUBLIC → TRASH → DELETED). Each step leaves both sides consistent, so after a failure a new
 * call resumes from where the last one stopped.
 */
export async function softDeleteUser(ctx: Context, id: string): Promise<void> {
  await requireAdmin(ctx);
  // The original names a failed read "deleting user" and a failed step "soft deleting user".
  const user = await getUser(ctx, id, ALL_STATES, 'deleting user');
  const schedules = await during('soft deleting user', async () => {
    const steps = pathToDeleted(user.__STATE__);
    // Already DELETED in the profile (a soft delete cut short): the identity side is finished.
    if (steps.length === 0) {
      if (user.authUserId) await finishDeleted(ctx, { ...user, authUserId: user.authUserId });
      return [user.expirationId];
    }
    let moved = user;
    for (const stateTo of steps) {
      // Moved meanwhile by another request (read again under the user's lock): the client's retry resumes from there.
      const acted = await transitionUser(ctx, moved, stateTo, [moved.__STATE__]);
      if (!acted) throw userBusy(user._id);
      moved = { ...acted, __STATE__: stateTo };
    }
    // The schedule the user pointed to as it moved to DELETED, read under its lock (a PATCH of the date takes it too).
    return [user.expirationId, moved.expirationId];
  });
  // The schedule read first, and the one stored when the user became DELETED (a PATCH of the date
  // landing in between left that one live on a DELETED user); a DELETED user's date changes no more.
  for (const expirationId of new Set(schedules)) await abortExpiration(ctx, expirationId);
}

/**
 * A soft delete resumed on a profile already DELETED: the identity follows it now. When the user's
 * `user-sync` intent is held (by the reconciler, between its tries, or by another request), the
 * holder makes it follow: the deletion is done, 204 as the first soft delete answers with only the
 * bindings left, if the identity already follows DELETED (docs/decisions.md); if not, the provider's
 * error when it cannot be asked, else the 409: whether the request is answered done cannot depend
 * on who holds the lock at that instant.
 */
async function finishDeleted(ctx: Context, user: UserDoc & { authUserId: string }): Promise<void> {
  try {
    await syncNow(ctx, user);
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === 'USER_BUSY')) throw error;
    if (!(await followsDeleted(ctx, user.authUserId))) throw error;
  }
}

/** The identity is gone (AUTH_HARD_DELETE) or blocked (without); the provider's error when it cannot say. */
async function followsDeleted(ctx: Context, authUserId: string): Promise<boolean> {
  const [identity] = await ctx.deps.identity.getUsers([authUserId]);
  return identity === undefined || (!ctx.deps.config.AUTH_HARD_DELETE && identity.blocked);
}
