import { useEffect, useState } from 'preact/hooks';
import { useOnce } from '../lib/once.js';
import { Field } from '../components/field.js';
import { ProfileFields } from '../components/profile-form.js';
import { UserActions } from '../components/user-actions.js';
import { request } from '../lib/client.js';
import { graphql, type ResultOf } from '../lib/graphql.js';
import { navigate } from '../lib/router.js';
import { type FormField, type FormValue, formFields, fromFormValues, toFormValues } from '../lib/schema-form.js';
import { conflictIssues, FIX_FIELDS, issuesByField, summaryOf } from '../lib/form-issues.js';
import { saveUser, type UserDraft } from '../lib/user-save.js';

const USER = graphql(`
  query User($id: ID!) {
    user(id: $id) {
      __typename
      ... on NotFoundError {
        message
      }
      ... on QueryUserSuccess {
        data {
          id
          username
          email
          userGroup
          state
          blocked
          roles
          expirationDate
          authUserId
          properties
          createdAt
          identity {
            lastLogin
            loginsCount
            blocked
          }
        }
      }
    }
    userGroups {
      userGroup
      label
      crudSchema
      authUserCreationDisabled
    }
    roles {
      roleId
      name
    }
  }
`);

type Loaded = ResultOf<typeof USER>;
type User = Extract<Loaded['user'], { __typename: 'QueryUserSuccess' }>['data'];

const MOVE_EFFECT =
  "Saving moves the user to this group: its profile is checked against the group's schema, and its sessions end (its rights change).";

const localInput = (iso: string | null | undefined) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');

/** A user's page (`id`), or the creation of one. */
export function UserPage({ id }: { id?: string }) {
  const [loaded, setLoaded] = useState<Loaded>();
  const [user, setUser] = useState<User>();
  const [draft, setDraft] = useState<UserDraft>({ userGroup: '', username: '', email: '', roles: [], expirationDate: '' });
  const [values, setValues] = useState<Map<string, FormValue>>(new Map());
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [identity, setIdentity] = useState<'now' | 'later'>('now');
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<string>();
  const [saving, once] = useOnce();

  async function load() {
    const data = await request(USER, { id: id ?? '' });
    setLoaded(data);
    if (!id) return;
    if (data.user.__typename !== 'QueryUserSuccess') return setError(data.user.message);
    const found = data.user.data;
    setUser(found);
    setDraft({
      userGroup: found.userGroup,
      username: found.username ?? '',
      email: found.email ?? '',
      roles: found.roles,
      expirationDate: localInput(found.expirationDate),
    });
    setValues(toFormValues(fieldsOf(data, found.userGroup), found.properties));
  }
  useEffect(() => {
    load().catch((caught: Error) => setError(caught.message));
  }, [id]);

  const fields: FormField[] = loaded ? fieldsOf(loaded, draft.userGroup) : [];
  const change = (name: string, value: FormValue) => setValues(new Map(values).set(name, value));

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    setNotice(undefined);
    setError(undefined);
    const parsed = fromFormValues(fields, values);
    setErrors(parsed.errors);
    if (parsed.errors.size > 0) return setError(FIX_FIELDS);
    const answer = await saveUser({ id, draft, parsed, postpone: identity === 'later' });
    if (answer.ok) {
      if (!id) {
        setNotice('User created.');
        return navigate(`/users/${encodeURIComponent(answer.id)}`, { replace: true });
      }
      setNotice('Saved.');
      return load();
    }
    const names = [...fields.map((field) => field.name), 'username', 'email', 'expirationDate', 'roles'];
    const issues = answer.issues.length > 0 ? answer.issues : conflictIssues(answer.message);
    setErrors(issuesByField(issues, names));
    setError(summaryOf({ message: answer.message, issues }, names));
  }

  return (
    <>
      <h1 tabIndex={-1}>{id ? `User ${user?.username ?? user?.email ?? ''}` : 'New user'}</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && <p role="status">{notice}</p>}
      {user && <IdentityPanel user={user} />}
      {loaded && (id === undefined || user) && (
        <form noValidate onSubmit={(event) => void once(() => submit(event)).catch((caught: Error) => setError(caught.message))}>
          <Field label="Group" hint={user && draft.userGroup !== user.userGroup ? MOVE_EFFECT : undefined}>
            <select value={draft.userGroup} required onChange={(event) => setDraft({ ...draft, userGroup: event.currentTarget.value })}>
              <option value="">Choose a group</option>
              {loaded.userGroups.map((group) => (
                <option key={group.userGroup} value={group.userGroup}>
                  {group.label} ({group.userGroup})
                </option>
              ))}
            </select>
          </Field>
          <Field label="Username" error={errors.get('username')} errorId="error-username">
            <input
              value={draft.username}
              autocomplete="off"
              onInput={(event) => setDraft({ ...draft, username: event.currentTarget.value })}
            />
          </Field>
          <Field label="E-mail" error={errors.get('email')} errorId="error-email">
            <input
              type="email"
              value={draft.email}
              autocomplete="off"
              onInput={(event) => setDraft({ ...draft, email: event.currentTarget.value })}
            />
          </Field>
          <Field label="Expiration date (UTC)" error={errors.get('expirationDate')} errorId="error-expirationDate">
            <input
              type="datetime-local"
              value={draft.expirationDate}
              onInput={(event) => setDraft({ ...draft, expirationDate: event.currentTarget.value })}
            />
          </Field>
          <RolesPicker roles={loaded.roles} chosen={draft.roles} onChange={(roles) => setDraft({ ...draft, roles })} />
          {draft.userGroup && <ProfileFields fields={fields} values={values} errors={errors} onChange={change} />}
          {!id && (
            <fieldset>
              <legend>Identity</legend>
              <label class="inline">
                <input type="radio" name="identity" checked={identity === 'now'} onChange={() => setIdentity('now')} /> Create the identity
                now (a password e-mail is sent)
              </label>
              <label class="inline">
                <input type="radio" name="identity" checked={identity === 'later'} onChange={() => setIdentity('later')} /> Profile only:
                register it later
              </label>
            </fieldset>
          )}
          <button type="submit" disabled={saving}>
            {id ? 'Save changes' : 'Create user'}
          </button>
        </form>
      )}
      {user && <UserActions user={user} onDone={(message) => void load().then(() => setNotice(message))} />}
    </>
  );
}

