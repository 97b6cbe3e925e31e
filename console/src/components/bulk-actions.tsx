import { useState } from 'preact/hooks';
import { request } from '../lib/client.js';
import { graphql } from '../lib/graphql.js';
import { JobProgress } from './job-progress.js';

const ACTIVATE = graphql(`
  mutation StartActivation($userIds: [ID!]!) {
    startBulkActivation(userIds: $userIds) {
      __typename
      ... on MutationStartBulkActivationSuccess {
        data {
          jobId
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const MAIL = graphql(`
  mutation StartPasswordMails($authUserIds: [String!]!) {
    startBulkPasswordChange(authUserIds: $authUserIds) {
      __typename
      ... on MutationStartBulkPasswordChangeSuccess {
        data {
          jobId
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

interface Target {
  id: string;
  authUserId?: string | null;
}

/** Bulk activation and bulk password e-mails for a set of users, each followed by a live progress bar. */
export function BulkActions({
  users,
  label,
  load,
  none,
}: {
  users: Target[];
  label: string;
  load?: () => Promise<Target[]>;
  /** What to say when `load` finds no user at all (a group name mistyped, a state nobody is in). */
  none?: string;
}) {
  const [jobs, setJobs] = useState<{ jobId: string; label: string }[]>([]);
  const [error, setError] = useState<string>();
  const targets = async (nothing: string) => {
    const found = load ? await load() : users;
    if (found.length === 0 && none) throw new Error(`${none}: ${nothing}.`);
    return found;
  };

  async function activate() {
    setError(undefined);
    const chosen = (await targets('nothing to activate')).filter((user) => !user.authUserId).map((user) => user.id);
    if (chosen.length === 0) return setError('None of these users lacks an identity: nothing to activate.');
    const { startBulkActivation: answer } = await request(ACTIVATE, { userIds: chosen });
    if (answer.__typename !== 'MutationStartBulkActivationSuccess') return setError(answer.message);
    setJobs([{ jobId: answer.data.jobId, label: `Activation of ${chosen.length} users` }, ...jobs]);
  }

  async function mail() {
    setError(undefined);
    const chosen = (await targets('no password e-mail to send')).flatMap((user) => (user.authUserId ? [user.authUserId] : []));
    if (chosen.length === 0) return setError('None of these users has an identity: no password e-mail to send.');
    const { startBulkPasswordChange: answer } = await request(MAIL, { authUserIds: chosen });
    if (answer.__typename !== 'MutationStartBulkPasswordChangeSuccess') return setError(answer.message);
    setJobs([{ jobId: answer.data.jobId, label: `Password e-mails to ${chosen.length} users` }, ...jobs]);
  }

  const run = (action: () => Promise<unknown>) => () => void action().catch((caught: Error) => setError(caught.message));
  const empty = !load && users.length === 0;
  return (
    <section class="bulk" aria-label={`Bulk actions: ${label}`}>
      <h2>Bulk actions: {label}</h2>
      <button type="button" disabled={empty} onClick={run(activate)}>
        Activate (create identities)
      </button>{' '}
      <button type="button" disabled={empty} onClick={run(mail)}>
        Send password e-mails
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {jobs.map((job) => (
        <JobProgress key={job.jobId} jobId={job.jobId} label={job.label} />
      ))}
    </section>
  );
}
