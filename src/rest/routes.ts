import type { z } from 'zod';
import type { RestRequest, Route } from './route.js';
import {
  CreateUserBody,
  CreateUserQuery,
  CreateUserWithIdBody,
  parseInput,
  RegisterBody,
  SendEmailQuery,
  StateChangesBody,
} from '../resolvers/inputs.js';
import { updateUserAnswer } from '../resolvers/update-user.js';
import { importUsersAnswer, inImportPlace } from '../resolvers/import-users.js';
import { withUpload } from './multipart.js';
import { changeUsersState, softDeleteUser } from '../resolvers/user-state.js';
import { createUser, createUserWithId } from '../resolvers/create-user.js';
import { registerUser } from '../resolvers/register-user.js';
import { countUsersAnswer, deleteUser, getUserAnswer, listUsersAnswer } from '../resolvers/users.js';
import { authRoutes } from './auth-routes.js';
import { jobRoutes } from './job-routes.js';
import { exportRoute } from './export-route.js';
import { EXPIRATION_CALLBACK_PATH } from '../domain/expiration.js';
import { expirationCallback } from '../resolvers/expiration.js';
import { userDocs } from './user-docs.js';

const body = <T extends z.ZodType>(schema: T, request: RestRequest) => parseInput(schema, request.body ?? undefined, 'body');
const query = <T extends z.ZodType>(schema: T, request: RestRequest) => parseInput(schema, request.query, 'querystring');

/**
 * The REST table: every path of the usage page. Order matters where paths overlap
 * (`/users/count` before `/users/:id`).
 */
export const userRoutes: Route[] = [
  {
    method: 'post',
    path: '/users/',
    status: 200,
    access: 'admin',
    doc: userDocs.create,
    handle: (ctx, request) => createUser(ctx, body(CreateUserBody, request), query(CreateUserQuery, request)),
  },
  {
    method: 'post',
    path: '/users/with-id',
    status: 200,
    access: 'admin',
    doc: userDocs.createWithId,
    handle: (ctx, request) => createUserWithId(ctx, body(CreateUserWithIdBody, request)),
  },
  {
    method: 'post',
    path: '/users/register',
    status: 204,
    access: 'admin',
    doc: userDocs.register,
    handle: (ctx, request) => registerUser(ctx, body(RegisterBody, request), query(SendEmailQuery, request)),
  },
  {
    method: 'post',
    path: '/users/state',
    status: 200,
    access: 'admin',
    doc: userDocs.changeState,
    handle: (ctx, request) => changeUsersState(ctx, body(StateChangesBody, request)),
  },
  {
    method: 'get',
    path: '/users/',
    status: 200,
    access: 'admin',
    doc: userDocs.list,
    fastPath: true,
    handle: (ctx, request) => listUsersAnswer(ctx, request.rawQuery),
  },
  {
    method: 'get',
    path: '/users/count',
    status: 200,
    access: 'admin',
    doc: userDocs.count,
    fastPath: true,
    handle: (ctx, request) => countUsersAnswer(ctx, request.rawQuery),
  },
  {
    method: 'get',
    path: '/users/:id',
    status: 200,
    access: 'admin',
    doc: userDocs.get,
    handle: (ctx, request) => getUserAnswer(ctx, request.params.id!, request.rawQuery),
  },
  {
    method: 'patch',
    path: '/users/import',
    status: 200,
    access: 'admin',
    doc: userDocs.import,
    body: { multipart: true },
    handle: (ctx, request) =>
      inImportPlace(ctx, () =>
        withUpload(request.stream, { fileField: 'file', maxFileBytes: ctx.deps.config.USER_IMPORT_MAX_FILE_BYTES }, (upload) =>
          importUsersAnswer(ctx, upload),
        ),
      ),
  },
  {
    method: 'patch',
    path: '/users/:id',
    status: 200,
    access: 'admin',
    doc: userDocs.update,
    handle: (ctx, request) => updateUserAnswer(ctx, request.params.id!, request.body, request.rawQuery),
  },
  {
    method: 'delete',
    path: '/users/:id',
    status: 204,
    access: 'admin',
    doc: userDocs.delete,
    handle: (ctx, request) => deleteUser(ctx, request.params.id!, request.rawQuery),
  },
  {
    method: 'post',
    path: '/users/:id/soft-delete',
    status: 204,
    access: 'admin',
    doc: userDocs.softDelete,
    handle: (ctx, request) => softDeleteUser(ctx, request.params.id!),
  },
];

/** The Timer Service's callback when a user expires. */
const expirationRoute: Route = {
  method: 'post',
  path: EXPIRATION_CALLBACK_PATH,
  status: 204,
  access: 'timer',
  doc: userDocs.expirationCallback,
  handle: (ctx, request) => expirationCallback(ctx, request.body),
};

/** Every REST path the service serves. */
export const routes: Route[] = [...authRoutes, exportRoute, ...userRoutes, ...jobRoutes, expirationRoute];
