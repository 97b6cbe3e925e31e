import { InvalidInputError, NotFoundError, TooManyRequestsError } from '../errors.js';
import { type ActivationFailure, bulkActivationJob, startBulkActivation } from '../resolvers/activation.js';
import type { JobAnswer } from '../resolvers/job-status.js';
import { bulkPasswordChangeJob, startBulkPasswordChange } from '../resolvers/passwords.js';
import { builder } from './builder.js';
import { MUTATION_ERRORS } from './errors.js';

export const JobStatusEnum = builder.enumType('JobStatus', {
  description: 'Where a bulk job is.',
  values: {
    pending: { value: 'pending', description: 'Waiting or running: poll again.' },
    completed: { value: 'completed', description: 'Done: the counts and failures are final.' },
    failed: { value: 'failed', description: 'Given up after repeated upstream failures (a bulk activation only).' },
  } as const,
});

type Counts = Record<string, number>;
const count = (name: string) => (job: JobAnswer) => (job.summary as Counts | undefined)?.[name] ?? null;

const ImportErrorRef = builder.objectRef<ActivationFailure['errors'][number]>('ActivationError').implement({
  description: 'Why the identity of a user could not be created or updated.',
  fields: (t) => ({
    code: t.exposeString('code', { description: "The identity provider's code, e.g. NON_UNIQUE_PROPERTY_VALUE." }),
    message: t.exposeString('message', { description: 'What went wrong.' }),
  }),
});

const ActivationFailureRef = builder.objectRef<ActivationFailure>('ActivationFailure').implement({
  description: 'A user the bulk activation could not give an identity.',
  fields: (t) => ({
    userId: t.exposeID('userId', { description: 'The profile (`_id`).' }),
    errors: t.field({ type: [ImportErrorRef], description: "The identity provider's reasons.", resolve: (failure) => failure.errors }),
  }),
});

const BulkJobRef = builder.interfaceRef<JobAnswer>('BulkJob').implement({
  description: 'A persisted bulk job, as its GET /jobs/…/:id path shows it.',
  fields: (t) => ({
    jobId: t.id({ description: 'Poll the job with this id.', resolve: (job) => job.jobId }),
    status: t.field({ type: JobStatusEnum, description: 'Where the job is.', resolve: (job) => job.status }),
    jobCreatedAt: t.field({ type: 'DateTime', description: 'When the job was started.', resolve: (job) => new Date(job.jobCreatedAt) }),
    failed: t.int({ nullable: true, description: 'Once completed: the users that failed.', resolve: count('failed') }),
    total: t.int({ nullable: true, description: 'Once completed: the users of the job.', resolve: count('total') }),
  }),
});

const BulkActivationJobRef = builder.objectRef<JobAnswer>('BulkActivationJob').implement({
  description: 'A bulk activation: pending until every user is done; the counts and failures once completed.',
  interfaces: [BulkJobRef],
  fields: (t) => ({
    inserted: t.int({ nullable: true, description: 'Once completed: the identities created.', resolve: count('inserted') }),
    updated: t.int({
      nullable: true,
      description: 'Once completed: the identities that existed and were updated.',
      resolve: count('updated'),
    }),
    failures: t.field({
      type: [ActivationFailureRef],
      nullable: true,
      description: 'Once completed: the users that got no identity, and why.',
      resolve: (job) => listOf(job, 'failures') as ActivationFailure[] | null,
    }),
  }),
});

const PasswordFailureRef = builder.objectRef<{ authUserId: string; error: string }>('PasswordChangeFailure').implement({
  description: 'A user whose change-password e-mail could not be requested.',
  fields: (t) => ({
    authUserId: t.exposeString('authUserId', { description: 'The id of the identity.' }),
    error: t.exposeString('error', { description: 'Why the request failed.' }),
  }),
});

const PasswordChangeJobRef = builder.objectRef<JobAnswer>('PasswordChangeJob').implement({
  description: 'A bulk change-password: pending until every e-mail was requested; never failed.',
  interfaces: [BulkJobRef],
  fields: (t) => ({
    completedCount: t.int({ nullable: true, description: 'Once completed: the e-mails requested.', resolve: count('completed') }),
    completed: t.stringList({
      nullable: true,
      description: 'The identity users whose e-mail was requested.',
      resolve: (job) => listOf(job, 'completed')?.map((entry) => (entry as { authUserId: string }).authUserId) ?? null,
    }),
    failures: t.field({
      type: [PasswordFailureRef],
      nullable: true,
      description: 'Once completed: the users whose e-mail could not be requested.',
      resolve: (job) => listOf(job, 'failures') as never,
    }),
  }),
});

builder.queryFields((t) => ({
  bulkActivationJob: t.field({
    type: BulkActivationJobRef,
    description: 'A bulk activation job (GET /jobs/bulk-activation/:id).',
    errors: { types: [NotFoundError] },
    args: { jobId: t.arg.id({ required: true, description: 'The jobId it was started with.' }) },
    resolve: (_root, args, ctx) => bulkActivationJob(ctx, String(args.jobId)),
  }),
  passwordChangeJob: t.field({
    type: PasswordChangeJobRef,
    description: 'A bulk change-password job (GET /jobs/change-password/bulk/:id).',
    errors: { types: [NotFoundError] },
    args: { jobId: t.arg.id({ required: true, description: 'The jobId it was started with.' }) },
    resolve: (_root, args, ctx) => bulkPasswordChangeJob(ctx, String(args.jobId)),
  }),
}));

builder.mutationFields((t) => ({
  startBulkActivation: t.field({
    type: BulkActivationJobRef,
    description: 'Gives identities to existing profiles (POST /jobs/bulk-activation); upsert false only creates.',
    // BULK_JOBS_MAX_PENDING jobs of this kind not finished yet: TooManyRequestsError (REST 429).
    errors: { types: [...MUTATION_ERRORS, TooManyRequestsError] },
    args: {
      userIds: t.arg.idList({ required: true, description: 'The profiles (`_id`) to give identities to.' }),
      upsert: t.arg.boolean({ required: false, defaultValue: true, description: 'False: only create identities, never update.' }),
    },
    resolve: (_root, args, ctx) => {
      const userIds = args.userIds.map(String);
      return startBulkActivation(ctx, { userIds: requireSome(userIds, 'userIds'), upsert: args.upsert ?? true });
    },
  }),
  startBulkPasswordChange: t.field({
    type: PasswordChangeJobRef,
    description: 'Sends a change-password e-mail to each identity user (POST /jobs/change-password/bulk).',
    errors: { types: [...MUTATION_ERRORS, TooManyRequestsError] },
    args: { authUserIds: t.arg.stringList({ required: true, description: 'The identities to e-mail.' }) },
    resolve: (_root, args, ctx) => startBulkPasswordChange(ctx, { authUserIds: requireSome(args.authUserIds, 'authUserIds') }),
  }),
}));

/** A list of a completed job's answer ([] when the REST answer leaves it out); null before completion. */
function listOf(job: JobAnswer, name: string): unknown[] | null {
  return job.status === 'completed' ? ((job[name] as unknown[] | undefined) ?? []) : null;
}

function requireSome(ids: string[], name: string): string[] {
  if (ids.length === 0 || ids.some((id) => id === '')) throw new InvalidInputError(`${name} must be a non-empty list of non-empty ids`);
  return ids;
}
