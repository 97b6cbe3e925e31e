/**
 * The one error hierarchy. Every expected failure is a DomainError with a stable code and an HTTP
 * status; REST turns it into `{statusCode, error, message}` and GraphQL into a typed error.
 * Anything else is a bug or an outage: a masked 500, logged with its cause.
 */
import { shownId, shownText } from './domain/shown-text.js';

export interface FieldIssue {
  /** Where the problem is, e.g. ["body", "age"] or ["crudSchema"]. */
  path: string[];
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    // A message repeats a caller's names and values: each cut as an id is, wherever it was worded.
    super(shownText(message), options);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends DomainError {
  readonly issues: FieldIssue[];

  constructor(message: string, issues: FieldIssue[] = []) {
    super('INVALID_INPUT', 400, message);
    this.issues = issues.map((issue) => ({ ...issue, path: issue.path.map(shownSegment), message: shownText(issue.message) }));
  }
}

/** A path segment as an answer repeats it (a number, in an issue built from zod's, stays one). */
function shownSegment(segment: string): string {
  return typeof segment === 'string' ? shownId(segment) : segment;
}

/** A body or file over its configured limit. */
export class PayloadTooLargeError extends DomainError {
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', 413, message);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super('NOT_FOUND', 404, message);
  }
}

export class ConflictError extends DomainError {
  /** `code` names the conflict when a client must tell it apart, e.g. GROUP_IN_USE. */
  constructor(message: string, code = 'CONFLICT') {
    super(code, 409, message);
  }
}

/** The 409 `USER_BUSY`: another request holds the user (its lock), and the client tries again. */
export function userBusy(userId: string): ConflictError {
  return new ConflictError(`user ${userId} is being changed by another request: try again`, 'USER_BUSY');
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'Unauthorized') {
    super('UNAUTHORIZED', 401, message);
  }
}

/**
 * A failed login that locked the name typed (LOGIN_MAX_ATTEMPTS in a row): the same 401 as any
 * other failure, so the answer tells nothing; the service logs and counts the lockout.
 */
export class LockoutStartedError extends UnauthorizedError {}

export class ForbiddenError extends DomainError {
  constructor(message = 'Forbidden') {
    super('FORBIDDEN', 403, message);
  }
}

/** None of the representations a path offers is one the client's `Accept` header takes. */
export class NotAcceptableError extends DomainError {
  constructor(message: string) {
    super('NOT_ACCEPTABLE', 406, message);
  }
}

/** Too many attempts: 429 with `Retry-After`. */
export class TooManyRequestsError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('TOO_MANY_REQUESTS', 429, message);
  }
}

/** A state transition the profile store refuses (CRUD: 400 "transition from X to Y not allowed."). */
export class TransitionError extends DomainError {
  constructor(from: string, to: string) {
    super('TRANSITION_NOT_ALLOWED', 400, `transition from ${from} to ${to} not allowed.`);
  }
}

/**
 * A backend step failed. `message` names the backend, the call and the status the way the
 * original service does: "CRUD PATCH /users/:id responded with a 404 status code".
 */
export class UpstreamError extends DomainError {
  /** True when the upstream could not be reached at all (connection refused, timeout): a 503. */
  readonly unreachable: boolean;
  /**
   * True when the call certainly never reached the upstream (every attempt's connection refused,
   * its circuit open): it did not act. False when it may have (a timeout, a cut connection, an answer).
   */
  readonly notSent: boolean;

  constructor(
    readonly upstream: string,
    readonly call: string,
    readonly upstreamStatus: number,
    options?: { cause?: unknown; message?: string; unreachable?: boolean; notSent?: boolean },
  ) {
    super(
      options?.unreachable ? 'UPSTREAM_UNAVAILABLE' : 'UPSTREAM_ERROR',
      options?.unreachable ? 503 : 500,
      options?.message ?? `${upstream} ${call} responded with a ${upstreamStatus} status code`,
      options,
    );
    this.unreachable = options?.unreachable === true;
    this.notSent = options?.notSent === true;
  }
}

/**
 * An operation that failed half-way: "Error while soft deleting user: <what failed>". 500, or 503
 * when the cause is an upstream that cannot be reached (the caller may retry later).
 */
export class OperationError extends DomainError {
  constructor(action: string, cause: unknown) {
    const unreachable = cause instanceof UpstreamError && cause.unreachable;
    super(
      unreachable ? 'UPSTREAM_UNAVAILABLE' : 'OPERATION_FAILED',
      unreachable ? 503 : 500,
      `Error while ${action}: ${describeCause(cause)}`,
      {
        cause,
      },
    );
  }
}

/**
 * The service's own words for what failed (an upstream's name, call and status); any other error's
 * text (SQLite, a driver, a library) stays in the log with the request, never in an answer.
 */
export function describeCause(cause: unknown): string {
  return cause instanceof DomainError ? cause.message : 'an unexpected error occurred';
}

/**
 * Runs `step`; client mistakes (4xx) pass through untouched, anything else becomes the documented
 * "Error while <action>: …" 500.
 */
export async function during<T>(action: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof DomainError && error.status < 500) throw error;
    if (error instanceof OperationError) throw error;
    throw new OperationError(action, error);
  }
}
