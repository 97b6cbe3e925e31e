import { z } from 'zod';
import { STATES } from '../crud/states.js';

/**
 * The bodies the REST paths answer, as the usage page documents them (spec/ums-usage.md), in zod
 * so the OpenAPI document (rest/openapi.ts) is generated like the request schemas. They describe;
 * the operations build their answers themselves, and the integration suite checks the two agree
 * (test/helpers/openapi-validator.ts). `id` names a schema of the document's components.
 */

const count = z.number().int().min(0);
const dateTime = z.string().meta({ format: 'date-time', description: 'An ISO 8601 date and time.' });

export const ErrorBody = z
  .object({
    statusCode: z.number().int().meta({ description: 'The HTTP status code, repeated.' }),
    error: z.string().meta({ description: 'The name of the status code, e.g. "Bad Request".' }),
    message: z.string().meta({
      description:
        'What went wrong. Invalid input names each field (`body/age: Invalid input: expected number, received string`); ' +
        'an upstream failure names the upstream, the call and its status (`CRUD PATCH /users/:id responded with a 404 status code`).',
    }),
  })
  .meta({ id: 'Error', description: 'Every failure of a REST path, whatever the status.' });

export const Tokens = z
  .object({
    accessToken: z.string().meta({ description: 'A JWT to send as `Authorization: Bearer <accessToken>`.' }),
    refreshToken: z.string().meta({ description: 'Exchanged once for a new pair at `POST /refreshtoken`.' }),
    expireAt: z.number().int().meta({ description: 'When the access token expires, in seconds since the Unix epoch.' }),
  })
  .meta({ id: 'Tokens', description: 'An access token and the refresh token that renews it.' });

const userFields = {
  _id: z.string().meta({ description: 'The id of the profile in the `users` collection.' }),
  __STATE__: z.enum(STATES).meta({ description: 'The CRUD state of the profile.' }),
  userGroup: z.string().meta({ description: 'The group, whose `crudSchema` in `ums-config` validates the custom fields.' }),
  authUserId: z.string().meta({ description: 'The id of the user in the identity provider; absent for profile-only users.' }),
  username: z.string(),
  email: z.string(),
  blocked: z.boolean().meta({ description: 'A blocked user cannot log in.' }),
  roles: z.array(z.string()).meta({ description: 'The roles bound to the user (Rönd).' }),
  expirationDate: dateTime.meta({ description: 'When the account expires and the user is blocked.' }),
  expirationId: z.string().meta({ description: 'The scheduled expiration (set by the service).' }),
  createdAt: dateTime,
  updatedAt: dateTime,
  creatorId: z.string(),
  updaterId: z.string(),
};

export const User = z
  .looseObject({
    ...userFields,
    authUserId: userFields.authUserId.optional(),
    username: userFields.username.optional(),
    email: userFields.email.optional(),
    blocked: userFields.blocked.optional(),
    roles: userFields.roles.optional(),
    expirationDate: userFields.expirationDate.optional(),
    expirationId: userFields.expirationId.optional(),
  })
  .meta({ id: 'User', description: 'A profile of the `users` collection: the standard fields, then the custom fields of its group.' });

/** A list item: `_p` (projection) may leave out any field but `_id`; `_rawp` may leave `_id` out too (`{"_id": 0}`). */
export const UserListItem = z.looseObject(z.object(userFields).partial().shape).meta({
  id: 'UserListItem',
  description:
    'A profile as `GET /users/` lists it: `_id`, then the fields of the projection (`_p`), all by default; `_rawp` with `"_id": 0` leaves `_id` out.',
});

/** A user answered by id: whole, or only the fields `_p` and the `acl_read_columns` header let through. */
export const ReadableUser = z.looseObject(z.object(userFields).partial().shape).meta({
  id: 'ReadableUser',
  description: 'A profile: every field, or only those of the projection (`_p`) and of the `acl_read_columns` header.',
});

export const CreatedUser = z
  .object({ _id: userFields._id })
  .meta({ id: 'CreatedUser', description: 'The profile created (or the one a retried request created before).' });

export const Count = count.meta({ description: 'How many users.' });

export const Userinfo = z
  .looseObject({
    sub: z.string().meta({ description: 'The id of the user in the identity provider.' }),
    username: z.string().optional(),
    email: z.string().optional(),
    email_verified: z.boolean().optional(),
    userGroup: z.string().optional(),
    permissions: z.array(z.string()).optional().meta({ description: 'With `permissions` in USERINFO_ADDITIONAL_PROPERTIES.' }),
  })
  .meta({
    id: 'Userinfo',
    description:
      'The identity claims of the caller (always), over the profile properties chosen by USERINFO_ADDITIONAL_PROPERTIES; ' +
      'the user id is repeated under CUSTOM_USER_ID_KEY.',
  });

export const Jwks = z
  .object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })) })
  .meta({ id: 'Jwks', description: 'The public keys that verify the access tokens the service signs (embedded identity).' });

const jobHead = {
  jobId: z.string().meta({ description: 'Poll the job with this id.' }),
  jobCreatedAt: dateTime,
};

