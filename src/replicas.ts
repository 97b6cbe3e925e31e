import type { Config } from './config.js';
import { StartupError } from './startup.js';

/** A piece of state, whether the configuration keeps it upstream, and the variable that would. */
interface SharedState {
  state: string;
  upstream: (config: Config) => boolean;
  set: string;
}

/**
 * Everything a replica would otherwise keep in its own embedded file or memory, in the order an
 * operator would fix it (docs/replicas.md has the whole table, caches and throttles included).
 */
const SHARED_STATE: SharedState[] = [
  { state: 'profiles and user groups', upstream: (c) => c.USERS_CRUD_ENDPOINT !== undefined, set: 'USERS_CRUD_ENDPOINT' },
  { state: 'identities, tokens and lockouts', upstream: (c) => c.AUTH_MODULE !== 'embedded', set: 'AUTH_MODULE=auth0 or auth0Client' },
  // With the auth0-client its own sessions serve (its sid cookie); the embedded provider is refused above.
  {
    state: 'website sessions',
    upstream: (c) => c.AUTH_MODULE !== 'auth0' || c.SESSIONS_CRUD_ENDPOINT !== undefined,
    set: 'SESSIONS_CRUD_ENDPOINT',
  },
  { state: 'bulk jobs', upstream: (c) => c.JOBS_CRUD_ENDPOINT !== undefined, set: 'JOBS_CRUD_ENDPOINT' },
  { state: 'expiration schedules', upstream: (c) => c.TIMER_SERVICE !== undefined, set: 'TIMER_SERVICE' },
  // Generated into the embedded file otherwise: a callback reaching another replica would be refused.
  { state: 'the Timer callback secret', upstream: (c) => c.TIMER_CALLBACK_SECRET !== undefined, set: 'TIMER_CALLBACK_SECRET' },
  { state: 'roles and bindings', upstream: (c) => c.ROND_ENABLED, set: 'ROND_ENABLED=true' },
  // Only the embedded provider writes mail (Auth0 sends its own).
  { state: 'the mail outbox', upstream: (c) => c.SMTP_URL !== undefined || c.AUTH_MODULE !== 'embedded', set: 'SMTP_URL' },
];

/** The pieces of state this configuration would keep per replica, each with the variable that moves it upstream. */
export function perReplicaState(config: Config): string[] {
  return SHARED_STATE.filter((piece) => !piece.upstream(config)).map((piece) => `${piece.state} (set ${piece.set})`);
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

/**
 * What REPLICAS=shared starts with but should not, one line each (logged as warnings): the Timer
 * Service calls expirations back at UMS_BASE_URL, and a loopback address there (its default) is
 * only reachable from this machine, or one replica's own address, which is gone with it.
 */
export function sharedStateWarnings(config: Config): string[] {
  if (config.REPLICAS !== 'shared' || config.TIMER_SERVICE === undefined) return [];
  if (!LOOPBACK.test(new URL(config.UMS_BASE_URL).hostname)) return [];
  return [
    `REPLICAS=shared with TIMER_SERVICE, but UMS_BASE_URL is ${config.UMS_BASE_URL}: the Timer Service calls expirations back there; ` +
      "set UMS_BASE_URL to the service's shared address (its load balancer), or an expiry is lost when the replica it names is gone",
  ];
}

/** With REPLICAS=shared, refuses to start (one line) while any state would stay in this replica. */
export function checkSharedState(config: Config): void {
  if (config.REPLICAS !== 'shared') return;
  const missing = perReplicaState(config);
  if (missing.length === 0) return;
  throw new StartupError(`REPLICAS=shared, but this state would stay in each replica: ${missing.join(', ')}; see docs/replicas.md`);
}
