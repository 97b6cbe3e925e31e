import type { Route } from './route.js';
import { bulkActivationJob, startBulkActivation } from '../resolvers/activation.js';
import { bulkPasswordChangeJob, startBulkPasswordChange } from '../resolvers/passwords.js';
import {
  BulkActivationBody,
  BulkActivationItems,
  BulkPasswordChangeBody,
  BulkPasswordChangeFields,
  parseInput,
  UpsertQuery,
} from '../resolvers/inputs.js';
import { ActivationJob, ErrorBody, JobStarted, PasswordChangeJob } from './openapi-schemas.js';
import { InvalidInputError, NotFoundError } from '../errors.js';

/** The usage page answers a bad bulk-activation request with 404 (sic), with the reason. */
function as404<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidInputError) throw new NotFoundError(error.message);
    throw error;
  }
}

const JOB_ID = { id: 'The `jobId` the job was started with.' };
const NO_JOB = 'No job of this kind with this id.';
/** BULK_JOBS_MAX_PENDING reached for the route's type: refused before anything is written. */
const TOO_MANY_JOBS = {
  description: 'BULK_JOBS_MAX_PENDING jobs of this kind are pending or running already (on any replica); nothing was written.',
  json: ErrorBody,
  headers: { 'Retry-After': 'Seconds to wait before trying again.' },
};

/** The bulk jobs: start one (202), then read its status until it is completed or failed. */
export const jobRoutes: Route[] = [
  {
    method: 'post',
    path: '/jobs/bulk-activation',
    status: 202,
    access: 'admin',
    // The lists of ids are longer than any other body; one that is not JSON is a 404 like the others (its size limit stays a 413).
    body: { limit: 'bulk' },
    onBodyError: (error) => new NotFoundError(`body: ${error.message}`),
    doc: {
      tag: 'Jobs',
      summary: 'Start a bulk activation',
      description:
        'Gives identities to profiles (imported ones, say) in a background job: creates them in the identity provider ' +
        '(Auth0 import jobs, in chunks) and links each profile to its identity. At most BULK_JOB_MAX_USERS users.',
      query: UpsertQuery,
      body: { json: BulkActivationItems, description: 'The profiles, by `_id`.' },
      responses: { 202: { description: 'The job is started.', json: JobStarted } },
      // The usage page answers a bad request with 404 (sic).
      errors: {
        400: null,
        404: { description: 'A bad request: the body or the query is invalid (sic, as documented).', json: ErrorBody },
        429: TOO_MANY_JOBS,
      },
    },
    handle: (ctx, request) => {
      const { items, upsert } = as404(() => ({
        items: parseInput(BulkActivationBody, request.body ?? undefined, 'body'),
        upsert: parseInput(UpsertQuery, request.query, 'querystring').upsert,
      }));
      return startBulkActivation(ctx, { userIds: items.map((item) => item.filter.userId), upsert });
    },
  },
  {
    method: 'get',
    path: '/jobs/bulk-activation/:id',
    status: 200,
    access: 'admin',
    doc: {
      tag: 'Jobs',
      summary: 'A bulk activation job',
      description: 'Poll until the job is completed or failed.',
      params: JOB_ID,
      responses: { 200: { description: 'The job.', json: ActivationJob } },
      errors: { 404: NO_JOB },
    },
    handle: (ctx, request) => bulkActivationJob(ctx, request.params.id!),
  },
  {
    method: 'post',
    path: '/jobs/change-password/bulk',
    status: 202,
    access: 'admin',
    body: { limit: 'bulk' },
    doc: {
      tag: 'Jobs',
      summary: 'Start a bulk change-password',
      description:
        'Sends a change-password e-mail to each user in a background job, at most ' +
        'AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND a second. At most BULK_JOB_MAX_USERS users. ' +
        "Each e-mail counts in the user's PASSWORD_EMAIL_MAX_PER_USER window, as POST /users/change-password's do: " +
        'a user past it is one of the failures.',
      body: { json: BulkPasswordChangeFields },
      responses: { 202: { description: 'The job is started.', json: JobStarted } },
      errors: { 429: TOO_MANY_JOBS },
    },
    handle: (ctx, request) =>
      startBulkPasswordChange(ctx, { authUserIds: parseInput(BulkPasswordChangeBody, request.body ?? undefined, 'body').authUsersIds }),
  },
  {
    method: 'get',
    path: '/jobs/change-password/bulk/:id',
    status: 200,
    access: 'admin',
    doc: {
      tag: 'Jobs',
      summary: 'A bulk change-password job',
      description: 'Poll until the job is completed.',
      params: JOB_ID,
      responses: { 200: { description: 'The job.', json: PasswordChangeJob } },
      errors: { 404: NO_JOB },
    },
    handle: (ctx, request) => bulkPasswordChangeJob(ctx, request.params.id!),
  },
];
