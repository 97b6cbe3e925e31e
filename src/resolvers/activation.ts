import pLimit from 'p-limit';
import { z } from 'zod';
import type { GroupConfig } from '../ports/config-store.js';
import type { IdentityImportJob, ImportedIdentity, ImportedIdentityRef } from '../ports/identity-importer.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import { distinct, pace } from '../domain/pace.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { requireAdmin } from './access.js';
import {
  type ActivationFailure,
  activationProgress,
  add,
  counters,
  emptySummary,
  type Outcome,
  type Progress,
  type RunningChunk,
} from './activation-progress.js';
import type { JobHandler } from '../infra/job-worker.js';
import { type JobAnswer, jobAnswer, startJob } from './job-status.js';
import { isObject, withPlainCheck } from './inputs.js';
import { grantRoles } from './roles.js';
import { identityBlocked } from './sagas.js';
import { findUsersByIds } from './users.js';

export const BULK_ACTIVATION = 'bulk-activation';
export type { ActivationFailure };

const Payload = withPlainCheck(
  z.object({ userIds: z.array(z.string()), upsert: z.boolean() }),
  (value) =>
    isObject(value) &&
    typeof value.upsert === 'boolean' &&
    Array.isArray(value.userIds) &&
    value.userIds.every((id) => typeof id === 'string'),
);

/** Import jobs a bulk activation keeps running at once: Auth0 runs at most 2 per tenant. */
const IMPORTS_AT_ONCE = 2;
const CONCURRENCY = 8;
/** Ids a bulk activation's request checks between two turns of the event loop. */
const CHECKED_AT_ONCE = 1000;
/** The first poll of an import job; the wait then doubles up to AUTH0_JOB_POLLING_INTERVAL. */
const FIRST_POLL_MS = 250;

/**
 * `POST /jobs/bulk-activation`: gives identities to existing profiles, through the identity
 * provider's import jobs. Every id must name a user (404 otherwise); the work is a persisted job.
 */
export async function startBulkActivation(ctx: Context, input: { userIds: string[]; upsert: boolean }): Promise<JobAnswer> {
  await requireAdmin(ctx);
  const userIds = await distinct(input.userIds);
  const max = ctx.deps.config.BULK_JOB_MAX_USERS;
  if (userIds.length > max) throw new InvalidInputError(`a bulk activation takes at most ${max} users, not ${userIds.length}`);
  const unknown: string[] = [];
  // In slices, with turns of the event loop between them: 100,000 ids take about a second to check.
  for (let start = 0; start < userIds.length; start += CHECKED_AT_ONCE) {
    const slice = userIds.slice(start, start + CHECKED_AT_ONCE);
    const found = await findUsersByIds(ctx, slice);
    unknown.push(...slice.filter((id) => !found.has(id)));
    await pace();
  }
  if (unknown.length > 0) {
    const more = unknown.length > 10 ? ` and ${unknown.length - 10} more` : '';
    throw new NotFoundError(`users not found: ${unknown.slice(0, 10).join(', ')}${more}`);
  }
  return startJob(ctx, BULK_ACTIVATION, { userIds, upsert: input.upsert });
}

/** `GET /jobs/bulk-activation/:id`. */
export function bulkActivationJob(ctx: Context, jobId: string): Promise<JobAnswer> {
  return jobAnswer(ctx, BULK_ACTIVATION, jobId, (job) => {
    const { summary, failures } = job.result as Outcome;
    return { summary, failures };
  });
}

/**
 * The job: chunks of the importer's job size, one import job each, two running at once. Progress is
 * saved when a chunk's import job starts and when a chunk is done, so a restart polls the same
 * import jobs again instead of starting new ones.
 */
