import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Metrics } from '../ports/metrics.js';

/** Seconds: the REST page answers in about 1 ms, a request is cut at REQUEST_TIMEOUT_MS (15 s). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];
/** Operation names are the client's: the first ones seen get a series each, later ones share `other`. */
const MAX_OPERATION_NAMES = 100;
/** A GraphQL name is one token however long: a longer one (500,000 characters were sent) shares `other` too. */
const MAX_OPERATION_NAME_LENGTH = 100;

/**
 * Node's process metrics (CPU, memory, event-loop lag, GC, handles) once per process: they
 * describe the process, and collecting them starts monitors that a second service in the same
 * process (tests) would only duplicate. Every service's registry is merged with this one.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The metrics port over prom-client, with its own registry (so two services in one process count apart). */
export function createPrometheusMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const http = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route template, method and status code: duration in seconds',
    labelNames: ['route', 'method', 'status_code'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const upstream = new Histogram({
    name: 'ums_upstream_request_duration_seconds',
    help: 'Calls to an upstream (CRUD, Auth0, auth0-client, Timer, Rond, SMTP) by outcome, retries included: duration in seconds',
    labelNames: ['upstream', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const operations = new Counter({
    name: 'ums_graphql_operations_total',
    help: 'GraphQL operations by operation name and outcome (success, error, invalid)',
    labelNames: ['operation', 'outcome'],
    registers,
  });
  const identityCalls = new Histogram({
    name: 'ums_graphql_identity_calls_per_operation',
    help: 'Identity-provider calls made by one GraphQL operation that read identities',
    buckets: [1, 2, 3, 5, 10, 25, 100],
    registers,
  });
  const jobs = new Counter({
    name: 'ums_jobs_total',
    help: 'Jobs by kind and the state they reached',
    labelNames: ['kind', 'state'],
    registers,
  });
  const importRows = new Counter({ name: 'ums_import_rows_total', help: 'CSV import rows by outcome', labelNames: ['outcome'], registers });
  const logins = new Counter({ name: 'ums_logins_total', help: 'Login attempts by outcome', labelNames: ['outcome'], registers });
  const lockouts = new Counter({ name: 'ums_login_lockouts_total', help: 'Login names locked after too many failures', registers });
  const scraped = Registry.merge([processMetrics(), registry]);

  // The request histogram is on the hot path: one child per label set, found by one map lookup
  // instead of prom-client hashing the label object on every observation.
  const httpChildren = new Map<string, ReturnType<typeof http.labels>>();
  const operationNames = new Set<string>();
  return {
    httpRequest(route, method, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let child = httpChildren.get(key);
      if (!child) httpChildren.set(key, (child = http.labels(labels({ route, method, status_code: String(status) }))));
      child.observe(seconds);
    },
    graphqlOperation(name, outcome) {
      const fits = name.length <= MAX_OPERATION_NAME_LENGTH;
      if (fits && !operationNames.has(name) && operationNames.size < MAX_OPERATION_NAMES) operationNames.add(name);
      operations.inc(labels({ operation: operationNames.has(name) ? name : 'other', outcome }));
    },
    identityCallsPerOperation: (calls) => identityCalls.observe(calls),
    upstreamCall: (name, outcome, seconds) => upstream.observe(labels({ upstream: name, outcome }), seconds),
    job: (kind, state) => jobs.inc(labels({ kind, state })),
    importRows: (outcome, count) => importRows.inc(labels({ outcome }), count),
    login: (outcome) => logins.inc(labels({ outcome })),
    lockout: () => lockouts.inc(),
    scrape: async () => ({ contentType: scraped.contentType, text: await scraped.metrics() }),
  };
}

/**
 * Label sets without a prototype: prom-client reads label objects with `for…in`, so a property
 * someone put on Object.prototype would become an unknown label and throw in a response's
 * `close` handler, which would end the process.
 */
function labels<T extends Record<string, string>>(values: T): T {
  return Object.assign(Object.create(null) as T, values);
}
