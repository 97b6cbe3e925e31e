import { InvalidInputError, NotFoundError } from '../errors.js';
import { type ActivationFailure, bulkActivationJob, startBulkActivation } from '../resolvers/activation.js';
import type { JobAnswer } from '../infra/job-worker.js';
import { bulkPasswordChangeJob, startBulkPasswordChange } from '../resolvers/passwords.js';
import { builder } from './builder.js';
import { MUTATION_ERRORS } from './errors.js';

const JobStatusEnum = builder.enumType('JobStatus', { values: ['pending', 'completed', 'failed'] as const });

type Counts = Record<string, number>;
const count = (name: string) => (job: JobAnswer) => (job.summary as Counts | undefined)?.[name] ?? null;

const ImportErrorRef = builder.objectRef<ActivationFailure['errors'][number]>('ActivationError').implement({
  fields: (t) => ({ code: t.exposeString('code'), message: t.exposeString('message') }),
});

const ActivationFailureRef = builder.objectRef<ActivationFailure>('ActivationFailure').implement({
  fields: (t) => ({
    userId: t.exposeID('userId', { description: 'The profile (`_id`).' }),
    errors: t.field({ type: [ImportErrorRef], resolve: (failure) => failure.errors }),
  }),
});

const BulkJobRef = builder.interfaceRef<JobAnswer>('BulkJob').implement({
  description: 'A persisted bulk job, as its GET /jobs/…/:id path shows it.',
  fields: (t) => ({
    jobId: t.id({ resolve: (job) => job.jobId }),
    status: t.field({ type: JobStatusEnum, resolve: (job) => job.status }),
    jobCreatedAt: t.field({ type: 'DateTime', resolve: (job) => new Date(job.jobCreatedAt) }),
    failed: t.int({ nullable: true, description: 'Once completed: the users that failed.', resolve: count('failed') }),
    total: t.int({ nullable: true, description: 'Once completed: the users of the job.', resolve: count('total') }),
  }),
});

const BulkActivationJobRef = builder.objectRef<JobAnswer>('BulkActivationJob').implement({
  description: 'A bulk activation: pending until every user is done; the counts and failures once completed.',
  interfaces: [BulkJobRef],
  fields: (t) => ({
    inserted: t.int({ nullable: true, resolve: count('inserted') }),
    updated: t.int({ nullable: true, resolve: count('updated') }),
    failures: t.field({
      type: [ActivationFailureRef],
      nullable: true,
      resolve: (job) => listOf(job, 'failures') as ActivationFailure[] | null,
    }),
  }),
});

const PasswordFailureRef = builder.objectRef<{ authUserId: string; error: string }>('PasswordChangeFailure').implement({
  fields: (t) => ({ authUserId: t.exposeString('authUserId'), error: t.exposeString('error') }),
});

const PasswordChangeJobRef = builder.objectRef<JobAnswer>('PasswordChangeJob').implement({
  description: 'A bulk change-password: pending until every e-mail was requested; never failed.',
  interfaces: [BulkJobRef],
  fields: (t) => ({
    completedCount: t.int({ nullable: true, resolve: count('completed') }),
    completed: t.stringList({
      nullable: true,
      description: 'The identity users whose e-mail was requested.',
      resolve: (job) => listOf(job, 'completed')?.map((entry) => (entry as { authUserId: string }).authUserId) ?? null,
    }),
    failures: t.field({ type: [PasswordFailureRef], nullable: true, resolve: (job) => listOf(job, 'failures') as never }),
  }),
});

builder.queryFields((t) => ({
  bulkActivationJob: t.field({
    type: BulkActivationJobRef,
    errors: { types: [NotFoundError] },
    args: { jobId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => bulkActivationJob(ctx, String(args.jobId)),
  }),
  passwordChangeJob: t.field({
    type: PasswordChangeJobRef,
    errors: { types: [NotFoundError] },
    args: { jobId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => bulkPasswordChangeJob(ctx, String(args.jobId)),
  }),
}));

builder.mutationFields((t) => ({
  startBulkActivation: t.field({
    type: BulkActivationJobRef,
    description: 'Gives identities to existing profiles (POST /jobs/bulk-activation); upsert false only creates.',
    errors: { types: MUTATION_ERRORS },
    args: { userIds: t.arg.idList({ required: true }), upsert: t.arg.boolean({ required: false, defaultValue: true }) },
    resolve: (_root, args, ctx) => {
      const userIds = args.userIds.map(String);
      return startBulkActivation(ctx, { userIds: requireSome(userIds, 'userIds'), upsert: args.upsert ?? true });
    },
  }),
  startBulkPasswordChange: t.field({
    type: PasswordChangeJobRef,
    description: 'Sends a change-password e-mail to each identity user (POST /jobs/change-password/bulk).',
    errors: { types: MUTATION_ERRORS },
    args: { authUserIds: t.arg.stringList({ required: true }) },
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
