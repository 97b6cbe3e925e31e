import { z } from 'zod';
import {
  CreateUserBody,
  CreateUserQuery,
  CreateUserWithIdBody,
  RegisterBody,
  SendEmailQuery,
  StateChangesBody,
} from '../resolvers/inputs.js';
import {
  Count,
  CountRouteQuery,
  CreatedUser,
  ErrorBody,
  ExportQuery,
  ImportForm,
  ImportSummary,
  ListQuery,
  ReadableUser,
  ReadByIdQuery,
  UserListItem,
  WriteByIdQuery,
} from './openapi-schemas.js';
import type { RouteDoc } from './route-doc.js';

/** What the OpenAPI document says of the user paths of rest/routes.ts (kept apart so the table stays short). */

const ID = { id: 'The `_id` of the profile.' };
const NOT_FOUND = 'No profile with this id (in the states the path reads).';
const CUSTOM_FIELDS =
  'Besides the standard fields, the custom fields of the user group: the `crudSchema` of the group in `ums-config` validates them.';

const anyObject = z.record(z.string(), z.unknown());

/** A CRUD PATCH body: update operators, or a bare object meaning `$set`. */
const UpdateBody = z
  .looseObject({
    $set: anyObject.optional().meta({ description: 'Fields to set.' }),
    $unset: anyObject.optional().meta({ description: 'Fields to remove (`{"field": true}`).' }),
    $inc: anyObject.optional(),
    $mul: anyObject.optional(),
    $currentDate: anyObject.optional(),
    $push: anyObject.optional(),
    $pull: anyObject.optional(),
    $addToSet: anyObject.optional(),
  })
  .meta({
    description:
      'A CRUD Service PATCH body; a body without operators is a `$set`. `authUserId`, `expirationId` and the fields the store sets cannot change.',
  });

const ExpirationBody = z.object({ userId: z.string(), expirationDate: z.string().meta({ format: 'date-time' }) });

