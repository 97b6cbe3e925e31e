import pLimit from 'p-limit';
import type { GroupConfig } from '../ports/config-store.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { requireAdmin } from './access.js';
import type { CrudQuery } from '../crud/query.js';
import { checkPassedOnQuery } from '../crud/raw-query.js';
import { ALL_STATES, type State } from '../crud/states.js';
import { during, InvalidInputError, NotFoundError, userBusy } from '../errors.js';
import { enrichUsers } from './enrichment.js';
import { abortExpiration } from './expiration.js';
import { compensate } from './saga-steps.js';
import { revokeAccess } from './revocation.js';
import { groupFields, parseByIdRequest } from './by-id-query.js';
import { closeDeletion, openDeletion } from './user-deletion.js';
import { deleteIdentity, identityOutcomeUnknown } from './roles.js';
import { holdingIntent } from './intent-jobs.js';
import { closeSync, openSync } from './user-sync.js';
import { excludeFields, projectDoc, readableFields, withoutId } from '../crud/projection.js';
import { projectExpressions } from '../crud/project-expressions.js';
import { fieldIndexOf } from '../crud/field-types.js';
import { shownId } from '../domain/input-limits.js';
import { storedUser } from './stored-user.js';

/** States in which a user can still be edited or registered (not soft-deleted). */
export const LIVE_STATES: readonly State[] = ['PUBLIC', 'DRAFT', 'TRASH'];

/** Ids per store read: an `_id $in` list short enough for the CRUD's query string. */
const IDS_PER_READ = 200;

/** Users by id (in LIVE_STATES unless told), read IDS_PER_READ at a time, 4 reads at once. */
export async function findUsersByIds(
  ctx: Context,
  ids: readonly string[],
  states: readonly State[] = LIVE_STATES,
): Promise<Map<string, UserDoc>> {
  const limit = pLimit(4);
  const reads = [];
  for (let start = 0; start < ids.length; start += IDS_PER_READ) {
    const slice = ids.slice(start, start + IDS_PER_READ);
    reads.push(limit(() => ctx.deps.users.find({ _id: { $in: slice } }, { states, scope: ctx.scope })));
  }
  return new Map((await Promise.all(reads)).flat().map((user) => [user._id, user]));
}

/**
 * A page of users from the store, as its query projects them (GraphQL reads identities through its
 * own `identity` field; REST adds CONFIGURATION_PATH's properties in listUsersAnswer).
 */
export async function listUsers(ctx: Context, query: CrudQuery | string): Promise<Record<string, unknown>[]> {
  await requireAdmin(ctx);
  return during('listing users', () => ctx.deps.users.list(query, ctx.scope));
}

export async function countUsers(ctx: Context, query: CrudQuery | string): Promise<number> {
  await requireAdmin(ctx);
  return during('counting users', () => ctx.deps.users.count(query, ctx.scope));
}

/**
 * REST `GET /users/` and `/users/count`: with a store that can pass its answer on (the CRUD
 * Service) and nothing to add to it, the caller gets the store's JSON text as it is; a store that
 * writes its page as text (the embedded store, `listText`) answers with that text. With a
 * CONFIGURATION_PATH file, the page gets its users' identity properties (as the original).
 */
export async function listUsersAnswer(ctx: Context, rawQuery: string): Promise<unknown> {
  const { enrichment } = ctx.deps;
  if (enrichment) {
    const users = await listUsers(ctx, rawQuery);
    return during('reading identity properties', () => enrichUsers(ctx, users, enrichment));
  }
  const { passThrough, listText } = ctx.deps.users;
  if (listText) {
    await requireAdmin(ctx);
    return during('listing users', () => listText(rawQuery, ctx.scope));
  }
  if (!passThrough) return listUsers(ctx, rawQuery);
  await requireAdmin(ctx);
  checkPassedOnQuery(rawQuery, ctx.scope.headers.acl_rows, { aclReadColumns: ctx.scope.headers.acl_read_columns });
  return during('listing users', () => passThrough.list(rawQuery, ctx.scope));
}

