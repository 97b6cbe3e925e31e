import { request } from './client.js';
import { refusalInWords } from './form-issues.js';
import { graphql } from './graphql.js';
import type { Parsed } from './schema-form.js';

/** The managed fields a user page edits besides the group's profile fields. */
export interface UserDraft {
  userGroup: string;
  username: string;
  email: string;
  roles: string[];
  /** As a datetime-local input holds it (UTC), or ''. */
  expirationDate: string;
}

const CREATE = graphql(`
  mutation CreateUser($input: CreateUserInput!, $postpone: Boolean) {
    createUser(input: $input, postponeAuthUserCreation: $postpone, sendResetPwdEmail: true) {
      __typename
      ... on MutationCreateUserSuccess {
        data {
          id
        }
      }
      ... on Error {
        code
        message
      }
      ... on InvalidInputError {
        issues {
          path
          message
        }
      }
    }
  }
`);
const UPDATE = graphql(`
  mutation UpdateUser($id: ID!, $update: JSONObject!) {
    updateUser(id: $id, update: $update) {
      __typename
      ... on MutationUpdateUserSuccess {
        data {
          id
        }
      }
      ... on Error {
        code
        message
      }
      ... on InvalidInputError {
        issues {
          path
          message
        }
      }
    }
  }
`);

export type Saved = { ok: true; id: string } | { ok: false; message: string; issues: { path: string[]; message: string }[] };

const isoOf = (local: string) => (local ? new Date(`${local}:00Z`).toISOString() : undefined);

/** Creates the user, or updates it with a CRUD PATCH body ($set what is filled, $unset what was emptied). */
export async function saveUser({
  id,
  draft,
  parsed,
  postpone,
}: {
  id?: string | undefined;
  draft: UserDraft;
  parsed: Parsed;
  postpone: boolean;
}): Promise<Saved> {
  const expirationDate = isoOf(draft.expirationDate);
  if (!id) {
    const input = {
      userGroup: draft.userGroup,
      ...(draft.username && { username: draft.username }),
      ...(draft.email && { email: draft.email }),
      ...(expirationDate && { expirationDate }),
      roles: draft.roles,
      properties: parsed.properties,
    };
    return savedOf((await request(CREATE, { input, postpone })).createUser);
  }
  // The group too: another group moves the user (validated against that group's schema).
  const set: Record<string, unknown> = { ...parsed.properties, userGroup: draft.userGroup, roles: draft.roles };
  const unset: Record<string, true> = Object.fromEntries(parsed.cleared.map((name) => [name, true]));
  for (const [name, value] of [
    ['username', draft.username],
    ['email', draft.email],
    ['expirationDate', expirationDate],
  ] as const) {
    if (value) set[name] = value;
    else unset[name] = true;
  }
  const update = { $set: set, ...(Object.keys(unset).length > 0 && { $unset: unset }) };
  return savedOf((await request(UPDATE, { id, update })).updateUser);
}

/** A creation's or update's answer: the user's id, or the service's message and issues. */
function savedOf(
  answer: { data: { id: string } } | { code: string; message: string; issues?: { path: string[]; message: string }[] },
): Saved {
  if ('data' in answer) return { ok: true, id: answer.data.id };
  return { ok: false, message: refusalInWords(answer), issues: answer.issues ?? [] };
}
