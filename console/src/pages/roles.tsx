import { useEffect, useRef, useState } from 'preact/hooks';
import { Field } from '../components/field.js';
import { TableBox } from '../components/table-box.js';
import { request } from '../lib/client.js';
import { graphql, type ResultOf } from '../lib/graphql.js';
import { useOnce } from '../lib/once.js';

const ROLES = graphql(`
  query RolesPage {
    roles {
      roleId
      name
      permissions
    }
  }
`);
const SAVE = graphql(`
  mutation SaveRolePage($input: RoleInput!) {
    saveRole(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);
const DELETE = graphql(`
  mutation DeleteRolePage($roleId: String!) {
    deleteRole(roleId: $roleId) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

type Role = ResultOf<typeof ROLES>['roles'][number];

/**
 * The roles users can be given (the user page lists them as checkboxes): without this page a fresh
 * service had none, and the console could not give a user any role.
 */
export function Roles() {
  const [roles, setRoles] = useState<Role[]>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [pending, setPending] = useState<string>();
  const dialog = useRef<HTMLDialogElement>(null);
  const load = () =>
    request(ROLES, {}).then(
      ({ roles: found }) => setRoles(found),
      (caught: Error) => setError(caught.message),
    );
  useEffect(() => void load(), []);

  async function remove(roleId: string) {
    dialog.current?.close();
    setError(undefined);
    const { deleteRole: answer } = await request(DELETE, { roleId });
    if (answer.__typename !== 'MutationDeleteRoleSuccess') return setError(answer.message);
    setNotice(`Role ${roleId} deleted.`);
    await load();
  }

  return (
    <>
      <h1 tabIndex={-1}>Roles</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && <p role="status">{notice}</p>}
      <TableBox label="Roles">
        <table>
          <caption>Roles users can be given</caption>
          <thead>
            <tr>
              <th scope="col">Role id</th>
              <th scope="col">Name</th>
              <th scope="col">Permissions</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {roles?.map((role) => (
              <tr key={role.roleId}>
                <td>{role.roleId}</td>
                <td>{role.name}</td>
                <td>{role.permissions.join(', ')}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => {
                      setPending(role.roleId);
                      dialog.current?.showModal();
                    }}
                  >
                    Delete {role.roleId}…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableBox>
      {roles?.length === 0 && <p>No role yet: add one below.</p>}
      <NewRole onSaved={(roleId) => void load().then(() => setNotice(`Role ${roleId} saved.`))} />
      <dialog ref={dialog} aria-labelledby="role-delete-title" aria-describedby="role-delete-effect">
        <h2 id="role-delete-title">Delete the role {pending}?</h2>
        <p id="role-delete-effect">Users keep the id in their roles, but it grants nothing any more.</p>
        <button type="button" onClick={() => pending && void remove(pending).catch((caught: Error) => setError(caught.message))}>
          Delete role
        </button>{' '}
        <button type="button" onClick={() => dialog.current?.close()}>
          Cancel
        </button>
      </dialog>
    </>
  );
}

function NewRole({ onSaved }: { onSaved(roleId: string): void }) {
  const [role, setRole] = useState({ roleId: '', name: '', permissions: '' });
  const [missing, setMissing] = useState<{ roleId?: string; name?: string }>({});
  const [error, setError] = useState<string>();
  const [saving, once] = useOnce();

  async function save() {
    const lacks = {
      ...(!role.roleId.trim() && { roleId: "Enter the role's id." }),
      ...(!role.name.trim() && { name: 'Enter a name.' }),
    };
    setMissing(lacks);
    setError(undefined);
    if (lacks.roleId || lacks.name) return;
    const permissions = role.permissions
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    const { saveRole: answer } = await request(SAVE, { input: { roleId: role.roleId.trim(), name: role.name.trim(), permissions } });
    if (answer.__typename !== 'MutationSaveRoleSuccess') return setError(answer.message);
    setRole({ roleId: '', name: '', permissions: '' });
    onSaved(role.roleId.trim());
  }

  return (
    <form
      noValidate
      aria-labelledby="new-role-title"
      onSubmit={(event) => {
        event.preventDefault();
        void once(save).catch((caught: Error) => setError(caught.message));
      }}
    >
      <h2 id="new-role-title">Add or replace a role</h2>
      <Field label="Role id" error={missing.roleId} errorId="error-role-id">
        <input value={role.roleId} onInput={(event) => setRole({ ...role, roleId: event.currentTarget.value })} />
      </Field>
      <Field label="Name" error={missing.name} errorId="error-role-name">
        <input value={role.name} onInput={(event) => setRole({ ...role, name: event.currentTarget.value })} />
      </Field>
      <Field label="Permissions" hint="One per line, e.g. users.read.">
        <textarea rows={4} value={role.permissions} onInput={(event) => setRole({ ...role, permissions: event.currentTarget.value })} />
      </Field>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={saving}>
        Add role
      </button>
    </form>
  );
}