export const activationJob: JobHandler<Progress> = {
  type: BULK_ACTIVATION,
  progress: activationProgress,
  async run(ctx, job, run) {
    const { userIds, upsert } = Payload.parse(job.payload);
    // The payload's 100,000 ids were just parsed: the loop gets its turn before the work starts.
    await pace();
    const size = ctx.deps.identityImports.maxUsersPerJob;
    let progress: Progress = run.progress ?? { next: 0, summary: emptySummary(userIds.length), failures: [] };
    const save = () => run.save(progress, counters(progress, userIds.length));
    // Saved once before the first chunk, so the job shows its total while it runs.
    if (!run.progress) await save();
    const done = async (outcome: Outcome, next: number, running: RunningChunk[]) => {
      const summary = { ...add(progress.summary, outcome.summary), total: userIds.length };
      progress = { ...progress, next, summary, failures: [...progress.failures, ...outcome.failures], running };
      await save();
    };
    const more = () => !progress.failedImport && progress.next < userIds.length;
    while (more() || progress.running?.length) {
      // Embedded adapters answer without I/O: without this the whole job would run in one turn of the loop.
      await pace();
      const running = progress.running ?? [];
      if (running.length < IMPORTS_AT_ONCE && more()) {
        const next = Math.min(userIds.length, progress.next + size);
        const started = await startChunk(ctx, userIds.slice(progress.next, next), upsert);
        if ('importJobId' in started) {
          progress = { ...progress, next, running: [...running, started] };
          await save();
        } else await done(started, next, running);
        continue;
      }
      const { chunk, job: importJob } = await firstFinished(ctx, running);
      const { status } = importJob;
      const others = running.filter((other) => other !== chunk);
      if (status === 'completed') await done(await completeChunk(ctx, chunk, importJob), progress.next, others);
      else {
        // The job will end failed, but the identities of the other running import job get linked first.
        progress = {
          ...progress,
          running: others,
          failedImport: `the identity provider's import job ${chunk.importJobId} ended ${status}`,
        };
        await save();
      }
    }
    if (progress.failedImport) return { status: 'failed', result: { error: progress.failedImport } };
    return { status: 'completed', result: { summary: progress.summary, failures: inPayloadOrder(progress.failures, userIds) } };
  },
};

/** The failures in the order of their users in the request (an index of 100,000 ids only when some failed). */
function inPayloadOrder(failures: ActivationFailure[], userIds: string[]): ActivationFailure[] {
  if (failures.length === 0) return failures;
  const order = new Map(userIds.map((id, index) => [id, index]));
  return failures.toSorted((a, b) => order.get(a.userId)! - order.get(b.userId)!);
}

/** Prepares a chunk and starts its import job; answers the chunk's outcome when nothing is left to import. */
async function startChunk(ctx: Context, chunk: string[], upsert: boolean): Promise<RunningChunk | Outcome> {
  const { outcome, toImport } = await prepareChunk(ctx, chunk, upsert);
  if (toImport.length === 0) return outcome;
  const started = await ctx.deps.identityImports.startImport(toImport.map(toImported), { upsert });
  return { importJobId: started.id, sent: toImport.map((user) => user._id), outcome };
}

/**
 * Polls the running import jobs until one ends: soon at first, then less often, up to
 * AUTH0_JOB_POLLING_INTERVAL.
 */
async function firstFinished(ctx: Context, running: RunningChunk[]): Promise<{ chunk: RunningChunk; job: IdentityImportJob }> {
  for (let wait = FIRST_POLL_MS; ; wait *= 2) {
    for (const chunk of running) {
      const job = await ctx.deps.identityImports.importJob(chunk.importJobId);
      if (job.status !== 'pending' && job.status !== 'processing') return { chunk, job };
    }
    const longest = ctx.deps.config.AUTH0_JOB_POLLING_INTERVAL(ctx.deps.clock.now());
    await ctx.deps.clock.sleep(Math.min(wait, longest));
  }
}

