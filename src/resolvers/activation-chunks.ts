import pLimit from 'p-limit';
import type { GroupConfig } from '../ports/config-store.js';
import type { IdentityImportJob, ImportedIdentity, ImportedIdentityRef } from '../ports/identity-importer.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { pace } from '../domain/pace.js';
import { ConflictError } from '../errors.js';
import { type ActivationFailure, emptySummary, type Outcome, type RunningChunk } from './activation-progress.js';
import { CHUNK_CONCURRENCY, followChangedProfiles, removeOrphans, checkGrants } from './activation-races.js';
import { grantRoles, replaceRoles } from './roles.js';
import { identityBlocked, type SyncOutcome, syncHeldWith, syncNow } from './user-sync.js';
import { followRoles } from './linked-follow.js';
import { intentUnrecorded } from './intent-jobs.js';
import { findUsersByIds } from './users.js';
import { shownId } from '../domain/input-limits.js';

// What a bulk activation does with one chunk of its users (activation.ts runs the chunks).

/** Prepares a chunk and starts its import job; answers the chunk's outcome when nothing is left to import. */
export async function startChunk(
  ctx: Context,
  chunk: string[],
  { upsert, again, mark }: { upsert: boolean; again: boolean; mark: string },
): Promise<RunningChunk | Outcome> {
  const { outcome, toImport } = await prepareChunk(ctx, chunk, { upsert, again, mark });
  if (toImport.length === 0) return outcome;
  const started = await ctx.deps.identityImports.startImport(toImport.map(toImported), { upsert });
  return { importJobId: started.id, sent: toImport.map((user) => user._id), outcome, ...(again ? { again } : {}) };
}

/** A chunk whose import job completed: its refused rows are failures, the others are linked to their identities. */
export async function completeChunk(ctx: Context, current: RunningChunk, importJob: IdentityImportJob): Promise<Outcome> {
  const importer = ctx.deps.identityImports;
  const outcome: Outcome = { summary: { ...current.outcome.summary }, failures: [...current.outcome.failures] };
  const refuse = refuser(outcome);
  const users = await findUsersByIds(ctx, current.sent);
  await pace();
  for (const [userId, errors] of await refusedRows(ctx, current, users)) refuse(userId, errors);
  const refused = new Set(outcome.failures.map((failure) => failure.userId));
  const imported = current.sent.filter((id) => !refused.has(id));
  const present = imported.flatMap((id) => users.get(id) ?? []);
  const gone = imported.filter((id) => !users.has(id));
  for (const id of gone) refuse(id, [{ code: 'USER_NOT_FOUND', message: `user ${id} was deleted` }]);
  await pace();
  const refs = await importer.findImported(present.map(toImported));
  await pace();
  const linked: { user: UserDoc; ref: ImportedIdentityRef }[] = [];
  present.forEach((user, index) => {
    const ref = refs[index];
    if (ref) linked.push({ user, ref });
    else refuse(user._id, [{ code: 'IDENTITY_NOT_FOUND', message: 'the imported identity was not found' }]);
  });
  const lost = await linkIdentities(ctx, linked);
  for (const id of lost) refuse(id, [{ code: 'USER_NOT_FOUND', message: `user ${id} was deleted` }]);
  const made = linked.flatMap(({ user, ref }) => (lost.has(user._id) && ref.created ? [{ userId: user._id, authUserId: ref.id }] : []));
  await removeOrphans(ctx, gone, made);
  const done = linked.filter(({ user }) => !lost.has(user._id));
  await followChangedProfiles(ctx, done);
  const pending = await bindAll(ctx, done, `${ROLES_MARK}:${current.importJobId}`);
  const bound = done.filter(({ user }) => !pending.has(user._id));
  await checkGrants(ctx, bound);
  for (const id of pending) refuse(id, [{ code: 'ROLES_PENDING', message: ROLES_PENDING }]);
  const inserted = insertedByThisJob(bound, importJob, current.again === true);
  outcome.summary.inserted += inserted;
  outcome.summary.updated += bound.length - inserted;
  return outcome;
}

/** The mark (with the import job's id) of the intents a chunk leaves for the roles it could not grant. */
const ROLES_MARK = 'bulk-activation-roles';
const ROLES_PENDING = 'the identity is linked; its roles are bound once the roles service answers again';

/**
 * Binds the roles of a chunk's linked users; answers those whose bindings were left to the
 * reconciler. A grant that fails (Rönd down) is not the job's to try again: through all its
 * attempts the users would stay linked without bindings, and nothing would bind them later (a new
 * activation with upsert does not touch roles). The user's bindings follow its profile instead,
 * under a `user-sync` intent with `roles` (`followRoles`, as a write racing the link does): tried
 * at once, and left to the reconciler, which replaces them (revoke, then grant) once Rönd answers.
 * The intents carry `mark`, so a completion tried again knows its own. A user another write holds,
 * or an intent that cannot be recorded, fails the completion, to be tried again (as `checkGrants`).
 */
