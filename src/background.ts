import type { Deps } from './context.js';
import { systemContext } from './resolvers/access.js';
import { expireUser } from './resolvers/expiration.js';

/** Work the service does by itself: the embedded scheduler blocking expired users. Answers a stop function. */
export function startBackground(deps: Deps): () => void {
  deps.scheduler.start?.((payload) => expireUser(systemContext(deps, 'expiration'), payload));
  return () => deps.scheduler.stop?.();
}
