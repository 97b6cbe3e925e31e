import type { Route } from './route.js';
import { bulkActivationJob, startBulkActivation } from '../resolvers/activation.js';
import { bulkPasswordChangeJob, startBulkPasswordChange } from '../resolvers/passwords.js';
import { BulkActivationBody, BulkPasswordChangeBody, parseInput, UpsertQuery } from '../resolvers/inputs.js';
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
    handle: (ctx, request) => bulkActivationJob(ctx, request.params.id!),
  },
  {
    method: 'post',
    path: '/jobs/change-password/bulk',
    status: 202,
    access: 'admin',
    body: { limit: 'bulk' },
    handle: (ctx, request) =>
      startBulkPasswordChange(ctx, { authUserIds: parseInput(BulkPasswordChangeBody, request.body ?? undefined, 'body').authUsersIds }),
  },
  {
    method: 'get',
    path: '/jobs/change-password/bulk/:id',
    status: 200,
    access: 'admin',
    handle: (ctx, request) => bulkPasswordChangeJob(ctx, request.params.id!),
  },
];