async function bindAll(ctx: Context, done: { user: UserDoc; ref: ImportedIdentityRef }[], mark: string): Promise<Set<string>> {
  const pending = new Set<string>();
  const lost: unknown[] = [];
  const limit = pLimit(CHUNK_CONCURRENCY);
  const bind = async (user: UserDoc, ref: ImportedIdentityRef) => {
    try {
      if ((await bindOrLeave(ctx, user, ref, mark)) === 'left') pending.add(user._id);
    } catch (error) {
      lost.push(error);
    }
    await pace();
  };
  await Promise.all(done.map(({ user, ref }) => limit(() => bind(user, ref))));
  if (lost.length > 0) throw lost[0];
  return pending;
}

async function bindOrLeave(ctx: Context, user: UserDoc, ref: ImportedIdentityRef, mark: string): Promise<'bound' | 'left'> {
  try {
    await bindRoles(ctx, user, ref);
    return 'bound';
  } catch (error) {
    ctx.deps.logger.warn({ err: error, userId: user._id, requestId: ctx.requestId }, 'the roles of an activated user could not be granted');
  }
  // The profile read before the link: its identity is the one just linked.
  const followed = await followRoles(ctx, { ...user, authUserId: ref.id }, mark).catch(async (error: unknown) => {
    // This completion's own intent from an earlier try, whose repair still fails: still the reconciler's.
    if (!intentUnrecorded(error) && (await syncHeldWith(ctx, user._id, mark))) return 'left' as const;
    throw error;
  });
  if (followed === 'followed') return 'bound';
  if (followed === 'left' || (await syncHeldWith(ctx, user._id, mark))) return 'left';
  throw new Error(`user ${user._id} was being changed while its roles were granted`);
}

/**
 * The rows the import job refused, by user. In a chunk started `again`, a user refused because its
 * identity exists under the id it was sent with got it from the earlier start's import job (whose
 * answer was lost, or not saved before the process died): no one else makes an identity under a
 * profile's id, so it is linked as imported. Refused, the user stayed unlinked, and every later
 * activation without upsert, or registration, clashed with that identity.
 */
async function refusedRows(ctx: Context, current: RunningChunk, users: Map<string, UserDoc>) {
  const rows = new Map<string, ActivationFailure['errors']>();
  for (const error of await ctx.deps.identityImports.importErrors(current.importJobId)) {
    const userId = importedUserId(error.user, current.sent, users);
    if (userId) rows.set(userId, error.errors);
  }
  if (!current.again || rows.size === 0) return rows;
  const ids = [...rows.keys()];
  const refs = await ctx.deps.identityImports.findImported(ids.map((userId) => ({ userId })));
  refs.forEach((ref, index) => ref?.created && rows.delete(ids[index]!));
  return rows;
}

/**
 * The user's roles for its identity. A grant adds a binding each time, and an identity linked
 * before this completion (by an earlier run of it that failed or stopped before its save, or by
 * another job over the same users) has the roles that run read bound already, which a PATCH may
 * have changed since (the held user of `checkGrants` is tried again for that): its bindings are
 * replaced (revoke, then grant), whether the import made it or matched it by e-mail, as every
 * write of a linked profile's roles does. One linked now is only granted: matched by e-mail, it
 * existed before, and keeps what it had.
 */
async function bindRoles(ctx: Context, user: UserDoc, ref: ImportedIdentityRef): Promise<void> {
  if (user.authUserId === ref.id) await replaceRoles(ctx, ref.id, user.roles);
  else if (user.roles?.length) await grantRoles(ctx, ref.id, user.roles);
}

/**
 * How many of the activated users got an identity this chunk's import job created. An identity
 * under the user's id (`created`) may have been created by another job over the same users (a
 * second replica), this job's import then updated it: the import job's own count of inserted users
 * bounds it. Users refused after the import (a profile deleted meanwhile) are in neither count.
 * A chunk started `again` made its identities with its first start, whose import job is not the
 * one read here (that one updated or refused them): bounded by it, they counted as updated.
 */
function insertedByThisJob(done: { ref: ImportedIdentityRef }[], importJob: IdentityImportJob, again: boolean): number {
  const created = done.filter(({ ref }) => ref.created).length;
  if (again) return created;
  return importJob.summary ? Math.min(created, importJob.summary.inserted) : created;
}

/**
 * Stores each identity's id on its profile, in one store call; answers the ones whose profile was
 * deleted meanwhile.
 */
async function linkIdentities(ctx: Context, linked: { user: UserDoc; ref: ImportedIdentityRef }[]): Promise<Set<string>> {
  const pending = linked.filter(({ user, ref }) => user.authUserId !== ref.id);
  if (pending.length === 0) return new Set();
  const updates = pending.map(({ user, ref }) => ({ id: user._id, update: { $set: { authUserId: ref.id } } }));
  const modified = await ctx.deps.users.patchMany(updates, { states: ALL_STATES }, ctx.scope);
  if (modified === updates.length) return new Set();
  const after = await findUsersByIds(
    ctx,
    updates.map((update) => update.id),
    ALL_STATES,
  );
  return new Set(pending.filter(({ user, ref }) => after.get(user._id)?.authUserId !== ref.id).map(({ user }) => user._id));
}

