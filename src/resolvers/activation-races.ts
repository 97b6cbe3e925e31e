import pLimit from 'p-limit';
import type { ImportedIdentityRef, ImportedValues } from '../ports/identity-importer.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { deleteIdentity, revokeRoles, sameRoles } from './roles.js';
import { compensate } from './saga-steps.js';
import { followUnlessHeld, identityBlocked } from './user-sync.js';
import { followRoles } from './linked-follow.js';
import { deleteLater } from './user-deletion.js';
import { intentUnrecorded } from './intent-jobs.js';
import { findUsersByIds } from './users.js';

// What a completed bulk activation chunk does around its link so that writes racing it (a profile
// deleted, changed or moved meanwhile) leave no identity behind or out of step (activation-chunks.ts).

/** Upstream calls a chunk makes at once (roles granted, existing identities updated). */
export const CHUNK_CONCURRENCY = 8;

/**
 * An identity this import made for a profile deleted meanwhile would be reachable by nobody (the
 * deletion saw no authUserId): it goes. `gone`: profiles deleted before the import's results were
 * read, whose identity is found by the id it was sent with; `made`: identities made for profiles
 * deleted before their link. One that existed before (matched by e-mail) stays, as does one that
 * a profile links by now (another activation matched it by e-mail).
 */
export async function removeOrphans(ctx: Context, gone: string[], made: Orphan[]): Promise<void> {
  const found = gone.length === 0 ? [] : await ctx.deps.identityImports.findImported(gone.map((userId) => ({ userId })));
  const orphans = [...made, ...found.flatMap((ref, index) => (ref?.created ? [{ userId: gone[index]!, authUserId: ref.id }] : []))];
  if (orphans.length === 0) return;
  const ids = orphans.map((orphan) => orphan.authUserId);
  const linked = await ctx.deps.users.find({ authUserId: { $in: ids } }, { states: ALL_STATES, scope: ctx.scope });
  const kept = new Set(linked.map((user) => user.authUserId));
  const lost: unknown[] = [];
  for (const orphan of orphans.filter(({ authUserId }) => !kept.has(authUserId))) {
    const what = `delete the identity ${orphan.authUserId} of a deleted profile`;
    // Not now (the identity provider down, or Rönd for its bindings): the deletion reconciler does
    // it once it can (deleting a gone identity is harmless). Bindings left were only logged.
    const deleted = await compensate(ctx, what, async () => {
      const { rolesLeft } = await deleteIdentity(ctx, orphan.authUserId);
      if (rolesLeft) throw rolesLeft;
    });
    if (!deleted) {
      await deleteLater(ctx, orphan).catch((error: unknown) => lost.push(error));
    }
  }
  failIfLost(lost);
}

/**
 * Follow-ups of a chunk that could be neither done nor left to a reconciler (its intent not
 * recorded: the job store failing): the chunk's completion fails, once the others are done, and
 * the job worker tries it again (back-off) from the progress saved before it, where the chunk
 * still runs. Its repeat finds them again: a deleted profile's identity by the id it was sent
 * with, a changed profile by its identity's imported values. Logged only, they were lost.
 */
function failIfLost(lost: unknown[]): void {
  if (lost.length > 0) throw lost[0];
}

/** An identity made for a profile that is gone. */
interface Orphan {
  userId: string;
  authUserId: string;
}

/**
 * A profile changed (a PATCH, a state change) after the chunk read it and before the link wrote
 * only itself (no identity to follow yet): the identity the import made has the values sent, not
 * the profile's. Read again once linked (one read per chunk), a profile that differs from its
 * identity has the identity follow it under the user's lock; one held by another write is left to
 * it (it follows the profile as stored), one that fails to the reconciler.
 */
