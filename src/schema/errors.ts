import { ConflictError, DomainError, type FieldIssue, InvalidInputError, NotFoundError, TransitionError } from '../errors.js';
import { builder } from './builder.js';

/** Expected failures, returned as typed members of each mutation's result union. */
export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'An expected failure of a field, returned in its result union instead of a GraphQL error.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, in the words the REST path would use.' }),
    code: t.exposeString('code', { description: 'Stable SNAKE_CASE code, e.g. NOT_FOUND.' }),
  }),
});

const FieldIssueRef = builder.objectRef<FieldIssue>('FieldIssue').implement({
  description: 'One thing wrong with an input.',
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Where the problem is, e.g. ["body", "age"].' }),
    message: t.exposeString('message', { description: 'What is wrong there, e.g. "must be >= 0".' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The user, group, identity or job named does not exist (REST 404).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: () => ({}),
});
builder.objectType(ConflictError, {
  name: 'ConflictError',
  description:
    'Another user has the same username, e-mail or identity; the user is registered already; or the group still has users (code GROUP_IN_USE) (REST 409).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: () => ({}),
});
builder.objectType(TransitionError, {
  name: 'TransitionNotAllowedError',
  description: 'The profile store does not allow this change of state (e.g. PUBLIC to DELETED directly) (REST 400).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof TransitionError,
  fields: () => ({}),
});
builder.objectType(InvalidInputError, {
  name: 'InvalidInputError',
  description: "An input the operation refuses: a wrong type, a value the group's schema rejects, a weak password (REST 400).",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidInputError,
  fields: (t) => ({
    issues: t.field({ type: [FieldIssueRef], description: 'Each field that is wrong, and why.', resolve: (error) => error.issues }),
  }),
});

/** The typed errors every mutation can return. */
export const MUTATION_ERRORS = [InvalidInputError, NotFoundError, ConflictError, TransitionError];
