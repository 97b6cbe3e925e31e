/**
 * The metrics port: what the service counts, named in its own terms. Operations (resolvers/),
 * adapters and transports record through it; only observability/prometheus.ts knows prom-client,
 * and only deps.ts picks it (test/architecture.test.ts keeps it so). docs/observability.md lists
 * each metric this becomes.
 */
export type UpstreamOutcome = 'success' | 'client_error' | 'server_error' | 'unreachable' | 'circuit_open';

export type GraphQLOutcome = 'success' | 'error' | 'invalid';

export type LoginOutcome = 'success' | 'failure' | 'locked' | 'throttled' | 'error';

/** A job reaching a state: created (pending), finished (completed or failed). */
export type JobState = 'pending' | 'completed' | 'failed';

export type ImportRowOutcome = 'inserted' | 'updated' | 'invalid';

export interface Metrics {
  /** One HTTP request answered: its route template (never a raw path), method, status and duration. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  /** One GraphQL operation executed (or refused by validation). */
  graphqlOperation(name: string, outcome: GraphQLOutcome): void;
  /** Identity-provider calls made by one GraphQL operation that read identities (1 for a page, whatever its size). */
  identityCallsPerOperation(calls: number): void;
  /** One call to an upstream (retries included), as the request that made it saw it. */
  upstreamCall(upstream: string, outcome: UpstreamOutcome, seconds: number): void;
  job(kind: string, state: JobState): void;
  importRows(outcome: ImportRowOutcome, count: number): void;
  login(outcome: LoginOutcome): void;
  /** A login name locked after too many failures in a row. */
  lockout(): void;
  /** The exposition for `GET /-/metrics`. */
  scrape(): Promise<{ contentType: string; text: string }>;
}

/** The upstream part of the port, what clients/http.ts needs. */
export type UpstreamMetrics = Pick<Metrics, 'upstreamCall'>;

/** METRICS_ENABLED=false: nothing is counted and `/-/metrics` is not served. */
export const noMetrics: Metrics = {
  httpRequest: () => undefined,
  graphqlOperation: () => undefined,
  identityCallsPerOperation: () => undefined,
  upstreamCall: () => undefined,
  job: () => undefined,
  importRows: () => undefined,
  login: () => undefined,
  lockout: () => undefined,
  scrape: async () => ({ contentType: 'text/plain', text: '' }),
};
