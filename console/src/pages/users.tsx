import { useEffect, useState } from 'preact/hooks';
import { BulkActions } from '../components/bulk-actions.js';
import { ColumnPicker } from '../components/column-picker.js';
import { Field } from '../components/field.js';
import { request, type RequestError } from '../lib/client.js';
import { type Column, COLUMNS, loadColumns, saveColumns } from '../lib/columns.js';
import { download } from '../lib/download.js';
import { graphql, type ResultOf } from '../lib/graphql.js';
import { navigate, route } from '../lib/router.js';
import {
  exportUrl,
  FIRST_PAGE_NOTE,
  pageTrail,
  readQuery,
  refusedPage,
  SORTS,
  STATES,
  statesOf,
  textSearchFallback,
  type UsersQuery,
  writeQuery,
} from '../lib/users-query.js';
import { TableBox } from '../components/table-box.js';

export const USERS = graphql(`
  query Users($first: Int!, $after: String, $filter: JSONObject, $states: [UserState!], $sort: [String!]) {
    users(first: $first, after: $after, filter: $filter, states: $states, sort: $sort) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        username
        email
        userGroup
        state
        blocked
        roles
        createdAt
        expirationDate
        authUserId
        identity {
          lastLogin
        }
      }
    }
    userGroups {
      userGroup
      label
    }
  }
`);

type UserRow = ResultOf<typeof USERS>['users']['nodes'][number];
const PAGE = 25;
const search = textSearchFallback();

function cell(user: UserRow, column: Column): string {
  if (column === 'lastLogin') return user.identity?.lastLogin ? new Date(user.identity.lastLogin).toLocaleString() : '—';
  if (column === 'roles') return user.roles.join(', ');
  if (column === 'blocked') return user.blocked ? 'Yes' : 'No';
  if (column === 'createdAt' || column === 'expirationDate') return user[column] ? new Date(user[column]).toLocaleString() : '—';
  return user[column] ?? '—';
}

function fetchPage(query: UsersQuery) {
  const variables = { first: PAGE, after: query.after || null, states: statesOf(query), sort: [query.sort] };
  return search.run(query, (filter) => request(USERS, { ...variables, filter }));
}

export function Users() {
  const query = readQuery(route.value.search);
  const trail = pageTrail(query, history.state);
  const [data, setData] = useState<ResultOf<typeof USERS>>();
  const [error, setError] = useState<string>();
  const [columns, setColumns] = useState(loadColumns);
  const [selected, setSelected] = useState<Set<string>>(new Set());

  useEffect(() => {
    setError(undefined);
    setSelected(new Set());
    fetchPage(query).then(setData, (caught: RequestError) => {
      // A page the service refuses (a link edited by hand): its first page, said, not "invalid cursor".
      if (caught.code !== 'INVALID_INPUT' || !query.after) return setError(caught.message);
      navigate(`/users${writeQuery({ ...query, after: '' })}`, { replace: true, state: { refused: true } });
    });
  }, [route.value.search]);

  // A filter starts again at the first page; a page of the list is a history entry of its own.
  const update = (change: Partial<UsersQuery>) => navigate(`/users${writeQuery({ ...query, ...change, after: '' })}`, { replace: true });
  const goTo = (after: string, earlier: string[]) => navigate(`/users${writeQuery({ ...query, after })}`, { state: { trail: earlier } });
  const chooseColumns = (next: Column[]) => {
    setColumns(next);
    saveColumns(next);
  };
  const nodes = data?.users.nodes ?? [];
  const chosen = nodes.filter((user) => selected.has(user.id));
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (!next.delete(id)) next.add(id);
    setSelected(next);
  };

  return (
    <>
      <h1 tabIndex={-1}>Users</h1>
      <p>
        <a href="/admin/users/new">Create a user</a>
      </p>
      <form class="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <Field label="Search username or e-mail">
          <input type="search" value={query.search} onChange={(event) => update({ search: event.currentTarget.value })} />
        </Field>
        <Field label="Group">
          <select value={query.group} onChange={(event) => update({ group: event.currentTarget.value })}>
            <option value="">All groups</option>
            {data?.userGroups.map((group) => (
              <option key={group.userGroup} value={group.userGroup}>
                {group.label} ({group.userGroup})
              </option>
            ))}
          </select>
        </Field>
        <Field label="State">
          <select value={query.state} onChange={(event) => update({ state: event.currentTarget.value })}>
            {STATES.map((state) => (
              <option key={state}>{state}</option>
            ))}
            <option value="ANY">Any state</option>
          </select>
        </Field>
        <Field label="Sort by">
          <select value={query.sort} onChange={(event) => update({ sort: event.currentTarget.value })}>
            {SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </Field>
      </form>
      <ColumnPicker chosen={columns} onChange={chooseColumns} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {refusedPage(history.state) && <p role="alert">{FIRST_PAGE_NOTE}</p>}
      <p role="status">{data ? `${data.users.totalCount} users` : !error && 'Loading users…'}</p>
      <TableBox label="Users">
        <table>
          <caption>Users, page {trail.length + 1}</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Selected</span>
              </th>
              {COLUMNS.filter(([name]) => columns.includes(name)).map(([name, label]) => (
                <th scope="col" key={name}>
                  {label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {nodes.map((user) => (
              <tr key={user.id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${user.username ?? user.email ?? user.id}`}
                    checked={selected.has(user.id)}
                    onChange={() => toggle(user.id)}
                  />
                </td>
                {COLUMNS.filter(([name]) => columns.includes(name)).map(([name], index) => (
                  <td key={name}>
                    {index === 0 ? <a href={`/admin/users/${encodeURIComponent(user.id)}`}>{cell(user, name)}</a> : cell(user, name)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </TableBox>
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={trail.length === 0} onClick={() => goTo(trail.at(-1) ?? '', trail.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!data?.users.pageInfo.hasNextPage}
          onClick={() => goTo(data!.users.pageInfo.endCursor ?? '', [...trail, query.after])}
        >
          Next page
        </button>
        <button
          type="button"
          onClick={() =>
            void download(exportUrl(query, search.textSearch), 'text/csv', 'users.csv').catch((e: Error) => setError(e.message))
          }
        >
          Export as CSV
        </button>
      </nav>
      <BulkActions users={chosen} label={`${chosen.length} selected users`} />
    </>
  );
}