function fieldsOf(data: Loaded, userGroup: string): FormField[] {
  return formFields(data.userGroups.find((group) => group.userGroup === userGroup)?.crudSchema);
}

function IdentityPanel({ user }: { user: User }) {
  const identity = user.identity;
  return (
    <section aria-labelledby="identity-title">
      <h2 id="identity-title">Identity</h2>
      <dl>
        <dt>State</dt>
        <dd>{user.state}</dd>
        <dt>Identity</dt>
        <dd>{user.authUserId ?? 'none yet (registration postponed)'}</dd>
        <dt>Last login</dt>
        <dd>{identity?.lastLogin ? new Date(identity.lastLogin).toLocaleString() : 'never'}</dd>
        <dt>Logins</dt>
        <dd>{identity?.loginsCount ?? 0}</dd>
        <dt>Blocked</dt>
        <dd>{(identity?.blocked ?? user.blocked) ? 'yes' : 'no'}</dd>
      </dl>
    </section>
  );
}

function RolesPicker({
  roles,
  chosen,
  onChange,
}: {
  roles: { roleId: string; name: string }[];
  chosen: string[];
  onChange(roles: string[]): void;
}) {
  const all = [...new Set([...roles.map((role) => role.roleId), ...chosen])];
  if (all.length === 0) return null;
  const toggle = (role: string) => onChange(chosen.includes(role) ? chosen.filter((item) => item !== role) : [...chosen, role]);
  return (
    <fieldset>
      <legend>Roles</legend>
      {all.map((role) => (
        <label key={role} class="inline">
          <input type="checkbox" checked={chosen.includes(role)} onChange={() => toggle(role)} />{' '}
          {roles.find((known) => known.roleId === role)?.name ?? role}
        </label>
      ))}
    </fieldset>
  );
}
