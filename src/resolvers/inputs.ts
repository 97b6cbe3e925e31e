import { z } from 'zod';
import { isState, STATES } from '../crud/states.js';
import { type FieldIssue, InvalidInputError } from '../errors.js';
import { MAX_LOGIN_NAME } from '../domain/input-limits.js';

/** Fields no client may write: set by the service or by the profile store. */
export const SERVICE_FIELDS = ['expirationId', '_id', '__STATE__', 'createdAt', 'updatedAt', 'creatorId', 'updaterId'];

/**
 * On the wall clock, not the injected one: a static schema has no context (a date in the past is
 * refused as input; when the user expires is the scheduler's business, on the service's clock).
 */
const futureDate = z.iso.datetime({ offset: true }).refine((value) => Date.parse(value) > Date.now(), 'must be in the future');

const LOGIN_NAME_TOO_LONG = `at most ${MAX_LOGIN_NAME} characters`;

const standardFields = {
  userGroup: z.string().min(1).meta({ description: 'The group of the user: its `crudSchema` validates the custom fields.' }),
  // No longer than a login takes: a longer one would make a user who can never log in.
  username: z.string().min(1).max(MAX_LOGIN_NAME, LOGIN_NAME_TOO_LONG).optional(),
  email: z.email().max(MAX_LOGIN_NAME, LOGIN_NAME_TOO_LONG).optional(),
  blocked: z.boolean().optional().meta({ description: '`true`: the user cannot log in.' }),
  roles: z.array(z.string()).optional().meta({ description: 'The roles to bind to the user (Rönd).' }),
  expirationDate: futureDate.optional().meta({ description: 'When the account expires: the user is blocked then.' }),
};

/** The standard fields' types, also checked on the result of a PATCH. */
export const StandardFields = z.object(standardFields);

function rejectFields(fields: string[]) {
  return (body: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const field of fields) {
      if (field in body) ctx.addIssue({ code: 'custom', path: [field], message: 'cannot be set by the client' });
    }
  };
}

/**
 * A new user's own fields may not start with `$` or hold a dot: MongoDB reads such a name as an
 * operator or a path (`a.b` is `b` inside `a`), no CRUD collection can declare one, and the
 * embedded store wrote it as it came, a field no query could name. Inside an object they are data.
 */
function rejectOperatorLikeNames(body: Record<string, unknown>, ctx: z.RefinementCtx) {
  for (const field of Object.keys(body)) {
    if (field.startsWith('$') || field.includes('.')) {
      ctx.addIssue({ code: 'custom', path: [field], message: 'is not an allowed field name: it starts with $ or holds a dot' });
    }
  }
}

/** `POST /users/`: standard fields checked here, custom fields by the group schema. */
export const CreateUserBody = z
  .looseObject({ ...standardFields, password: z.string().min(1).optional() })
  .superRefine(rejectFields([...SERVICE_FIELDS, 'authUserId']))
  .superRefine(rejectOperatorLikeNames);
export type CreateUserBody = z.infer<typeof CreateUserBody>;

/** `POST /users/with-id`. */
export const CreateUserWithIdBody = z
  .looseObject({ ...standardFields, authUserId: z.string().min(1) })
  .superRefine(rejectFields([...SERVICE_FIELDS, 'password']))
  .superRefine(rejectOperatorLikeNames);
export type CreateUserWithIdBody = z.infer<typeof CreateUserWithIdBody>;

/**
 * A row of `PATCH /users/import` that inserts a user: a profile only (identities come with the bulk
 * activation). Its expirationDate may have gone by: the usage page imports it (and such a user
 * does not expire); a date still ahead is scheduled.
 */
export const ImportedUserRow = z
  .looseObject({ ...standardFields, expirationDate: z.iso.datetime({ offset: true }).optional() })
  .superRefine(rejectFields([...SERVICE_FIELDS, 'authUserId', 'password']));

