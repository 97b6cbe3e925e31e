import { useEffect, useState } from 'preact/hooks';
import { subscribe } from '../lib/client.js';
import { graphql, type ResultOf } from '../lib/graphql.js';

export const JOB_PROGRESS = graphql(`
  subscription JobProgress($id: ID!) {
    jobProgress(id: $id) {
      jobId
      kind
      status
      total
      processed
      failed
      error
    }
  }
`);

type Progress = ResultOf<typeof JOB_PROGRESS>['jobProgress'];

/** A job's live progress bar: the jobProgress subscription, until the job ends. */
export function JobProgress({ jobId, label }: { jobId: string; label: string }) {
  const [progress, setProgress] = useState<Progress>();
  const [problem, setProblem] = useState<string>();
  useEffect(
    () =>
      subscribe(
        JOB_PROGRESS,
        { id: jobId },
        { onNext: (data) => setProgress(data.jobProgress), onError: setProblem, onComplete: () => undefined },
      ),
    [jobId],
  );
  const total = progress?.total ?? null;
  const done = progress?.processed ?? 0;
  const percent = total ? Math.round((100 * done) / total) : progress?.status === 'completed' ? 100 : 0;
  const state = !progress ? 'starting' : progress.status === 'pending' ? 'running' : progress.status;
  return (
    <div class="job">
      <label>
        {label}: {state}
        <progress max={100} value={percent} aria-valuetext={`${percent}%`}>
          {percent}%
        </progress>
      </label>
      <p role="status" aria-live="polite">
        {percent}% — {done} of {total ?? '?'} users done
        {progress?.failed ? `, ${progress.failed} failed` : ''}
        {progress?.error ? `: ${progress.error}` : ''}
      </p>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
