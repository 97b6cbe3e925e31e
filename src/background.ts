import type { Deps } from './context.js';
import { activationJob } from './resolvers/activation.js';
import { systemContext } from './context.js';
import { expireUser, userExpireRepair } from './resolvers/expiration.js';
import { JobWorker } from './infra/job-worker.js';
import { passwordChangeJob } from './resolvers/passwords.js';
import { userCreationRepair } from './resolvers/user-repair.js';
import { userDeletionRepair } from './resolvers/user-deletion.js';
import { userSyncRepair } from './resolvers/user-sync.js';
import { userExpiryRepair } from './resolvers/expiry-intents.js';

/** Stops the background work; answers once it has stopped, or at once when `signal` aborts (shutdown deadline). */
export type StopBackground = (signal?: AbortSignal) => Promise<void>;

/**
 * Work the service does by itself: the embedded scheduler blocking expired users, and the bulk
 * jobs. Answers a stop function: jobs in progress stop at their next save and hand their leases back.
 */
export function startBackground(deps: Deps): StopBackground {
  deps.scheduler.start?.((payload) => expireUser(systemContext(deps, 'expiration'), payload));
  const worker = new JobWorker(deps, [
    activationJob,
    passwordChangeJob,
    userCreationRepair,
    userDeletionRepair,
    userSyncRepair,
    userExpiryRepair,
    userExpireRepair,
  ]);
  worker.start();
  return async (signal) => {
    deps.scheduler.stop?.();
    await worker.stop(signal);
  };
}