export const JobStarted = z
  .object({ ...jobHead, status: z.literal('pending') })
  .meta({ id: 'JobStarted', description: 'A job accepted: poll its status path with `jobId`.' });

/** Pending, with the counts so far once the job has started; or failed (a bulk activation only). */
const unfinishedJob = z.object({
  ...jobHead,
  status: z.enum(['pending', 'failed']),
  total: count.optional().meta({ description: 'While pending: the users of the job.' }),
  processed: count.optional().meta({ description: 'While pending: the users done so far, failures included.' }),
  failed: count.optional().meta({ description: 'While pending: the users that failed so far.' }),
});

export const ActivationJob = z
  .union([
    unfinishedJob,
    z.object({
      ...jobHead,
      status: z.literal('completed'),
      summary: z.object({ failed: count, updated: count, inserted: count, total: count }),
      failures: z.array(
        z.object({
          userId: z.string().meta({ description: 'The `_id` of the profile.' }),
          errors: z.array(z.object({ code: z.string(), message: z.string() })),
        }),
      ),
    }),
  ])
  .meta({ id: 'ActivationJob', description: 'A bulk activation: pending, failed, or completed with its summary and failures.' });

export const PasswordChangeJob = z
  .union([
    unfinishedJob,
    z.object({
      ...jobHead,
      status: z.literal('completed'),
      summary: z.object({ failed: count, completed: count, total: count }),
      completed: z
        .array(z.object({ authUserId: z.string() }))
        .optional()
        .meta({ description: 'Present when not empty.' }),
      failures: z
        .array(z.object({ authUserId: z.string(), error: z.string() }))
        .optional()
        .meta({ description: 'Present when not empty.' }),
    }),
  ])
  .meta({
    id: 'PasswordChangeJob',
    description: 'A bulk change-password job: pending, or completed (it never fails: each user is completed or a failure).',
  });

export const ImportSummary = z
  .object({
    updated: z.array(z.string()).meta({ description: 'Ids of the profiles updated (rows with an `_id`).' }),
    inserted: z.array(z.string()).meta({ description: 'Ids of the profiles inserted (rows without `_id`).' }),
    invalid: z.array(z.object({ row: z.number().int().min(1), error: z.string() })).meta({ description: 'Rows skipped, and why.' }),
  })
  .meta({ id: 'ImportSummary', description: 'What an import did with each row of the file.' });

/** The multipart form of `PATCH /users/import`. */
export const ImportForm = z.object({
  file: z.string().meta({ format: 'binary', description: 'The CSV file; its first line names the fields.' }),
  delimiter: z.string().optional().meta({ description: 'The CSV delimiter; `,` by default (arrays need another one).' }),
  encoding: z.string().optional().meta({ description: 'The encoding of the file; `utf8` by default.' }),
  escape: z.string().optional().meta({ description: 'The escape character; `"` by default, `null` for none.' }),
});

/** The query of `GET /users/` (the CRUD Service's), besides `field=value` filters. */
export const ListQuery = z.object({
  _q: z.string().optional().meta({ description: 'A MongoDB-style filter, as JSON: `{"userGroup":"customer"}`.' }),
  _st: z.string().optional().meta({ description: 'Comma-separated states to include; `PUBLIC` by default.' }),
  _p: z.string().optional().meta({ description: 'Comma-separated fields to return (`_id` always is).' }),
  _rawp: z.string().optional().meta({
    description:
      'A MongoDB projection, as JSON: `{"name":1}` (not with `_p`). Inclusions (`1`, with `"_id": 0` if wanted), exclusions (`0`) or the CRUD\'s expressions (`{"first":{"$first":"$attachments"}}`; the embedded store within bounds, no `$reduce`).',
  }),
  _s: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .meta({ description: 'Comma-separated sort fields; `-field` sorts descending. May be repeated, as in the CRUD.' }),
  _l: z.string().optional().meta({ description: 'At most this many users (1 to 200; 25 by default).' }),
  _sk: z.string().optional().meta({ description: 'Skip this many users first.' }),
});

export const CountQuery = ListQuery.pick({ _q: true, _st: true });

/** The query of `GET /users/count`: `_useEstimate=true` counts every user, whatever the filters, as the CRUD. */
export const CountRouteQuery = CountQuery.extend({
  _useEstimate: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: "`true`: every user in every state, ignoring the filters (the CRUD's estimated count)." }),
});

/** The conditions of `GET /users/:id`, besides `field=value`: a user that does not match is a 404, as the CRUD answers. */
export const ReadByIdQuery = ListQuery.pick({ _q: true, _st: true, _p: true, _rawp: true });

/** The conditions of `PATCH` and `DELETE /users/:id`, besides `field=value`. */
export const WriteByIdQuery = ListQuery.pick({ _q: true });

/** The query of `GET /users/export`: the filters of `GET /users/count`, and `identity`. */
export const ExportQuery = CountQuery.extend({
  identity: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: '`true`: add the identity of each user (one provider call per 100 users).' }),
});
