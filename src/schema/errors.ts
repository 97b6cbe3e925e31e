import { ConflictError, DomainError, type FieldIssue, InvalidInputError, NotFoundError, TransitionError } from '../errors.js';
import { builder } from './builder.js';

/** Expected failures, returned as typed members of each mutation's result union. */
export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code', { description: 'Stable SNAKE_CASE code, e.g. NOT_FOUND.' }),
  }),
});

const FieldIssueRef = builder.objectRef<FieldIssue>('FieldIssue').implement({
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Where the problem is, e.g. ["body", "age"].' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: () => ({}),
});
builder.objectType(ConflictError, {
  name: 'ConflictError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: () => ({}),
});
builder.objectType(TransitionError, {
  name: 'TransitionNotAllowedError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof TransitionError,
  fields: () => ({}),
});
builder.objectType(InvalidInputError, {
  name: 'InvalidInputError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidInputError,
  fields: (t) => ({ issues: t.field({ type: [FieldIssueRef], resolve: (error) => error.issues }) }),
});

/** The typed errors every mutation can return. */
export const MUTATION_ERRORS = [InvalidInputError, NotFoundError, ConflictError, TransitionError];
