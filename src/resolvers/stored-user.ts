import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import type { UserDoc } from '../ports/user-store.js';

/**
 * The user as stored, in whatever state: what an operation reads again under the user's lock, or a
 * repair reads to make the identity follow. The caller's scope goes with it (its headers reach the
 * CRUD), as with every store call.
 */
export function storedUser(ctx: Context, userId: string): Promise<UserDoc | undefined> {
  return ctx.deps.users.get(userId, { states: ALL_STATES, scope: ctx.scope });
}
