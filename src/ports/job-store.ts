/** Persisted long-running jobs and operation intents (CRUD Service, or the embedded store). */

export type JobStatus = 'pending' | 'running' | 'completed' | 'failed';

/** How far a job got, counted by its handler and saved with each step: shown while it runs. */
export interface JobCounters {
  /** Items the job works on (users of a bulk job). */
  total: number;
  /** Items done so far, failed ones included. */
  processed: number;
  /** Items done that failed. */
  failed: number;
}

/** A long-running job (bulk activation, bulk password e-mails, large imports). */
export interface Job {
  jobId: string;
  type: string;
  status: JobStatus;
  payload: unknown;
  /** Progress so far, or the final result. */
  result?: unknown;
  /** The counters saved with the last step; absent for jobs that keep none (operation intents). */
  counters?: JobCounters;
  /** The replica working on it, and until when (ms since the epoch) its claim holds. */
  owner?: string;
  leaseUntil?: number;
  /**
   * The runs of the job so far that were not handed back (`handBack`): each claim counts one, kept
   * in the store, so a run whose process died is counted though nothing of that process is left.
   */
  attempts?: number;
  createdAt: string;
  updatedAt: string;
}

/** A job without its payload: what a status read needs, however big the payload. */
export type JobHead = Omit<Job, 'payload'>;

/** A job as a list shows it: its head with only the `summary` and `error` of its result (not its lists of failures). */
export interface JobListing extends Omit<JobHead, 'result'> {
  summary?: Record<string, unknown>;
  error?: string;
}

/** Which jobs a list shows, newest first; `before` is the last job of the previous page. */
export interface JobListQuery {
  types: readonly string[];
  statuses?: readonly JobStatus[];
  limit: number;
  before?: { createdAt: string; jobId: string };
}

/** Which finished jobs a retention sweep deletes: of these types, last changed before `before`, at most `limit`. */
export interface FinishedJobsQuery {
  types: readonly string[];
  /** An ISO time: jobs whose `updatedAt` (when they ended) is earlier go. */
  before: string;
  limit: number;
}

/**
 * The `leaseMs` of a lease given back (`heartbeat`): one that ended a millisecond ago, so the job is
 * claimable again at once. A lease ending now is still held for the rest of this millisecond (the
 * stores take one only once it has ended before now): a retry in the same millisecond (or at the same
 * instant of a test's clock) found an intent's user USER_BUSY, or a soft delete answered done with
 * the intent left. The job worker hands a job back with it, and an operation its intent.
 */
export const GIVEN_BACK_MS = -1;

/**
 * Persisted jobs that survive restarts and several replicas: a job is worked on only by the replica
 * holding its lease; a lease that is not renewed expires and another replica takes the job over.
 */
export interface JobStore {
  /**
   * A new job, pending; or, with an `owner`, already claimed by it for `leaseMs` (an operation's
   * intent, held while the request works on it). `jobId` names it when the caller needs to find it;
   * a ConflictError when a job of that id exists.
   */
  create(job: { type: string; payload: unknown; jobId?: string; owner?: string; leaseMs?: number }): Promise<Job>;
  /** The job with its payload (megabytes for 100,000 ids): for the worker that runs it. */
  get(jobId: string): Promise<Job | undefined>;
  /** The job without its payload, which is neither read nor parsed: for status reads. */
  head(jobId: string): Promise<JobHead | undefined>;
  /** Jobs of some types, newest first (keyset pages: created, then id), without payloads or result lists. */
  list(query: JobListQuery): Promise<JobListing[]>;
  /** Claims an unfinished job whose lease is free or expired; false when another replica holds it. */
  claim(jobId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Claims the oldest claimable job of a type, if any. */
  claimNext(type: string, owner: string, leaseMs: number): Promise<Job | undefined>;
  /**
   * Gives the lease back (claimable again at once, as `heartbeat` with GIVEN_BACK_MS) and takes back
   * the count of its claim (`attempts`): a run stopped by its replica's shutdown is no attempt.
   * False when the lease was lost.
   */
  handBack(jobId: string, owner: string): Promise<boolean>;
  /** Extends the lease and saves progress (and its counters, when given); false when the lease was lost. */
  heartbeat(jobId: string, owner: string, leaseMs: number, progress?: unknown, counters?: JobCounters): Promise<boolean>;
  /** Ends the job; false when the lease was lost (another replica took over). */
  finish(jobId: string, owner: string, outcome: { status: 'completed' | 'failed'; result?: unknown }): Promise<boolean>;
  /** Removes a job `owner` holds (an intent whose operation completed); false when the lease was lost. */
  discard(jobId: string, owner: string): Promise<boolean>;
  /**
   * Removes the job if it ended (completed or failed), whoever held it; false when it is absent or
   * unfinished (pending, running: held or claimable). One conditional delete: an intent of a fixed
   * id that ended (a user's lock left by another release) is no holder, and its id is free again.
   */
  deleteEnded(jobId: string): Promise<boolean>;
  /**
   * Deletes jobs of `types` that ended (completed or failed) before `before`, at most `limit` (the
   * CRUD store at most 200, its page); answers how many it deleted. A pending or running
   * job is never deleted, however old. Two replicas sweeping at once delete each job once.
   */
  deleteFinished(query: FinishedJobsQuery): Promise<number>;
}
