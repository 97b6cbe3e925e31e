import { z } from 'zod';

/**
 * How a type of job saves its progress. Progress outlives the release that wrote it (a job saved
 * before an upgrade is resumed after it, by whichever replica claims it first), so it is stored with
 * a version and parsed, never cast: a shape this release does not know fails the job clearly
 * instead of crashing it, or resuming it from a wrong place.
 */
export interface ProgressFormat<P> {
  /** Raised whenever the shape of the progress changes; saved beside it. */
  version: number;
  schema: z.ZodType<P>;
  /**
   * Progress saved by an older release, in this version's shape: `from` is its version, 0 for
   * progress saved before it had one. Throws (or answers something the schema refuses) when it cannot.
   */
  migrate(saved: unknown, from: number): unknown;
}

/** `migrate` of a format whose version 1 only added the version: progress saved before it is read as it is. */
export function unversionedIsVersion1(saved: unknown, from: number): unknown {
  if (from === 0) return saved;
  throw new Error(`no migration from version ${from}`);
}

/** Progress saved by a release this one cannot resume from: the job fails with this message, it is not retried. */
export class UnreadableProgressError extends Error {}

/** What the job store holds while a job runs: the version beside the handler's progress. */
const Saved = z.object({ version: z.number().int().nonnegative(), progress: z.unknown() });

export function saveProgress<P>(format: ProgressFormat<P>, progress: P): { version: number; progress: P } {
  return { version: format.version, progress };
}

/**
 * The progress a job's last run saved, in today's shape; undefined on a first run. Anything that
 * is not an envelope of `saveProgress` is taken for version 0 (saved before versions existed).
 */
export function readProgress<P>(format: ProgressFormat<P>, saved: unknown): P | undefined {
  if (saved === undefined || saved === null) return undefined;
  const envelope = Saved.safeParse(saved);
  const from = envelope.success ? envelope.data.version : 0;
  const stored = envelope.success ? envelope.data.progress : saved;
  if (from > format.version) {
    throw new UnreadableProgressError(
      `its progress was saved by a newer release (version ${from}; this release reads versions up to ${format.version})`,
    );
  }
  let current: unknown;
  try {
    current = from === format.version ? stored : format.migrate(stored, from);
  } catch (error) {
    throw new UnreadableProgressError(`its progress of version ${from} cannot be migrated: ${(error as Error).message}`);
  }
  const parsed = format.schema.safeParse(current);
  if (!parsed.success) {
    throw new UnreadableProgressError(`its progress of version ${from} cannot be read: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
