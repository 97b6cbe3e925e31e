import { z } from 'zod';
import { InvalidInputError, TooManyRequestsError } from '../errors.js';
import { JOB_KINDS, type JobKind, type JobView, listJobs, type JobPage } from '../resolvers/job-progress.js';
import { watchJob } from '../resolvers/job-watch.js';
import { builder } from './builder.js';
import { JobStatusEnum } from './jobs.js';

const JobKindEnum = builder.enumType('JobKind', { values: Object.keys(JOB_KINDS) as JobKind[] });

const JobProgressRef = builder.objectRef<JobView>('JobProgress').implement({
  description: 'A bulk job and how far it got: `pending` while queued or running, then `completed` or `failed`.',
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    kind: t.field({ type: JobKindEnum, resolve: (job) => job.kind }),
    status: t.field({ type: JobStatusEnum, resolve: (job) => job.status }),
    createdAt: t.field({ type: 'DateTime', resolve: (job) => job.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (job) => job.updatedAt }),
    total: t.int({ nullable: true, description: 'Users of the job, once its first step is saved.', resolve: (job) => job.total }),
    processed: t.int({ nullable: true, description: 'Users done so far, failed ones included.', resolve: (job) => job.processed }),
    failed: t.int({ nullable: true, description: 'Users done that failed.', resolve: (job) => job.failed }),
    error: t.string({ nullable: true, description: 'Why a failed job failed.', resolve: (job) => job.error }),
  }),
});

const JobPageRef = builder.objectRef<JobPage>('JobConnection').implement({
  fields: (t) => ({
    nodes: t.field({ type: [JobProgressRef], resolve: (page) => page.nodes }),
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.string({ nullable: true, description: 'Pass as `after` for the next page.', resolve: (page) => page.endCursor }),
  }),
});

builder.queryFields((t) => ({
  jobs: t.field({
    type: JobPageRef,
    description: 'Administrators: recent bulk jobs, newest first.',
    args: {
      kind: t.arg({ type: JobKindEnum, required: false }),
      status: t.arg({ type: JobStatusEnum, required: false }),
      first: t.arg.int({ required: false, defaultValue: 20, validate: z.number().int().min(1).max(100).nullish() }),
      after: t.arg.string({ required: false }),
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
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => {
      const id = String(args.id);
      if (id === '') throw new InvalidInputError('id must not be empty', [{ path: ['id'], message: 'must not be empty' }]);
      return watchJob(ctx, id);
    },
    resolve: (job) => job,
  }),
}));
