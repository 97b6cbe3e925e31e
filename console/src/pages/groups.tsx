import { useEffect, useRef, useState } from 'preact/hooks';
import { Field } from '../components/field.js';
import { request } from '../lib/client.js';
import { graphql, type ResultOf } from '../lib/graphql.js';
import { type Located, locateSchemaError, parseJson } from '../lib/json-locate.js';
import { lacking } from '../lib/group-check.js';
import { navigate } from '../lib/router.js';
import { TableBox } from '../components/table-box.js';

const GROUPS = graphql(`
  query Groups {
    userGroups {
      userGroup
      label
      authUserCreationDisabled
    }
  }
`);
const GROUP = graphql(`
  query Group($name: String!, $members: JSONObject!) {
    userGroup(userGroup: $name) {
      __typename
      ... on QueryUserGroupSuccess {
        data {
          userGroup
          label
          authUserCreationDisabled
          crudSchema
        }
      }
      ... on NotFoundError {
        message
      }
    }
    usersCount(filter: $members, states: [PUBLIC, DRAFT, TRASH, DELETED])
  }
`);
const SAVE = graphql(`
  mutation SaveGroup($input: UserGroupInput!) {
    saveUserGroup(input: $input) {
      __typename
      ... on Error {
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
const DELETE = graphql(`
  mutation DeleteGroup($name: String!) {
    deleteUserGroup(userGroup: $name) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

export function Groups() {
  const [groups, setGroups] = useState<ResultOf<typeof GROUPS>['userGroups']>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    request(GROUPS, {}).then(
      ({ userGroups }) => setGroups(userGroups),
      (caught: Error) => setError(caught.message),
    );
  }, []);
  return (
    <>
      <h1 tabIndex={-1}>Groups</h1>
      <p>
        <a href="/admin/groups/new">Create a group</a>
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <TableBox label="User groups">
        <table>
          <caption>User groups</caption>
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Label</th>
              <th scope="col">Identities</th>
            </tr>
          </thead>
          <tbody>
            {groups?.map((group) => (
              <tr key={group.userGroup}>
                <td>
                  <a href={`/admin/groups/${encodeURIComponent(group.userGroup)}`}>{group.userGroup}</a>
                </td>
                <td>{group.label}</td>
                <td>{group.authUserCreationDisabled ? 'Profiles only' : 'Created with the profile'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableBox>
    </>
  );
}

const EMPTY_SCHEMA = JSON.stringify({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, null, 2);

/** Creates or edits a group; the JSON Schema's errors are shown under the editor and the caret put on them. */
export function GroupEdit({ name }: { name?: string }) {
  const [loaded, setLoaded] = useState(!name);
  const [label, setLabel] = useState('');
  const [group, setGroup] = useState(name ?? '');
  const [disabled, setDisabled] = useState(false);
  const [schema, setSchema] = useState(EMPTY_SCHEMA);
  const [users, setUsers] = useState(0);
  const [problem, setProblem] = useState<Located>();
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const [missing, setMissing] = useState<{ name?: string; label?: string }>({});
  const editor = useRef<HTMLTextAreaElement>(null);
  const confirmDelete = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    if (!name) return;
    request(GROUP, { name, members: { userGroup: name } }).then(
      ({ userGroup, usersCount }) => {
        if (userGroup.__typename !== 'QueryUserGroupSuccess') return setError(userGroup.message);
        setLabel(userGroup.data.label);
        setDisabled(userGroup.data.authUserCreationDisabled);
        setSchema(JSON.stringify(userGroup.data.crudSchema, null, 2));
        setUsers(usersCount);
        setLoaded(true);
      },
      (caught: Error) => setError(caught.message),
    );
  }, [name]);

  const show = (located: Located) => {
    setProblem(located);
    if (located.at !== undefined) editor.current?.setSelectionRange(located.at, located.at + 1);
    editor.current?.focus();
  };

  async function save(event: SubmitEvent) {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    const lacks = await lacking(group, label, !name);
    setMissing(lacks);
    if (lacks.name || lacks.label) return;
    const parsed = parseJson(schema);
    if ('error' in parsed) return show(parsed.error);
    setProblem(undefined);
    const input = { userGroup: group, label, authUserCreationDisabled: disabled, crudSchema: parsed.value as Record<string, unknown> };
    const { saveUserGroup: answer } = await request(SAVE, { input });
    if (answer.__typename === 'MutationSaveUserGroupSuccess') {
      setSaved(`Group ${group} saved.`);
      if (!name) navigate(`/groups/${encodeURIComponent(group)}`, { replace: true });
      return;
    }
    const schemaIssue =
      answer.__typename === 'InvalidInputError' ? answer.issues.find((issue) => issue.path[0] === 'crudSchema') : undefined;
    if (schemaIssue) show(locateSchemaError(schema, schemaIssue.message));
    else setError(answer.message);
  }

  // A dialog of the page, as a user's transitions have: a native confirm() is dismissed unseen by a
  // headless browser, and cannot be styled or described.
  async function remove() {
    confirmDelete.current?.close();
    if (!name) return;
    const { deleteUserGroup: answer } = await request(DELETE, { name });
    if (answer.__typename !== 'MutationDeleteUserGroupSuccess') return setError(answer.message);
    navigate('/groups');
  }

  const where = problem?.line ? ` (line ${problem.line}, column ${problem.column})` : '';
  return (
    <>
      <h1 tabIndex={-1}>{name ? `Group ${name}` : 'New group'}</h1>
      {!loaded && !error && <p role="status">Loading…</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {loaded && (
        <form noValidate onSubmit={(event) => void save(event).catch((caught: Error) => setError(caught.message))}>
          <Field label="Group name" error={missing.name} errorId="error-group-name">
            <input value={group} required readOnly={Boolean(name)} onInput={(event) => setGroup(event.currentTarget.value)} />
          </Field>
          <Field label="Label" error={missing.label} errorId="error-group-label">
            <input value={label} required onInput={(event) => setLabel(event.currentTarget.value)} />
          </Field>
          <label class="inline">
            <input type="checkbox" checked={disabled} onChange={(event) => setDisabled(event.currentTarget.checked)} /> Profiles only (no
            identity created with a user)
          </label>
          <Field label="JSON Schema of the group's users" error={problem && `${problem.message}${where}`} errorId="schema-error">
            <textarea ref={editor} rows={18} spellcheck={false} value={schema} onInput={(event) => setSchema(event.currentTarget.value)} />
          </Field>
          <button type="submit">Save group</button>{' '}
          {name && (
            <button type="button" disabled={users > 0} onClick={() => confirmDelete.current?.showModal()}>
              Delete group…
            </button>
          )}
          {name && users > 0 && <p class="hint">{users} users belong to this group: it can be deleted once it has none.</p>}
          {saved && <p role="status">{saved}</p>}
        </form>
      )}
      <dialog ref={confirmDelete} aria-labelledby="delete-title" aria-describedby="delete-effect">
        <h2 id="delete-title">Delete the group {name}?</h2>
        <p id="delete-effect">Its configuration and JSON Schema are removed; no user is in it.</p>
        <button type="button" onClick={() => void remove().catch((caught: Error) => setError(caught.message))}>
          Delete group
        </button>{' '}
        <button type="button" onClick={() => confirmDelete.current?.close()}>
          Cancel
        </button>
      </dialog>
    </>
  );
}
