import { useEffect, useState } from 'preact/hooks';
import { request } from '../lib/client.js';
import { graphql, type ResultOf } from '../lib/graphql.js';
import { TableBox } from '../components/table-box.js';

const JOBS = graphql(`
  query Jobs($after: String, $status: JobStatus, $kind: JobKind) {
    jobs(first: 20, after: $after, status: $status, kind: $kind) {
      hasNextPage
      endCursor
      nodes {
        jobId
        kind
        status
        createdAt
        updatedAt
        total
        processed
        failed
        error
      }
    }
  }
`);

type Job = ResultOf<typeof JOBS>['jobs']['nodes'][number];
const KIND_LABEL = { BULK_ACTIVATION: 'Bulk activation', BULK_PASSWORD_CHANGE: 'Password e-mails' } as const;

function progressOf(job: Job): string {
  if (job.total === null) return job.status === 'pending' ? 'waiting' : '—';
  const failed = job.failed ? `, ${job.failed} failed` : '';
  return `${job.processed ?? 0} of ${job.total}${failed}`;
}

/** Recent bulk jobs and their state, newest first. */
export function Jobs() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [status, setStatus] = useState('');
  const [data, setData] = useState<ResultOf<typeof JOBS>>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const variables = { after: cursors.at(-1) ?? null, ...(status && { status: status as Job['status'] }) };
    request(JOBS, variables).then(setData, (caught: Error) => setError(caught.message));
  }, [cursors, status]);
  return (
    <>
      <h1 tabIndex={-1}>Jobs</h1>
      <label>
        Status{' '}
        <select
          value={status}
          onChange={(event) => {
            setStatus(event.currentTarget.value);
            setCursors([null]);
          }}
        >
          <option value="">Any</option>
          <option value="pending">Pending</option>
          <option value="completed">Completed</option>
          <option value="failed">Failed</option>
        </select>
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <TableBox label="Recent bulk jobs">
        <table>
          <caption>Recent bulk jobs</caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Started</th>
              <th scope="col">Last step</th>
            </tr>
          </thead>
          <tbody>
            {data?.jobs.nodes.map((job) => (
              <tr key={job.jobId}>
                <td>
                  <code>{job.jobId}</code>
                </td>
                <td>{KIND_LABEL[job.kind]}</td>
                <td>{job.error ? `${job.status}: ${job.error}` : job.status}</td>
                <td>{progressOf(job)}</td>
                <td>{new Date(job.createdAt).toLocaleString()}</td>
                <td>{new Date(job.updatedAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableBox>
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer jobs
        </button>
        <button type="button" disabled={!data?.jobs.hasNextPage} onClick={() => setCursors([...cursors, data!.jobs.endCursor ?? null])}>
          Older jobs
        </button>
      </nav>
    </>
  );
}
