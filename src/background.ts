import type { Deps } from './context.js';
import { activationJob } from './resolvers/activation.js';
import { systemContext } from './resolvers/access.js';
import { expireUser } from './resolvers/expiration.js';
import { JobWorker } from './resolvers/jobs.js';
import { passwordChangeJob } from './resolvers/passwords.js';

/**
 * Work the service does by itself: the embedded scheduler blocking expired users, and the bulk
 * jobs. Answers a stop function.
 */
export function startBackground(deps: Deps): () => void {
  deps.scheduler.start?.((payload) => expireUser(systemContext(deps, 'expiration'), payload));
  const worker = new JobWorker(deps, [activationJob, passwordChangeJob]);
  worker.start();
  return () => {
    deps.scheduler.stop?.();
    worker.stop();
  };
}
