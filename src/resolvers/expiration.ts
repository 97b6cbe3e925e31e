import { hash, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ExpirationPayload } from '../ports/expiration-scheduler.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { ALL_STATES } from '../crud/states.js';
import type { JobHandler } from '../infra/job-worker.js';
import { TIMER_SECRET_HEADER } from '../domain/expiration.js';
import { InvalidInputError, UnauthorizedError, userBusy } from '../errors.js';
import { getCaller } from './access.js';
import { endIntent, intentUnrecorded, recordIntent } from './intent-jobs.js';
import { compensate, setBlocked } from './saga-steps.js';
import { revokeAccess } from './revocation.js';
import { closeSync, noteScheduled, openSync, runSynced, type SyncHandle } from './user-sync.js';
import { followLinked } from './linked-follow.js';
import { storedUser } from './stored-user.js';

/** Schedules the blocking of a user with an expirationDate; undefined when it has none. */
export async function scheduleExpiration(ctx: Context, user: Pick<UserDoc, '_id' | 'expirationDate'>): Promise<string | undefined> {
  if (!user.expirationDate) return undefined;
  return ctx.deps.scheduler.schedule({ userId: user._id, expirationDate: user.expirationDate }, forwardedToTimer(ctx));
}

/** Cancels a schedule; as documented, a scheduler error is logged and ignored. */
export async function abortExpiration(ctx: Context, expirationId: string | undefined): Promise<void> {
  if (!expirationId) return;
  await compensate(ctx, `abort expiration ${expirationId}`, () => ctx.deps.scheduler.abort(expirationId));
}

/** How early a schedule may fire and still block: clocks of two services never agree exactly. */
const EARLY_TOLERANCE_MS = 1000;

/**
 * What happens at expiry: `blocked: true` is stored and the user is blocked in the identity
 * provider. Idempotent, and a schedule for a date the user no longer has (rescheduled) does nothing.
 * One that fires early (the scheduler's clock ahead of ours) is scheduled again for the time left.
 *
 * Under the user's lock (`user-sync`), as every write of both sides: a `PATCH` moving the date into
 * the future (and unblocking) that landed between the read and the block left a user with a future
 * date, blocked for good. The profile is read again once the lock is held and acted on. A user that
 * another write holds is the 409 `USER_BUSY`, not a silent success: the Timer Service's callback
 * leaves its intent to the reconciler, which runs the expiry again; the embedded scheduler fires
 * the schedule again once its claim lapses. Either finds the date as that write left it.
 */
export async function expireUser(ctx: Context, payload: ExpirationPayload, held: () => void = () => {}): Promise<void> {
  const found = await storedUser(ctx, payload.userId);
  if (!found || !sameInstant(found.expirationDate, payload.expirationDate)) return;
  held();
  let sync: SyncHandle;
  try {
    sync = await openSync(ctx, found);
  } catch (error) {
    if (!intentUnrecorded(error)) throw error;
    // The job store down: the expiry runs unguarded rather than not at all (the Timer calls once).
    ctx.deps.logger.error({ err: error, userId: found._id, requestId: ctx.requestId }, 'an expiry runs without the lock of its user');
    return expireFound(ctx, found, held);
  }
  const user = await expiringUnderLock(ctx, found, payload, sync);
  if (!user) return;
  // Its lease checked before each step, and the caller's (a reconciler's run) too. On a failure the
  // profile is the truth: the identity (and a schedule made) follows it as stored.
  await runSynced(ctx, sync, (stillHeld) =>
    expireFound(
      ctx,
      user,
      () => {
        held();
        stillHeld();
      },
      sync,
    ),
  );
  if (!user.authUserId) await followLinkedMeanwhile(ctx, user);
}

/**
 * A registration or a bulk activation links the identity it made without the user's lock, then
 * makes it follow the profile, unless another write holds the user: an expiry that read the profile
 * without identity held it, blocked the profile only, and the identity made meanwhile stayed
 * unblocked for good. Read again once the lock is let go: linked by then, the identity follows the
 * profile under the lock (a link after this read finds the lock free and follows by itself), as a
 * state change of a user without identity does (`followIfLinked`, sagas.ts). A failure fails the
 * expiry, which is run again (the reconciler, the embedded scheduler) and blocks the identity.
 */
async function followLinkedMeanwhile(ctx: Context, user: UserDoc): Promise<void> {
  const now = await storedUser(ctx, user._id);
  if (now?.authUserId) await followLinked(ctx, now, { roles: false });
}

/**
 * The profile as stored once the lock is held. Another date by now: nothing to do (the write that
 * changed it scheduled it). Linked or unlinked meanwhile (a bulk activation): the intent names
 * another identity, so this is the 409 `USER_BUSY`, tried again later, as a racing write's.
 */
async function expiringUnderLock(ctx: Context, found: UserDoc, payload: ExpirationPayload, sync: SyncHandle): Promise<UserDoc | undefined> {
  let user: UserDoc | undefined;
  try {
    user = await storedUser(ctx, found._id);
  } catch (error) {
    await closeSync(ctx, sync, true);
    throw error;
  }
  if (user && sameInstant(user.expirationDate, payload.expirationDate) && user.authUserId === found.authUserId) return user;
  await closeSync(ctx, sync, true);
  if (!user || !sameInstant(user.expirationDate, payload.expirationDate)) return undefined;
  throw userBusy(found._id);
}

