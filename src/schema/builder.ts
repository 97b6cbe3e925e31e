import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import ValidationPlugin from '@pothos/plugin-validation';
import type { FileUpload } from 'graphql-upload-ts';
import type { Context } from '../context.js';
import { InvalidInputError } from '../errors.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    DateTime: { Input: Date; Output: Date | string };
    /** A file of a GraphQL multipart request (graphql-upload-ts), arriving as a stream. */
    Upload: { Input: Promise<FileUpload>; Output: never };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ErrorsPlugin, ValidationPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [], unsafelyHandleInputErrors: true },
  validation: {
    validationError: (result) =>
      new InvalidInputError(
        result.issues.map((issue) => issue.message).join(', '),
        result.issues.map((issue) => ({
          path: (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part)),
          message: issue.message,
        })),
      ),
  },
});

builder.queryType({
  description: 'Reads: users, groups, roles, jobs and the caller. Most need an administrator (API key, or a user of ADMIN_GROUPS).',
});
builder.mutationType({
  description: 'Changes, each the same operation as its REST path. Expected failures come back as typed errors in the result union.',
});
builder.subscriptionType({
  description: 'Live streams over Server-Sent Events: the progress of a bulk job.',
});
