import type { Context } from '../context.js';
import { ConflictError, OperationError, userBusy } from '../errors.js';
import { endIntent, freeIfEnded, holdingIntent, recordIntent } from './intent-jobs.js';

/** The job type of user-creation intents; the reconciler (user-repair.ts) works on the ones left open. */
export const USER_CREATION = 'user-creation';

/**
 * What a creation set out to do, recorded before its first step. `undo` is set when the request
 * gave up (its caller got an error): the repair then removes what was made instead of finishing it.
 */
export interface CreationIntent {
  userId: string;
  /** `create`: profile and a new identity; `register`: a new identity for a profile; `link`: a profile for an existing identity. */
  kind: 'create' | 'register' | 'link';
  /** Whether the user gets an identity made for it (false for postponed and profile-only users). */
  identity: boolean;
  sendResetPwdEmail?: boolean;
}

/** How far the creation got, saved as it goes. */
export interface CreationProgress {
  /** The identity this creation made, once made (before the profile points to it). */
  authUserId?: string;
  /** The expiration schedule this creation made, once made (before the profile points to it). */
  expirationId?: string;
  undo?: boolean;
}

/** An open intent, held by this process while its request works. */
export interface IntentHandle {
  jobId: string;
  progress: CreationProgress;
}

export const intentId = (userId: string) => `${USER_CREATION}:${userId}`;

/**
 * Records the intent, claimed by this process: if the process dies before `closeIntent`, the
 * lease runs out (JOBS_LEASE_MS) and the reconciler finishes or undoes the creation.
 */
export async function openIntent(ctx: Context, intent: CreationIntent): Promise<IntentHandle> {
  const jobId = intentId(intent.userId);
  const record = () => recordIntent(ctx, { type: USER_CREATION, jobId, payload: intent });
  try {
    // Once more after an intent that ended was deleted (`freeIfEnded`): it held the user for nothing.
    await record().catch(async (error: unknown) => {
      if (error instanceof ConflictError && (await freeIfEnded(ctx, jobId))) return record();
      throw error;
    });
  } catch (error) {
    // Another request holds this user's intent (a register retried on another replica while the
    // first still works): the caller hears it in the service's words, not the job store's.
    if (error instanceof ConflictError) {
      throw userBusy(intent.userId);
    }
    throw error;
  }
  return { jobId, progress: {} };
}

/** Saves how far the creation got (and renews the lease) before the next step depends on it. */
export async function noteProgress(ctx: Context, handle: IntentHandle, progress: CreationProgress): Promise<void> {
  handle.progress = { ...handle.progress, ...progress };
  const { jobs, replicaId, config } = ctx.deps;
  // A lapsed lease means the reconciler may be working on this creation: this request stops here
  // (and undoes what it knows it made), rather than race it.
  if (!(await jobs.heartbeat(handle.jobId, replicaId, config.JOBS_LEASE_MS, handle.progress))) {
    throw new OperationError('creating user', new Error(`the intent ${handle.jobId} was taken over`));
  }
}

/** The creation is whole (or wholly undone): the intent goes. A failure here leaves a repair with nothing to do. */
export async function closeIntent(ctx: Context, handle: IntentHandle): Promise<void> {
  await endIntent(ctx, handle.jobId, true);
}

/**
 * The user is whole but a step after its identity failed (roles, the password e-mail): the error
 * reaches the caller, and the intent's lease is given up at once (not to undo), so the reconciler
 * gives them within a poll and the caller's retry finds the creation (200 with its user) instead
 * of meeting a 409 for as long as this request's lease (JOBS_LEASE_MS) would have held it.
 */
export async function release(ctx: Context, handle: IntentHandle): Promise<void> {
  await endIntent(ctx, handle.jobId, false, handle.progress);
}

/**
 * The request could not undo everything it made (an upstream is down): the intent is marked
 * `undo` and its lease given up, so the reconciler removes the rest as soon as it can.
 */
export async function handOver(ctx: Context, handle: IntentHandle): Promise<void> {
  handle.progress = { ...handle.progress, undo: true };
  await endIntent(ctx, handle.jobId, false, handle.progress);
}

/** How a step run under an intent ended: its value, or its error, for the caller to end the intent with. */
export type Held<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs a creation's steps while the intent's lease is renewed (every third of JOBS_LEASE_MS): a
 * live request whose step outlasts a lease (a cold first request on a loaded machine, a slow
 * identity provider, a REQUEST_TIMEOUT_MS above the lease) kept no claim, and the reconciler took
 * the creation over beside it (a second identity, the request's own refused: a 409 in the
 * provider's words, or a 500 at its next step). The failure is answered, not thrown: the caller
 * gives up, releases or closes the intent once the last renewal has landed, never before it.
 */
export async function heldWhile<T>(ctx: Context, handle: IntentHandle, steps: () => Promise<T>): Promise<Held<T>> {
  return holdingIntent(ctx, handle.jobId, async (): Promise<Held<T>> => {
    try {
      return { ok: true, value: await steps() };
    } catch (error) {
      return { ok: false, error };
    }
  });
}
