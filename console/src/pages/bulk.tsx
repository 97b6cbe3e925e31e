import { useState } from 'preact/hooks';
import { BulkActions } from '../components/bulk-actions.js';
import { Field } from '../components/field.js';
import { ImportReport, type ReportRow, reportRows } from '../components/import-report.js';
import { request, upload } from '../lib/client.js';
import { graphql } from '../lib/graphql.js';
import { filterOf, STATES, statesOf } from '../lib/users-query.js';

const IMPORT = graphql(`
  mutation Import($file: Upload!, $delimiter: String) {
    importUsers(file: $file, delimiter: $delimiter) {
      __typename
      ... on MutationImportUsersSuccess {
        data {
          inserted
          updated
          invalid {
            row
            error
          }
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const IDS = graphql(`
  query MatchingUsers($filter: JSONObject, $states: [UserState!], $after: String) {
    users(first: 200, after: $after, filter: $filter, states: $states) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        authUserId
      }
    }
  }
`);

/** Every user the filter matches (pages of 200), for a bulk action started from a filter. */
async function matching(group: string, state: string) {
  const query = { search: '', group, state, sort: 'username', after: '' };
  const found: { id: string; authUserId: string | null }[] = [];
  let after: string | null = null;
  do {
    const { users }: { users: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: typeof found } } = await request(IDS, {
      filter: filterOf(query, false),
      states: statesOf(query),
      after,
    });
    found.push(...users.nodes);
    after = users.pageInfo.hasNextPage ? users.pageInfo.endCursor : null;
  } while (after);
  return found;
}

export function Bulk() {
  const [file, setFile] = useState<File>();
  const [delimiter, setDelimiter] = useState(',');
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [summary, setSummary] = useState<string>();
  const [report, setReport] = useState<ReportRow[]>();
  const [error, setError] = useState<string>();
  const [group, setGroup] = useState('');
  const [state, setState] = useState('PUBLIC');

  const drop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    const dropped = event.dataTransfer?.files[0];
    if (dropped) setFile(dropped);
  };

  async function importFile(event: SubmitEvent) {
    event.preventDefault();
    if (!file) return setError('Choose or drop a CSV file first.');
    setBusy(true);
    setError(undefined);
    setReport(undefined);
    setSummary(undefined);
    try {
      const { importUsers: answer } = await upload(IMPORT, { file, delimiter }, file);
      if (answer.__typename !== 'MutationImportUsersSuccess') return setError(answer.message);
      const { inserted, updated, invalid } = answer.data;
      // A file with a header line only, or no CSV at all, is answered with three empty lists.
      if (inserted.length + updated.length + invalid.length === 0) return setError(`${file.name} holds no rows: nothing was imported.`);
      setSummary(`${inserted.length} inserted, ${updated.length} updated, ${invalid.length} rows refused.`);
      setReport(reportRows(invalid));
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1 tabIndex={-1}>Bulk</h1>
      <section aria-labelledby="import-title">
        <h2 id="import-title">Import users from CSV</h2>
        <form onSubmit={(event) => void importFile(event)}>
          <div
            class={over ? 'dropzone over' : 'dropzone'}
            onDragOver={(event) => {
              event.preventDefault();
              setOver(true);
            }}
            onDragLeave={() => setOver(false)}
            onDrop={drop}
          >
            <label>
              CSV file (drop it here, or choose it)
              <input type="file" accept=".csv,text/csv" onChange={(event) => setFile(event.currentTarget.files?.[0])} />
            </label>
            <p>{file ? `Chosen: ${file.name} (${file.size} bytes)` : 'No file chosen.'}</p>
          </div>
          <Field label="Delimiter">
            <input value={delimiter} maxLength={1} size={2} onInput={(event) => setDelimiter(event.currentTarget.value || ',')} />
          </Field>
          <button type="submit" disabled={busy}>
            Import
          </button>
        </form>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {summary && <p role="status">{summary}</p>}
        {report && <ImportReport rows={report} />}
      </section>
      <section aria-labelledby="filter-title">
        <h2 id="filter-title">Bulk actions on a filter</h2>
        <div class="filters">
          <Field label="Users of the group (empty: every group)">
            <input value={group} onInput={(event) => setGroup(event.currentTarget.value)} />
          </Field>
          <Field label="In the state">
            <select value={state} onChange={(event) => setState(event.currentTarget.value)}>
              {STATES.map((option) => (
                <option key={option}>{option}</option>
              ))}
            </select>
          </Field>
        </div>
        <BulkActions
          users={[]}
          label={`users of ${group || 'every group'} in ${state}`}
          load={() => matching(group, state)}
          none={`No user of ${group ? `the group ${group}` : 'any group'} is ${state}`}
        />
      </section>
    </>
  );
}