export const userDocs = {
  create: {
    tag: 'Users',
    summary: 'Create a user',
    description:
      'Creates the profile, then the identity (unless the group has `authUserCreationDisabled` or `postponeAuthUserCreation` ' +
      'is true), binds its roles, schedules its expiration and sends the password e-mail. A failure undoes what was done. ' +
      CUSTOM_FIELDS,
    query: CreateUserQuery,
    body: { json: CreateUserBody },
    responses: { 200: { description: 'Created.', json: CreatedUser } },
    errors: { 409: 'A user with this username or e-mail exists already.' },
  },
  createWithId: {
    tag: 'Users',
    summary: 'Create a profile for an existing identity',
    description: `Creates the profile of a user the identity provider knows already (\`authUserId\`). ${CUSTOM_FIELDS}`,
    body: { json: CreateUserWithIdBody },
    responses: { 200: { description: 'Created.', json: CreatedUser } },
    errors: {
      404: 'No identity user with this `authUserId`.',
      409: 'A profile with this `authUserId`, username or e-mail exists already.',
    },
  },
  register: {
    tag: 'Users',
    summary: 'Create the identity of a profile',
    description: 'Creates the identity of a profile created with `postponeAuthUserCreation`, and sends the password e-mail.',
    query: SendEmailQuery,
    body: { json: RegisterBody },
    responses: { 204: { description: 'Registered.' } },
    errors: {
      404: 'No profile with this `_id`.',
      409: 'The profile has an identity already, one with its username or e-mail exists, or another request is registering it (`USER_BUSY`).',
    },
  },
  changeState: {
    tag: 'Users',
    summary: 'Change the state of users',
    description:
      'Moves the users matching each filter to `stateTo`, keeping the identity provider in step: DRAFT and TRASH block the ' +
      'identity, PUBLIC unblocks it, DELETED deletes it with AUTH_HARD_DELETE (blocks it otherwise).',
    body: { json: StateChangesBody },
    responses: { 200: { description: 'How many users moved.', json: Count } },
    errors: {
      409: 'A matching user is being changed by another request (`USER_BUSY`): some users may have moved; calling again moves the rest.',
    },
  },
  list: {
    tag: 'Users',
    summary: 'List users',
    description:
      'The CRUD Service `GET /users/` query: `_q`, `_st`, `_p` or `_rawp`, `_s`, `_l`, `_sk`, and plain `field=value` filters. ' +
      'With Auth0, the identity fields the configuration names are added to each profile.',
    query: ListQuery,
    responses: { 200: { description: 'The users.', json: z.array(UserListItem) } },
  },
  count: {
    tag: 'Users',
    summary: 'Count users',
    description: 'The CRUD Service `GET /users/count` query: `_q`, `_st`, `_useEstimate` and plain `field=value` filters.',
    query: CountRouteQuery,
    responses: { 200: { description: 'How many users match.', json: Count } },
  },
  export: {
    tag: 'Users',
    summary: 'Export users as a file',
    description:
      'The users the filters select, streamed page by page, as CSV (`Accept: text/csv`, the default) or NDJSON ' +
      '(`Accept: application/x-ndjson`). The CSV goes back unchanged through `PATCH /users/import`.',
    query: ExportQuery,
    responses: {
      200: {
        description: 'The file.',
        files: ['text/csv', 'application/x-ndjson'],
        headers: { 'Content-Disposition': '`attachment` with a file name.' },
      },
    },
    errors: { 406: '`Accept` names neither CSV nor NDJSON.' },
  },
  get: {
    tag: 'Users',
    summary: 'Read a user',
    params: ID,
    query: ReadByIdQuery,
    responses: { 200: { description: 'The user.', json: ReadableUser } },
    errors: { 404: NOT_FOUND },
  },
  import: {
    tag: 'Users',
    summary: 'Import users from a CSV file',
    description:
      'Rows with an `_id` update that profile; rows without insert one (profiles only: the bulk activation creates their ' +
      'identities). Invalid rows are skipped and reported. At most USER_IMPORT_MAX_FILE_BYTES.',
    body: { multipart: ImportForm },
    responses: { 200: { description: 'What was done with each row.', json: ImportSummary } },
    errors: {
      400: 'Not a multipart body, no `file`, a file that cannot be read as CSV, or one of more than USER_IMPORT_MAX_ROWS rows or 2,000 columns.',
      413: 'The file is larger than USER_IMPORT_MAX_FILE_BYTES.',
      429: {
        description: 'USER_IMPORT_MAX_CONCURRENT imports are running already; nothing was read.',
        json: ErrorBody,
        headers: { 'Retry-After': 'Seconds to wait before trying again.' },
      },
    },
  },
  update: {
    tag: 'Users',
    summary: 'Update a user',
    description:
      'Applies the update, validates the result against its group, changes the identity (username, e-mail, blocked), ' +
      'reschedules the expiration and rebinds the roles.',
    params: ID,
    query: WriteByIdQuery,
    body: { json: UpdateBody },
    responses: { 200: { description: 'The user as updated.', json: ReadableUser } },
    errors: {
      404: NOT_FOUND,
      409:
        'Another user has this username or e-mail, or another request is changing this user (`USER_BUSY`: try again), ' +
        'or the update unblocks a user whose expirationDate has passed without moving it into the future or unsetting it (`USER_EXPIRED`).',
    },
  },
  delete: {
    tag: 'Users',
    summary: 'Delete a user',
    description: 'Deletes the profile and the identity, and cancels the expiration.',
    params: ID,
    query: WriteByIdQuery,
    responses: { 204: { description: 'Deleted.' } },
    errors: { 404: NOT_FOUND, 409: 'Another request is changing this user (`USER_BUSY`: try again).' },
  },
  softDelete: {
    tag: 'Users',
    summary: 'Soft-delete a user',
    description:
      'Moves the profile to DELETED (through TRASH when it must) and deletes or blocks the identity (AUTH_HARD_DELETE). ' +
      'After a failure half-way, calling again resumes.',
    params: ID,
    responses: { 204: { description: 'Soft-deleted.' } },
    errors: {
      400: 'The profile cannot move to DELETED from its state.',
      404: NOT_FOUND,
      409: 'Another request is changing this user (`USER_BUSY`: try again).',
    },
  },
  expirationCallback: {
    tag: 'Internal',
    summary: 'A user expired',
    description: 'The Timer Service calls back when an expiration falls due: the user is blocked. Administrators may call it too.',
    body: { json: ExpirationBody },
    responses: { 204: { description: 'Done (nothing to do when the user has another expiration date by now).' } },
    errors: {
      409: 'Another request is changing this user (`USER_BUSY`): the service runs the expiry again itself once it is let go.',
    },
  },
} satisfies Record<string, RouteDoc>;