export async function followChangedProfiles(ctx: Context, done: { user: UserDoc; ref: ImportedIdentityRef }[]): Promise<void> {
  const made = done.filter(({ ref }) => ref.values !== undefined);
  if (made.length === 0) return;
  const after = await findUsersByIds(
    ctx,
    made.map(({ user }) => user._id),
    ALL_STATES,
  );
  const changed = made.flatMap(({ user, ref }) => {
    const now = after.get(user._id);
    return now?.authUserId === ref.id && differs(now, ref.values!) ? [now] : [];
  });
  const limit = pLimit(CHUNK_CONCURRENCY);
  const lost: unknown[] = [];
  const follow = (user: UserDoc) =>
    followUnlessHeld(ctx, user).catch((error: unknown) => {
      // Its intent recorded, a failed follow is the reconciler's; unrecorded, nothing would redo it.
      if (intentUnrecorded(error)) lost.push(error);
      else
        ctx.deps.logger.error(
          { err: error, requestId: ctx.requestId },
          `could not make the identity of ${user._id} follow its changed profile`,
        );
    });
  await Promise.all(changed.map((user) => limit(() => follow(user))));
  failIfLost(lost);
}

/** The identity's e-mail, username (when it has one) or blocked state is not the profile's. */
function differs(user: UserDoc, identity: ImportedValues): boolean {
  if ((user.email ?? '').toLowerCase() !== (identity.email ?? '').toLowerCase()) return true;
  if (identity.username !== undefined && user.username !== identity.username) return true;
  return identityBlocked(user) !== identity.blocked;
}

/**
 * What a chunk's grants may have missed, looked for once they are made (one read per chunk):
 * - a profile deleted after its link and before its grant: its deletion took the identity and its
 *   bindings, and the grant then bound roles to an identity that is gone. They go as a deleted
 *   profile's identity does; those of one moved to DELETED (AUTH_HARD_DELETE) as below.
 * - a profile whose roles a PATCH changed after the chunk read them: the grant bound the roles it
 *   read, beside or after the PATCH's own revoke and grant (a role the profile no longer has stayed
 *   bound), or before a PATCH that read the profile without identity wrote only the profile (the new
 *   roles never bound). Its bindings follow the profile as stored, under the user's lock (revoke,
 *   then grant). A user another write holds fails the chunk's completion, to be tried again once
 *   it is let go: the holder may have revoked before this grant, and its roles would stay.
 */
export async function checkGrants(ctx: Context, done: { user: UserDoc; ref: ImportedIdentityRef }[]): Promise<void> {
  if (done.length === 0) return;
  const after = await findUsersByIds(
    ctx,
    done.map(({ user }) => user._id),
    ALL_STATES,
  );
  const gone = done.filter(({ user }) => user.roles?.length && !after.has(user._id));
  await removeOrphans(
    ctx,
    [],
    gone.map(({ user, ref }) => ({ userId: user._id, authUserId: ref.id })),
  );
  // Moved to DELETED meanwhile (AUTH_HARD_DELETE): the move deleted the identity and may have
  // revoked before the grant; following the profile deletes them again, with the bindings.
  const hardDeleted = (now: UserDoc) => now.__STATE__ === 'DELETED' && ctx.deps.config.AUTH_HARD_DELETE;
  const deleted = (now: UserDoc, granted: UserDoc) => granted.roles?.length && hardDeleted(now);
  const changed = done.flatMap(({ user, ref }) => {
    const now = after.get(user._id);
    return now?.authUserId === ref.id && (!sameRoles(user.roles, now.roles) || deleted(now, user)) ? [now] : [];
  });
  const lost: unknown[] = [];
  const follow = async (user: UserDoc) => {
    if ((await followRoles(ctx, user)) !== 'held') return;
    // Held by its move to DELETED, which deleted the identity (its repeat would not find the user,
    // no longer live): nothing binds a gone identity again, its bindings are revoked unguarded.
    if (hardDeleted(user)) await compensate(ctx, `revoke the bindings of ${user._id}`, () => revokeRoles(ctx, user.authUserId!));
    else lost.push(new Error(`user ${user._id} was being changed while its roles were granted`));
  };
  const limit = pLimit(CHUNK_CONCURRENCY);
  await Promise.all(changed.map((user) => limit(() => follow(user).catch((error: unknown) => lost.push(error)))));
  failIfLost(lost);
}
