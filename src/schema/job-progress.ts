import { z } from 'zod';
import { InvalidInputError, TooManyRequestsError } from '../errors.js';
import { type JobKind, type JobView, listJobs, type JobPage } from '../resolvers/job-progress.js';
import { watchJob } from '../resolvers/job-watch.js';
import { builder } from './builder.js';
import { JobStatusEnum } from './jobs.js';

const JobKindEnum = builder.enumType('JobKind', {
  description: 'What a bulk job does.',
  values: {
    BULK_ACTIVATION: {
      value: 'BULK_ACTIVATION' as JobKind,
      description: 'Creates the identities of profiles that have none (`POST /jobs/bulk-activation`).',
    },
    BULK_PASSWORD_CHANGE: {
      value: 'BULK_PASSWORD_CHANGE' as JobKind,
      description: 'Sends password e-mails to many users (`POST /jobs/change-password/bulk`).',
    },
  } satisfies Record<JobKind, { value: JobKind; description: string }>,
});

const JobProgressRef = builder.objectRef<JobView>('JobProgress').implement({
  description: 'A bulk job and how far it got: `pending` while queued or running, then `completed` or `failed`.',
  fields: (t) => ({
    jobId: t.exposeID('jobId', { description: 'The id the job was started with (`jobId` of its REST answer).' }),
    kind: t.field({ type: JobKindEnum, description: 'What the job does.', resolve: (job) => job.kind }),
    status: t.field({ type: JobStatusEnum, description: 'Where the job is.', resolve: (job) => job.status }),
    createdAt: t.field({ type: 'DateTime', description: 'When the job was started.', resolve: (job) => job.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the job last saved a step.', resolve: (job) => job.updatedAt }),
    total: t.int({ nullable: true, description: 'Users of the job, once its first step is saved.', resolve: (job) => job.total }),
    processed: t.int({ nullable: true, description: 'Users done so far, failed ones included.', resolve: (job) => job.processed }),
    failed: t.int({ nullable: true, description: 'Users done that failed.', resolve: (job) => job.failed }),
    error: t.string({ nullable: true, description: 'Why a failed job failed.', resolve: (job) => job.error }),
  }),
});

const JobPageRef = builder.objectRef<JobPage>('JobConnection').implement({
  description: 'A page of jobs, newest first.',
  fields: (t) => ({
    nodes: t.field({ type: [JobProgressRef], description: 'The jobs of this page.', resolve: (page) => page.nodes }),
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'Whether older jobs follow.' }),
    endCursor: t.string({ nullable: true, description: 'Pass as `after` for the next page.', resolve: (page) => page.endCursor }),
  }),
});

builder.queryFields((t) => ({
  jobs: t.field({
    type: JobPageRef,
    description: 'Administrators: recent bulk jobs, newest first.',
    args: {
      kind: t.arg({ type: JobKindEnum, required: false, description: 'Only jobs of this kind.' }),
      status: t.arg({ type: JobStatusEnum, required: false, description: 'Only jobs in this status.' }),
      first: t.arg.int({
        required: false,
        description: 'Jobs per page, 1 to 100.',
        defaultValue: 20,
        validate: z.number().int().min(1).max(100).nullish(),
      }),
      after: t.arg.string({ required: false, description: 'The `endCursor` of the previous page.' }),
    },
    resolve: (_root, args, ctx) =>
      listJobs(ctx, {
        ...(args.kind && { kinds: [args.kind] }),
        ...(args.status && { status: args.status }),
        first: args.first ?? 20,
        after: args.after,
      }),
  }),
}));

builder.subscriptionFields((t) => ({
  jobProgress: t.field({
    type: JobProgressRef,
    description:
      'Administrators, over Server-Sent Events: the job at once, then after every saved step; completes when the job ends. ' +
      `At most JOB_PROGRESS_MAX_PER_CALLER open at a time (${TooManyRequestsError.name} beyond).`,
    args: { id: t.arg.id({ required: true, description: 'The job id.' }) },
    subscribe: (_root, args, ctx) => {
      const id = String(args.id);
      if (id === '') throw new InvalidInputError('id must not be empty', [{ path: ['id'], message: 'must not be empty' }]);
      return watchJob(ctx, id);
    },
    resolve: (job) => job,
  }),
}));
