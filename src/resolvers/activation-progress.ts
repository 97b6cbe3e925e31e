import { z } from 'zod';
import type { JobCounters } from '../ports/job-store.js';
import { type ProgressFormat, unversionedIsVersion1 } from '../domain/job-progress.js';

/** What a bulk activation saves as it goes (activation.ts): parsed when read back, never cast. */

/** A user the activation could not give an identity, with Auth0's error codes or the service's own. */
export const ActivationFailure = z.object({ userId: z.string(), errors: z.array(z.object({ code: z.string(), message: z.string() })) });
export type ActivationFailure = z.infer<typeof ActivationFailure>;

const Count = z.number().int().nonnegative();
const Summary = z.object({ failed: Count, updated: Count, inserted: Count, total: Count });
export type Summary = z.infer<typeof Summary>;

const Outcome = z.object({ summary: Summary, failures: z.array(ActivationFailure) });
export type Outcome = z.infer<typeof Outcome>;

/**
 * A chunk whose import job runs: the job, the users sent to it, and what came of the chunk's
 * others. `again`: the chunk was started before, and that start's answer never saved (lost, or the
 * process died): its import job may have run too.
 */
const RunningChunk = z.object({ importJobId: z.string(), sent: z.array(z.string()), outcome: Outcome, again: z.boolean().optional() });
export type RunningChunk = z.infer<typeof RunningChunk>;

const Progress = Outcome.extend({
  /** Index in `userIds` of the first user not yet in a chunk. */
  next: Count,
  running: z.array(RunningChunk).optional(),
  /** Index of the chunk whose import job is being started, saved before the start (found on a resume: `again`). */
  starting: Count.optional(),
  /** Why an import job failed: no chunk starts after it, the running ones are still finished. */
  failedImport: z.string().optional(),
});
export type Progress = z.infer<typeof Progress>;

/** Version 1 is version 0 (saved before progress had versions) with a version beside it. */
export const activationProgress: ProgressFormat<Progress> = {
  version: 1,
  schema: Progress,
  migrate: unversionedIsVersion1,
};

/** What a pending job shows: users done (refused ones included) out of all. */
export function counters(progress: Progress, total: number): JobCounters {
  const { failed, updated, inserted } = progress.summary;
  return { total, processed: failed + updated + inserted, failed };
}

export function emptySummary(total: number): Summary {
  return { failed: 0, updated: 0, inserted: 0, total };
}

export function add(a: Summary, b: Summary): Summary {
  return { failed: a.failed + b.failed, updated: a.updated + b.updated, inserted: a.inserted + b.inserted, total: a.total + b.total };
}