export async function countUsersAnswer(ctx: Context, rawQuery: string): Promise<unknown> {
  const passThrough = ctx.deps.users.passThrough;
  if (!passThrough) return countUsers(ctx, rawQuery);
  await requireAdmin(ctx);
  checkPassedOnQuery(rawQuery, ctx.scope.headers.acl_rows);
  return during('counting users', () => passThrough.count(rawQuery, ctx.scope));
}

/** A user by id in one of `states`; with `query` (a by-id route's `_q`, `field=value`), only while the user matches it. */
export async function getUser(
  ctx: Context,
  id: string,
  states: readonly State[] = ALL_STATES,
  action = 'reading user',
  query?: string,
): Promise<UserDoc> {
  await requireAdmin(ctx);
  // An `_st` naming no state (`_st=xPUBLICx`) matches nobody, as on the CRUD; no store is asked.
  if (states.length === 0) throw new NotFoundError(`user ${shownId(id)} not found`);
  const user = await during(action, () => ctx.deps.users.get(id, { states, scope: ctx.scope, query }));
  if (!user) throw new NotFoundError(`user ${shownId(id)} not found`);
  return user;
}

/**
 * REST `GET /users/:id`: the user must match `_q`, `field=value` and acl_rows (404 otherwise);
 * `_p` and the acl_read_columns header choose the fields answered, as the CRUD's GET /:id.
 */
export async function getUserAnswer(ctx: Context, id: string, rawQuery: string): Promise<Record<string, unknown>> {
  await requireAdmin(ctx);
  // A `_rawp` names fields (`$price`) and reads dates by the group schemas.
  const index = new URLSearchParams(rawQuery).has('_rawp') ? await groupFields(ctx) : undefined;
  const request = parseByIdRequest(ctx, rawQuery, { projection: true, index });
  const user = await getUser(ctx, id, request.states, 'reading user', request.query);
  // The dates an expression reads are dates of the group schemas (and the standard ones).
  if (request.expression) return (await projectExpressions([user], request.expression, index ?? fieldIndexOf([])))[0]!;
  // An exclusion comes only without acl_read_columns (with the header it is kept as inclusions).
  if (request.exclusion) return excludeFields(user, request.exclusion);
  const fields = readableFields(request.projection, ctx.scope.headers.acl_read_columns);
  if (!fields) return user;
  const projected = projectDoc(user, fields, request.filter);
  return request.withoutId ? withoutId(projected) : projected;
}

/**
 * `DELETE /users/:id`: the profile, then the identity user; the profile comes back if that fails.
 * An intent recorded first lets the reconciler (user-deletion.ts) finish a deletion whose process
 * died, or whose profile could not come back, so no identity outlives its profile. A user is
 * deleted under its lock (`user-sync`), read again once it is held: a `PATCH` of its roles, whose
 * revoke and grant come after its profile write, granted them after this deletion had revoked the
 * bindings and deleted the identity (bindings of an identity that no longer exists); a user without
 * identity whose date a `PATCH` changed meanwhile kept the new schedule live, and a state change
 * it deleted under answered a 404. One holding the user makes this the 409 `USER_BUSY`; one coming
 * after finds no profile.
 */
export async function deleteUser(ctx: Context, id: string, rawQuery = ''): Promise<void> {
  await requireAdmin(ctx);
  const { query, states = ALL_STATES } = parseByIdRequest(ctx, rawQuery);
  const found = await getUser(ctx, id, states, 'deleting user', query);
  const sync = await during('deleting user', () => openSync(ctx, found));
  try {
    // Held while it runs: a reconciler taking the lock over would let a write in beside the deletion.
    // Its lease checked before the profile's delete (`held`): one whose renewals failed for a lease
    // deleted the user under a PATCH that had taken it, whose grant then bound a deleted identity.
    await holdingIntent(ctx, sync, async (held) =>
      deleteFound(ctx, await getUser(ctx, id, states, 'deleting user', query), { query, states, held }),
    );
  } finally {
    // Whatever the deletion came to, its own intent (user-deletion) finishes it: the lock goes.
    await closeSync(ctx, sync, true);
  }
}

