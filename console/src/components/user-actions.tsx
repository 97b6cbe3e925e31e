import { useRef, useState } from 'preact/hooks';
import { request } from '../lib/client.js';
import { refusalInWords } from '../lib/form-issues.js';
import { graphql } from '../lib/graphql.js';
import { useOnce } from '../lib/once.js';
import { navigate } from '../lib/router.js';
import { isOwnAccount } from '../lib/session.js';
import { BLOCK, ownAccountWarning, profileRefused, type Transition, transitionsFrom, UNBLOCK } from '../lib/user-transitions.js';

const CHANGE_STATE = graphql(`
  mutation ChangeState($changes: [StateChangeInput!]!) {
    changeUsersState(changes: $changes) {
      __typename
      ... on Error {
        code
        message
      }
    }
  }
`);
const SOFT_DELETE = graphql(`
  mutation SoftDelete($id: ID!) {
    softDeleteUser(id: $id) {
      __typename
      ... on Error {
        code
        message
      }
    }
  }
`);
const DELETE = graphql(`
  mutation DeleteUser($id: ID!) {
    deleteUser(id: $id) {
      __typename
      ... on Error {
        code
        message
      }
    }
  }
`);
const SET_BLOCKED = graphql(`
  mutation SetBlocked($id: ID!, $update: JSONObject!) {
    updateUser(id: $id, update: $update) {
      __typename
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
const PASSWORD_MAIL = graphql(`
  mutation PasswordMail($authUserId: String!) {
    requestPasswordChange(authUserId: $authUserId) {
      __typename
      ... on Error {
        code
        message
      }
    }
  }
`);
const UNLOCK = graphql(`
  mutation Unlock($id: ID!) {
    unlockUser(id: $id) {
      __typename
      ... on Error {
        code
        message
      }
    }
  }
`);
const REGISTER = graphql(`
  mutation Register($id: ID!) {
    registerUser(id: $id, sendResetPwdEmail: true) {
      __typename
      ... on Error {
        code
        message
      }
    }
  }
`);

interface Target {
  id: string;
  state: string;
  blocked: boolean;
  authUserId: string | null;
}

/** The state transitions and identity actions of one user; a transition's effect is confirmed first. */
export function UserActions({ user, onDone }: { user: Target; onDone(message: string): void }) {
  const [pending, setPending] = useState<Transition>();
  const [error, setError] = useState<string>();
  const dialog = useRef<HTMLDialogElement>(null);

  const ask = (transition: Transition) => {
    setPending(transition);
    dialog.current?.showModal();
  };
  const fail = (answer: { __typename: string; code?: string; message?: string }) => {
    if (answer.__typename.endsWith('Success')) return false;
    setError(refusalInWords(answer));
    return true;
  };

  async function run(transition: Transition) {
    dialog.current?.close();
    setError(undefined);
    if (transition.action === 'delete') {
      if (fail((await request(DELETE, { id: user.id })).deleteUser)) return;
      return navigate('/users');
    }
    if (transition.action === 'block' || transition.action === 'unblock') {
      const { updateUser: answer } = await request(SET_BLOCKED, {
        id: user.id,
        update: { $set: { blocked: transition.action === 'block' } },
      });
      if (answer.__typename === 'InvalidInputError' && answer.issues.length > 0) return setError(profileRefused(transition, answer.issues));
      if (!fail(answer)) onDone(`${transition.label}: done.`);
      return;
    }
    const answer =
      transition.action === 'softDelete'
        ? (await request(SOFT_DELETE, { id: user.id })).softDeleteUser
        : (await request(CHANGE_STATE, { changes: [{ filter: { _id: user.id }, stateTo: transition.stateTo! }] })).changeUsersState;
    if (!fail(answer)) onDone(`${transition.label}: done.`);
  }

  async function simple(action: () => Promise<{ __typename: string; code?: string; message?: string }>, message: string) {
    setError(undefined);
    if (!fail(await action())) onDone(message);
  }
  // One action at a time: a double click on Register ran it twice (the second answered "job
  // user-creation:… exists already" under "Identity created"), on Send password e-mail sent two.
  // Ignored, not disabled: a disabled button would drop the keyboard focus to the page's start.
  const [, once] = useOnce();
  const warning = pending && ownAccountWarning(pending, isOwnAccount(user.authUserId));
  const guard = (work: () => Promise<unknown>) => void once(work).catch((caught: Error) => setError(caught.message));

  return (
    <section aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="actions">
        <button type="button" onClick={() => ask(user.blocked ? UNBLOCK : BLOCK)}>
          {user.blocked ? 'Unblock…' : 'Block…'}
        </button>
        {user.authUserId ? (
          <>
            <button
              type="button"
              onClick={() =>
                guard(() =>
                  simple(
                    async () => (await request(PASSWORD_MAIL, { authUserId: user.authUserId! })).requestPasswordChange,
                    'Password e-mail sent.',
                  ),
                )
              }
            >
              Send password e-mail
            </button>
            <button
              type="button"
              onClick={() => guard(() => simple(async () => (await request(UNLOCK, { id: user.id })).unlockUser, 'Login lockout cleared.'))}
            >
              Unlock
            </button>
          </>
        ) : (
          <button
            type="button"
            onClick={() =>
              guard(() =>
                simple(
                  async () => (await request(REGISTER, { id: user.id })).registerUser,
                  'Identity created; a password e-mail was sent.',
                ),
              )
            }
          >
            Register (create its identity)
          </button>
        )}
      </div>
      <h3>State</h3>
      <div class="actions">
        {transitionsFrom(user.state).map((transition) => (
          <button type="button" key={transition.label} onClick={() => ask(transition)}>
            {transition.label}…
          </button>
        ))}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <dialog ref={dialog} aria-labelledby="confirm-title" aria-describedby="confirm-effect">
        <h2 id="confirm-title">{pending?.label}?</h2>
        <p id="confirm-effect">{pending?.effect}</p>
        {warning && (
          <p class="error" role="alert">
            {warning}
          </p>
        )}
        <button type="button" onClick={() => pending && guard(() => run(pending))}>
          {pending?.label}
        </button>{' '}
        <button type="button" onClick={() => dialog.current?.close()}>
          Cancel
        </button>
      </dialog>
    </section>
  );
}
