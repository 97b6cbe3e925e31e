import { useEffect, useState } from 'preact/hooks';
import { request, type RequestError } from '../lib/client.js';
import { graphql, type ResultOf } from '../lib/graphql.js';
import { TableBox } from '../components/table-box.js';
import { navigate, route } from '../lib/router.js';
import { FIRST_PAGE_NOTE, pageTrail, refusedPage } from '../lib/users-query.js';

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
const STATUSES = ['pending', 'completed', 'failed'];
const KIND_LABEL = { BULK_ACTIVATION: 'Bulk activation', BULK_PASSWORD_CHANGE: 'Password e-mails' } as const;

function progressOf(job: Job): string {
  if (job.total === null) return job.status === 'pending' ? 'waiting' : '—';
  const failed = job.failed ? `, ${job.failed} failed` : '';
  return `${job.processed ?? 0} of ${job.total}${failed}`;
}

/** Recent bulk jobs and their state, newest first. */
export function Jobs() {
  // The filter and the page are in the URL (the earlier pages in the history entry), as the users list's.
  const params = new URLSearchParams(route.value.search);
  const status = STATUSES.includes(params.get('status') ?? '') ? params.get('status')! : '';
  const after = params.get('after') ?? '';
  const trail = pageTrail({ after }, history.state);
  const [data, setData] = useState<ResultOf<typeof JOBS>>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const variables = { after: after || null, ...(status && { status: status as Job['status'] }) };
    setError(undefined);
    request(JOBS, variables).then(setData, (caught: RequestError) => {
      // A page the service refuses (a link edited by hand): the first page, said, as on the users list.
      if (caught.code !== 'INVALID_INPUT' || !after) return setError(caught.message);
      const query = status ? `?${new URLSearchParams({ status }).toString()}` : '';
      navigate(`/jobs${query}`, { replace: true, state: { refused: true } });
    });
  }, [route.value.search]);
  const go = (next: { status: string; after: string }, earlier: string[], replace = false) => {
    const query = new URLSearchParams({ ...(next.status && { status: next.status }), ...(next.after && { after: next.after }) }).toString();
    navigate(`/jobs${query ? `?${query}` : ''}`, { replace, state: { trail: earlier } });
  };
  return (
    <>
      <h1 tabIndex={-1}>Jobs</h1>
      <label>
        Status{' '}
        <select value={status} onChange={(event) => go({ status: event.currentTarget.value, after: '' }, [], true)}>
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
      {refusedPage(history.state) && <p role="alert">{FIRST_PAGE_NOTE}</p>}
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
        <button type="button" disabled={trail.length === 0} onClick={() => go({ status, after: trail.at(-1) ?? '' }, trail.slice(0, -1))}>
          Newer jobs
        </button>
        <button
          type="button"
          disabled={!data?.jobs.hasNextPage}
          onClick={() => go({ status, after: data!.jobs.endCursor ?? '' }, [...trail, after])}
        >
          Older jobs
        </button>
      </nav>
    </>
  );
}