interface Deleting {
  query?: string;
  states: readonly State[];
  /** Throws once the user's lock may have lapsed. */
  held: () => void;
}

async function deleteFound(ctx: Context, user: UserDoc, { query, states, held }: Deleting): Promise<void> {
  await during('deleting user', async () => {
    const intent = await openDeletion(ctx, user);
    // Held while it runs (a profile put back after a failure has no deadline): the reconciler
    // taking it over meanwhile would delete the identity of a profile about to come back. The
    // sessions and the schedule go before the intent is closed: a process that died after the
    // close left the schedule live (and the sessions open) with nothing to finish them.
    const both = async () => {
      const outcome = await deleteBoth(ctx, user, { query, states, held });
      if (!outcome.error) {
        await revokeAccess(ctx, user.authUserId);
        await abortExpiration(ctx, user.expirationId);
      }
      return outcome;
    };
    const outcome = intent ? await holdingIntent(ctx, intent, both) : await both();
    await closeDeletion(ctx, intent, outcome.consistent);
    if (outcome.error) throw outcome.error;
  });
}

const notFound = (id: string) => new NotFoundError(`user ${shownId(id)} not found`);

/**
 * A delete of a profile read without identity that deleted nothing: linked since (nothing deleted),
 * the 409 `USER_BUSY` (the client's retry deletes both sides); otherwise not found, as before.
 */
async function linkedMeanwhile(ctx: Context, id: string): Promise<Error> {
  const now = await storedUser(ctx, id);
  if (now?.authUserId === undefined) return notFound(id);
  return userBusy(id);
}

/** Deletes the profile, then its identity; answers the error to report and whether both sides agree afterwards. */
async function deleteBoth(
  ctx: Context,
  user: UserDoc,
  { query, states, held }: Deleting,
): Promise<{ consistent: boolean; error?: unknown }> {
  try {
    held();
  } catch (error) {
    // Nothing deleted: both sides agree, the 409 USER_BUSY is answered.
    return { consistent: true, error };
  }
  try {
    // Read without identity: deleted only while it has none. A registration, a bulk activation or
    // the creation reconciler linking one since that read left it with no profile (both 204).
    const unlinked = user.authUserId === undefined;
    if (!(await ctx.deps.users.delete(user._id, { states, scope: ctx.scope, query, unlinked }))) {
      return { consistent: true, error: unlinked ? await linkedMeanwhile(ctx, user._id) : notFound(user._id) };
    }
  } catch (error) {
    // A lost answer may hide a delete that was done: the reconciler looks.
    return { consistent: false, error };
  }
  if (!user.authUserId) return { consistent: true };
  try {
    // Rönd being down (its bindings left) is no failure of the deletion: the intent stays open and
    // the reconciler revokes them later.
    const { rolesLeft } = await deleteIdentity(ctx, user.authUserId);
    return { consistent: !rolesLeft };
  } catch (error) {
    // The identity may be gone: the profile stays gone too, and the reconciler deletes the
    // identity. Its sessions end now: they would live until the provider answers again.
    if (identityOutcomeUnknown(error)) {
      await revokeAccess(ctx, user.authUserId);
      return { consistent: false, error };
    }
    const restored = await compensate(ctx, 'restore the profile of a failed deletion', () => ctx.deps.users.insert(user, ctx.scope));
    return { consistent: restored, error };
  }
}

export async function requireGroup(ctx: Context, userGroup: unknown): Promise<GroupConfig> {
  if (typeof userGroup !== 'string' || userGroup === '') {
    throw new InvalidInputError('body/userGroup must be a non-empty string', [{ path: ['body', 'userGroup'], message: 'required' }]);
  }
  const group = await during('reading the user group', () => ctx.deps.groups.getGroup(userGroup));
  if (!group) {
    throw new InvalidInputError(`userGroup "${shownId(userGroup)}" does not exist`, [
      { path: ['body', 'userGroup'], message: 'unknown user group' },
    ]);
  }
  return group;
}