/** `POST /users/register`. */
export const RegisterBody = z.object({ _id: z.string().min(1), password: z.string().min(1).optional() });
export type RegisterBody = z.infer<typeof RegisterBody>;

const UserState = z.enum(STATES);

/**
 * Changes per `POST /users/state` (GraphQL `changeUsersState`): each is two reads of the store, one
 * after the other (a refused filter must move nobody), so 16,000 (a 1 MiB body) outran
 * REQUEST_TIMEOUT_MS against the CRUD Service (a 503 after 15 s). One filter moves any number of users.
 */
export const MAX_STATE_CHANGES = 1000;

/** `POST /users/state`: the CRUD's bulk state body. */
export const StateChangesBody = z
  .array(z.object({ filter: z.record(z.string(), z.unknown()), stateTo: UserState }))
  .min(1)
  .max(MAX_STATE_CHANGES);
export type StateChangesBody = z.infer<typeof StateChangesBody>;

/**
 * `schema` behind a plain check for the bulk bodies (100,000 items): zod copies every object it
 * checks (200,000 for an activation body: tens of milliseconds and their garbage in one turn of the
 * event loop), so a body `valid` accepts is used as it is (only the fields the schema names are
 * read from it), and only a body it refuses goes through zod, for zod's exact messages. `valid` must
 * accept nothing the schema refuses.
 */
export function withPlainCheck<T extends z.ZodType>(schema: T, valid: (value: unknown) => boolean) {
  return z.unknown().transform((value, ctx): z.output<T> => {
    if (valid(value)) return value as z.output<T>;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) ctx.issues.push({ ...issue, input: value } as never);
    return z.NEVER;
  });
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown) => typeof value === 'string' && value.length > 0;

/** `POST /jobs/bulk-activation`: the profiles (`_id`) to give identities to. */
export const BulkActivationItems = z.array(z.object({ filter: z.object({ userId: z.string().min(1) }) })).min(1);
export const BulkActivationBody = withPlainCheck(
  BulkActivationItems,
  (value) =>
    Array.isArray(value) && value.length > 0 && value.every((item) => isObject(item) && isObject(item.filter) && isId(item.filter.userId)),
);
export type BulkActivationBody = z.infer<typeof BulkActivationBody>;

/** `POST /jobs/change-password/bulk` (the documented field name, `authUsersIds`). */
export const BulkPasswordChangeFields = z.object({ authUsersIds: z.array(z.string().min(1)).min(1) });
export const BulkPasswordChangeBody = withPlainCheck(
  BulkPasswordChangeFields,
  (value) => isObject(value) && Array.isArray(value.authUsersIds) && value.authUsersIds.length > 0 && value.authUsersIds.every(isId),
);

/** `"true"` / `"false"` query flags. */
export const QueryFlag = z.enum(['true', 'false']).transform((value) => value === 'true');

const postpone = QueryFlag.meta({ description: '`true`: create the profile only; `POST /users/register` creates the identity later.' });
const sendEmail = QueryFlag.meta({ description: '`false`: do not send the password e-mail to the new user.' });

export const CreateUserQuery = z.object({
  postponeAuthUserCreation: postpone.optional(),
  sendResetPwdEmail: sendEmail.optional(),
});
export const SendEmailQuery = z.object({ sendResetPwdEmail: sendEmail.optional() });
export const UpsertQuery = z.object({
  upsert: QueryFlag.default(true).meta({ description: '`false`: only create identities, never update existing ones (`true` by default).' }),
});
export const StatesQuery = z.object({
  _st: z
    .string()
    .refine((value) => value.split(',').every(isState), 'must be a comma-separated list of PUBLIC, DRAFT, TRASH, DELETED')
    .optional()
    .meta({ description: 'Comma-separated states the profile may be in; `PUBLIC` by default.' }),
});

/** Parses with a zod schema; failures become a 400 naming each field (`body/age: …`). */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)],
    message: issue.message,
  }));
  throw new InvalidInputError(issues.map((issue) => `${issue.path.join('/')}: ${issue.message}`).join(', '), issues);
}