/**
 * Sorts a chunk's users: those that cannot be activated are refused, those with an identity are
 * updated (when upserting) or refused, the rest are to be imported.
 */
async function prepareChunk(
  ctx: Context,
  chunk: string[],
  { upsert, again, mark }: { upsert: boolean; again: boolean; mark: string },
): Promise<{ outcome: Outcome; toImport: UserDoc[] }> {
  const outcome: Outcome = { summary: emptySummary(0), failures: [] };
  const refuse = refuser(outcome);
  const users = await findUsersByIds(ctx, chunk);
  await pace();
  const groups = new Map<string, Promise<GroupConfig | undefined>>();
  const groupOf = (name: string) => groups.get(name) ?? groups.set(name, ctx.deps.groups.getGroup(name)).get(name)!;
  const toImport: UserDoc[] = [];
  const existing: UserDoc[] = [];
  for (const id of chunk) {
    const user = users.get(id);
    const group = user && (await groupOf(user.userGroup));
    if (!user) refuse(id, [{ code: 'USER_NOT_FOUND', message: `user ${shownId(id)} not found` }]);
    else if (!group) refuse(id, [{ code: 'GROUP_NOT_FOUND', message: `userGroup "${shownId(user.userGroup)}" does not exist` }]);
    else if (group.authUserCreationDisabled) {
      refuse(id, [{ code: 'AUTH_USER_CREATION_DISABLED', message: `user group "${group.userGroup}" has authUserCreationDisabled` }]);
    } else if (typeof user.email !== 'string' || user.email === '')
      refuse(id, [{ code: 'OBJECT_REQUIRED', message: 'Missing required property: email' }]);
    else if (!user.authUserId) toImport.push(user);
    else if (!upsert) refuse(id, [{ code: 'CONFLICT', message: `user ${id} already has the identity ${user.authUserId}` }]);
    else existing.push(user);
  }
  const limit = pLimit(CHUNK_CONCURRENCY);
  await Promise.all(existing.map((user) => limit(() => updateIdentity(ctx, user, outcome, { again, mark }).then(pace))));
  await pace();
  return { outcome, toImport };
}

/**
 * An upsert of a user that already has an identity: its e-mail, username and blocked state follow
 * its profile, under the user's lock (`user-sync`), read again once the lock is held: a PATCH or a
 * state change landing between this job's read and its update would otherwise be undone on the
 * identity side only. A user another request is changing is refused (`USER_BUSY`); one whose
 * intent this chunk's earlier attempt left to the reconciler (its `mark`) is counted as updated.
 */
async function updateIdentity(ctx: Context, user: UserDoc, outcome: Outcome, tried: { again: boolean; mark: string }): Promise<void> {
  const followed = await syncNow(ctx, user, tried.mark).catch(async (error: unknown) => {
    if (!(error instanceof ConflictError)) throw error;
    // The lock is this chunk's own earlier attempt's, which failed and left it to the reconciler:
    // that makes the identity follow the profile, as this update would.
    if (tried.again && (await syncHeldWith(ctx, user._id, tried.mark))) return 'followed' as const;
    return { code: error.code, message: error.message };
  });
  if (followed === 'followed') outcome.summary.updated += 1;
  else refuser(outcome)(user._id, [typeof followed === 'string' ? notFollowed(user, followed) : followed]);
}

function notFollowed(user: UserDoc, followed: SyncOutcome): { code: string; message: string } {
  if (followed === 'identity missing') return { code: 'IDENTITY_NOT_FOUND', message: `identity ${shownId(user.authUserId)} not found` };
  if (followed === 'conflict') return { code: 'CONFLICT', message: `identity ${user.authUserId} cannot take the profile's values` };
  return { code: 'USER_NOT_FOUND', message: `user ${user._id} was deleted` };
}

/** The profile `_id` goes as the import's user id, so the identity can be found and linked after. */
function toImported(user: UserDoc): ImportedIdentity {
  return { email: user.email!, username: user.username, userId: user._id, blocked: identityBlocked(user) };
}

/** Which sent user a refused row is: by the user id it was sent with, else by e-mail. */
function importedUserId(row: Record<string, unknown>, sent: string[], users: Map<string, UserDoc>): string | undefined {
  // Rows come back as sent; some providers may show the id they gave (`auth0|<id>`).
  const id = String(row.user_id ?? row.userId ?? '').replace(/^[^|]*\|/, '');
  if (sent.includes(id)) return id;
  const email = typeof row.email === 'string' ? row.email.toLowerCase() : undefined;
  return sent.find((candidate) => email !== undefined && users.get(candidate)?.email?.toLowerCase() === email);
}

function refuser(outcome: Outcome) {
  return (userId: string, errors: ActivationFailure['errors']) => {
    outcome.summary.failed += 1;
    outcome.failures.push({ userId, errors: errors.map(({ code, message }) => ({ code, message })) });
  };
}