/**
 * The profile first, then the identity: a process dying between them leaves a blocked profile,
 * which the lock's intent makes the identity follow (the other order left its repair unblocking it).
 */
async function expireFound(ctx: Context, user: UserDoc, held: () => void, sync?: SyncHandle): Promise<void> {
  held();
  if (Date.parse(user.expirationDate as string) > ctx.deps.clock.now() + EARLY_TOLERANCE_MS) return rescheduleEarly(ctx, user, sync);
  if (user.blocked !== true) await ctx.deps.users.patch(user._id, { $set: { blocked: true } }, { states: ALL_STATES }, ctx.scope);
  held();
  if (user.authUserId) await setBlocked(ctx, user.authUserId, true);
  held();
  await revokeAccess(ctx, user.authUserId);
}

/**
 * Whether the user still has the date the schedule was made for, as instants: a CRUD collection
 * keeps `expirationDate` as a Date and answers it as `toISOString()` (`…T10:00:00.000Z`), whatever
 * spelling the client wrote (`…T10:00:00Z`, `…T12:00:00+02:00`) and the schedule carries.
 */
function sameInstant(stored: unknown, scheduled: string): boolean {
  return typeof stored === 'string' && Date.parse(stored) === Date.parse(scheduled);
}

/**
 * A new schedule for the same date, kept on the user so that a later change of date aborts it. The
 * one that fired is spent: nothing to abort. A scheduler error fails the callback, which the Timer
 * Service then records as failed (the user is not left without a schedule unseen). Saved in the
 * lock's intent before the user points to it: a failure there has it aborted unless it is pointed to.
 */
async function rescheduleEarly(ctx: Context, user: Pick<UserDoc, '_id' | 'expirationDate'>, sync?: SyncHandle): Promise<void> {
  const expirationId = await scheduleExpiration(ctx, user);
  if (sync) await noteScheduled(ctx, sync, expirationId);
  if (expirationId) await ctx.deps.users.patch(user._id, { $set: { expirationId } }, { states: ALL_STATES }, ctx.scope);
}

/**
 * The callback's callers: the Timer Service (the secret it was given with the schedule) or an
 * administrator. The REST router checks it before the body is read (access `timer`).
 */
export async function requireTimerOrAdmin(ctx: Context): Promise<void> {
  if (hasTimerSecret(ctx)) return;
  const caller = await getCaller(ctx);
  if (!caller.admin) throw new UnauthorizedError('Only the Timer Service may call this route');
}

/** `POST /internal/expirations`: the Timer Service calling back, with the secret it was given. */
export async function expirationCallback(ctx: Context, body: unknown): Promise<void> {
  await requireTimerOrAdmin(ctx);
  const payload = body as Partial<ExpirationPayload> | undefined;
  if (typeof payload?.userId !== 'string' || typeof payload.expirationDate !== 'string') {
    throw new InvalidInputError('body must be {userId, expirationDate}');
  }
  await expireGuarded(ctx, { userId: payload.userId, expirationDate: payload.expirationDate });
}

/** The job type of an expiry the Timer Service called back for; the reconciler below finishes the ones left open. */
export const USER_EXPIRE = 'user-expire';

const ExpireIntent = z.object({ userId: z.string().min(1), expirationDate: z.string().min(1) });

/**
 * The Timer Service calls back once: an intent recorded first lets the reconciler run the expiry
 * again (it is idempotent) when this process dies or an upstream fails before the user is blocked
 * on both sides. (The embedded scheduler fires a schedule again by itself.)
 */
async function expireGuarded(ctx: Context, payload: ExpirationPayload): Promise<void> {
  const jobId = `${USER_EXPIRE}:${payload.userId}:${randomUUID()}`;
  try {
    await recordIntent(ctx, { type: USER_EXPIRE, jobId, payload });
  } catch (error) {
    // The Timer Service will not call again: with the job store down, the expiry runs unguarded
    // rather than not at all (only a kill during it would then be lost).
    ctx.deps.logger.error({ err: error, userId: payload.userId, requestId: ctx.requestId }, 'an expiry intent could not be recorded');
    return expireUser(ctx, payload);
  }
  let done = false;
  try {
    await expireUser(ctx, payload);
    done = true;
  } finally {
    // Done: the intent goes; failed: its lease is given up, so the reconciler tries again at once.
    await endIntent(ctx, jobId, done);
  }
}

/** The reconciler of expiries: runs an open one again until the user is blocked on both sides. */
export const userExpireRepair: JobHandler = {
  type: USER_EXPIRE,
  retryForever: true,
  discardWhenDone: true,
  async run(ctx, job, run) {
    // Its lease checked before each step (`JobRun.assertHeld`): one whose renewals failed for a lease
    // would block a user whose date a write changed after its read.
    await expireUser(ctx, ExpireIntent.parse(job.payload), () => run.assertHeld());
    return { status: 'completed', result: {} };
  },
};

function hasTimerSecret(ctx: Context): boolean {
  const sent = ctx.headers[TIMER_SECRET_HEADER];
  if (typeof sent !== 'string') return false;
  const digest = (value: string) => hash('sha256', value, 'buffer');
  return timingSafeEqual(digest(sent), digest(ctx.deps.timerSecret));
}

/** The incoming headers named in TIMER_SERVICE_HEADERS, sent back by the Timer Service. */
function forwardedToTimer(ctx: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ctx.deps.config.TIMER_SERVICE_HEADERS) {
    const value = ctx.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}