/** A chunk whose import job completed: its refused rows are failures, the others are linked to their identities. */
async function completeChunk(ctx: Context, current: RunningChunk, importJob: IdentityImportJob): Promise<Outcome> {
  const importer = ctx.deps.identityImports;
  const outcome: Outcome = { summary: { ...current.outcome.summary }, failures: [...current.outcome.failures] };
  const refuse = refuser(outcome);
  const users = await findUsersByIds(ctx, current.sent);
  await pace();
  for (const error of await importer.importErrors(current.importJobId)) {
    const userId = importedUserId(error.user, current.sent, users);
    if (userId) refuse(userId, error.errors);
  }
  const refused = new Set(outcome.failures.map((failure) => failure.userId));
  const imported = current.sent.filter((id) => !refused.has(id));
  const present = imported.flatMap((id) => users.get(id) ?? []);
  for (const id of imported) if (!users.has(id)) refuse(id, [{ code: 'USER_NOT_FOUND', message: `user ${id} was deleted` }]);
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
  const done = linked.filter(({ user }) => !lost.has(user._id));
  const limit = pLimit(CONCURRENCY);
  await Promise.all(done.map(({ user, ref }) => limit(() => grantRoles(ctx, ref.id, user.roles).then(pace))));
  const inserted = insertedByThisJob(done, importJob);
  outcome.summary.inserted += inserted;
  outcome.summary.updated += done.length - inserted;
  return outcome;
}

/**
 * How many of the activated users got an identity this chunk's import job created. An identity
 * under the user's id (`created`) may have been created by another job over the same users (a
 * second replica), this job's import then updated it: the import job's own count of inserted users
 * bounds it. Users refused after the import (a profile deleted meanwhile) are in neither count.
 */
function insertedByThisJob(done: { ref: ImportedIdentityRef }[], importJob: IdentityImportJob): number {
  const created = done.filter(({ ref }) => ref.created).length;
  return importJob.summary ? Math.min(created, importJob.summary.inserted) : created;
}

/**
 * Stores each identity's id on its profile, in one store call; answers the ones whose profile was
 * deleted meanwhile (their identity stays, unlinked, as after a failed creation).
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
async function prepareChunk(ctx: Context, chunk: string[], upsert: boolean): Promise<{ outcome: Outcome; toImport: UserDoc[] }> {
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
    if (!user) refuse(id, [{ code: 'USER_NOT_FOUND', message: `user ${id} not found` }]);
    else if (!group) refuse(id, [{ code: 'GROUP_NOT_FOUND', message: `userGroup "${user.userGroup}" does not exist` }]);
    else if (group.authUserCreationDisabled) {
      refuse(id, [{ code: 'AUTH_USER_CREATION_DISABLED', message: `user group "${group.userGroup}" has authUserCreationDisabled` }]);
    } else if (typeof user.email !== 'string' || user.email === '')
      refuse(id, [{ code: 'OBJECT_REQUIRED', message: 'Missing required property: email' }]);
    else if (!user.authUserId) toImport.push(user);
    else if (!upsert) refuse(id, [{ code: 'CONFLICT', message: `user ${id} already has the identity ${user.authUserId}` }]);
    else existing.push(user);
  }
  const limit = pLimit(CONCURRENCY);
  await Promise.all(existing.map((user) => limit(() => updateIdentity(ctx, user, outcome).then(pace))));
  await pace();
  return { outcome, toImport };
}

/** An upsert of a user that already has an identity: its e-mail, username and blocked state, as its profile says. */
async function updateIdentity(ctx: Context, user: UserDoc, outcome: Outcome): Promise<void> {
  try {
    await ctx.deps.identity.updateUser(user.authUserId!, { email: user.email, username: user.username, blocked: identityBlocked(user) });
    outcome.summary.updated += 1;
  } catch (error) {
    if (!(error instanceof NotFoundError || error instanceof ConflictError || error instanceof InvalidInputError)) throw error;
    const code = error instanceof NotFoundError ? 'IDENTITY_NOT_FOUND' : 'CONFLICT';
    refuser(outcome)(user._id, [{ code, message: error.message }]);
  }
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
