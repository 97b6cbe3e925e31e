import { useState } from 'preact/hooks';
import { request } from '../lib/client.js';
import { graphql } from '../lib/graphql.js';
import { navigate } from '../lib/router.js';
import { checkSession } from '../lib/me.js';
import { afterLogin, session } from '../lib/session.js';

/** The client type the service treats as a website client: the session is an HttpOnly sid cookie. */
export const CONSOLE_CLIENT_TYPE = 'ums-console';

const LOGIN = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      __typename
      ... on Error {
        message
      }
      ... on TooManyRequestsError {
        retryAfterSeconds
      }
    }
  }
`);

const LOGOUT = graphql(`
  mutation Logout {
    logout {
      __typename
    }
  }
`);

export async function logoutNow(): Promise<void> {
  await request(LOGOUT, {}).catch(() => undefined);
  session.value = { state: 'anonymous', notice: 'You have logged out.' };
  navigate('/login', { replace: true });
}

export function Login({ notice }: { notice?: string | undefined }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      const variables = { username: String(form.get('username')), password: String(form.get('password')) };
      const { login } = await request(LOGIN, variables, { headers: { 'client-type': CONSOLE_CLIENT_TYPE } });
      if (login.__typename !== 'MutationLoginSuccess') {
        setError(
          login.__typename === 'TooManyRequestsError' ? `Too many attempts: try again in ${login.retryAfterSeconds} s.` : login.message,
        );
        return;
      }
      const next = afterLogin();
      await checkSession();
      if (session.value.state === 'in') navigate(next, { replace: true });
      // Not an administrator: the session it just opened is closed again (the notice stays).
      else await request(LOGOUT, {}).catch(() => undefined);
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="login">
      <h1 tabIndex={-1}>Log in to the UMS console</h1>
      {notice && <p role="status">{notice}</p>}
      <form onSubmit={(event) => void submit(event)} aria-describedby={error ? 'login-error' : undefined}>
        <label>
          Username or e-mail
          <input name="username" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {error && (
          <p id="login-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
    </section>
  );
}
