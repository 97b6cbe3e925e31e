/**
 * The row-by-row work of an Auth0 users-imports job (spec/auth0.md "Import jobs"), shared by the
 * Auth0 and auth0-client emulators: bad rows do not fail the job, each is reported with Auth0's
 * codes; a row matching an existing user fails unless the job upserts. Test code only.
 */
import { randomBytes } from 'node:crypto';

export interface ImportError {
  user: Record<string, unknown>;
  errors: { code: string; message: string; path?: string }[];
}

/** A valid row, with the id Auth0 gives it (`auth0|` + its user_id). */
export type ImportRow = Record<string, unknown> & { email: string; username?: string; userId?: string };

export interface ImportTarget<U> {
  find(row: ImportRow): U | undefined;
  update(existing: U, row: ImportRow): void;
  insert(row: ImportRow): void;
}

const IMPORT_FIELDS = new Set([
  'email',
  'email_verified',
  'user_id',
  'username',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'blocked',
  'app_metadata',
  'user_metadata',
]);

export function processImport<U>(rows: unknown[], upsert: boolean, target: ImportTarget<U>) {
  const summary = { failed: 0, updated: 0, inserted: 0, total: rows.length };
  const errors: ImportError[] = [];
  const seen = { email: new Set<string>(), username: new Set<string>(), user_id: new Set<string>() };
  for (const value of rows) {
    const user = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const refuse = (code: string, message: string, path?: string) => {
      summary.failed += 1;
      errors.push({ user, errors: [{ code, message, ...(path && { path }) }] });
    };
    const unknown = Object.keys(user).find((key) => !IMPORT_FIELDS.has(key));
    if (unknown) {
      refuse('INVALID_TYPE', `Additional properties not allowed: ${unknown}`, unknown);
      continue;
    }
    const email = user.email;
    if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email)) {
      refuse(email === undefined ? 'ANY_OF_MISSING' : 'FORMAT', 'Missing or invalid property: email', 'email');
      continue;
    }
    const keys = ['email', 'username', 'user_id'] as const;
    const duplicate = keys.find((key) => typeof user[key] === 'string' && seen[key].has(String(user[key]).toLowerCase()));
    if (duplicate) {
      refuse('DUPLICATED_USER', `A user with this ${duplicate} was already provided.`);
      continue;
    }
    for (const key of keys) if (typeof user[key] === 'string') seen[key].add(String(user[key]).toLowerCase());
    const row: ImportRow = {
      ...user,
      email,
      username: typeof user.username === 'string' ? user.username : undefined,
      userId: typeof user.user_id === 'string' ? `auth0|${user.user_id}` : undefined,
    };
    const existing = target.find(row);
    if (existing && !upsert) {
      refuse('CONFLICT', 'The user already exists.');
      continue;
    }
    if (existing) {
      target.update(existing, row);
      summary.updated += 1;
    } else {
      target.insert(row);
      summary.inserted += 1;
    }
  }
  return { summary, errors };
}

/** An import job as Auth0 reports it, with the rows it refused. */
export interface EmulatedJob {
  id: string;
  type: 'users_import';
  status: 'pending' | 'processing' | 'completed' | 'failed';
  connection_id: string;
  connection: string;
  created_at: string;
  upsert: boolean;
  send_completion_email: boolean;
  external_id?: string;
  summary?: { failed: number; updated: number; inserted: number; total: number };
  errors: ImportError[];
}

type Reply = [number, unknown];

/** The jobs of one tenant: at most 2 active, each pending then processing for `stepMs` before it runs. */
export class ImportJobs {
  readonly jobs = new Map<string, EmulatedJob>();

  constructor(private readonly stepMs: number) {}

  start(fields: Omit<EmulatedJob, 'id' | 'type' | 'status' | 'created_at' | 'errors'>, run: (job: EmulatedJob) => void): Reply {
    const active = [...this.jobs.values()].filter((job) => job.status === 'pending' || job.status === 'processing').length;
    if (active >= 2) {
      const message = `There are ${active} active import users jobs, please wait until some of them are finished and try again`;
      return [429, { statusCode: 429, error: 'Too Many Requests', message }];
    }
    const job: EmulatedJob = {
      id: `job_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16)}`,
      type: 'users_import',
      status: 'pending',
      created_at: new Date().toISOString(),
      ...fields,
      errors: [],
    };
    this.jobs.set(job.id, job);
    setTimeout(() => {
      job.status = 'processing';
      setTimeout(() => run(job), this.stepMs);
    }, this.stepMs);
    return [202, visible(job)];
  }

  /** `GET /jobs/{id}`, or with `errors` `GET /jobs/{id}/errors` (204 when there are none). */
  answer(id: string, errors: boolean): Reply {
    const job = this.jobs.get(id);
    if (!job) return [404, { statusCode: 404, error: 'Not Found', message: 'The job does not exist.', errorCode: 'inexistent_job' }];
    if (errors) return job.errors.length === 0 ? [204, undefined] : [200, job.errors];
    return [200, visible(job)];
  }
}

function visible(job: EmulatedJob) {
  const { errors: _errors, ...rest } = job;
  return rest;
}
