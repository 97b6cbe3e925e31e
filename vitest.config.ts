import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import type { InlineConfig } from 'vitest/node';

const require = createRequire(import.meta.url);

/**
 * The integration suite of user management, run once per profile store and per identity provider.
 * `test/security/*.test.ts` are attacks that apply to every backend; those that only apply to the
 * embedded adapters live in `test/security/embedded/` (run by the embedded project alone).
 */
const STORE_SUITE = [
  'test/users-*.test.ts',
  'test/sagas.test.ts',
  'test/graphql.test.ts',
  'test/security/*.test.ts',
  'test/reliability/*.test.ts',
];
/** What of the authentication suite holds whatever the identity provider (access control, throttling). */
const IDENTITY_SUITE = [...STORE_SUITE, 'test/auth.test.ts', 'test/access-control.test.ts', 'test/userinfo.test.ts'];
/**
 * Attacks on the profile store's updates, exports and HTTP handling, where no identity is read or
 * written: the embedded and crud projects run them, the other identity providers add only time.
 */
const STORE_ONLY = [
  'test/security/update-operands.test.ts',
  'test/security/update-paths.test.ts',
  'test/security/write-columns.test.ts',
  'test/security/export-head.test.ts',
  'test/security/export-slow-client.test.ts',
  'test/security/graphql-route-attacks.test.ts',
  'test/security/http-hygiene.test.ts',
  'test/security/long-queries.test.ts',
  'test/security/import-bounds.test.ts',
];

/**
 * What must hold whichever replica a request reaches: user management, authentication, bulk jobs
 * (test/replicas.test.ts runs the cross-replica flows on two processes). Left out: the per-address
 * login window of access-control.test.ts, which is per replica by design (docs/replicas.md), and
 * files that would add time but no state a replica could keep (reads, updates, imports, /userinfo's
 * property rules): the whole suite must not get slower.
 */
const REPLICA_SUITE = [
  'test/users-create.test.ts',
  'test/users-bulk-jobs.test.ts',
  'test/auth.test.ts',
  'test/security/demoted-admin.test.ts',
];

/**
 * The test files that send GraphQL requests, run again with GRAPHQL_JIT_SHADOW=true: every document
 * graphql-jit runs is run by graphql-js too, and any difference fails the test (src/graphql-jit-shadow.ts).
 */
const ROOT = new URL('./', import.meta.url);
const TEST_FILES = ['test', 'src'].flatMap((folder) =>
  readdirSync(new URL(`${folder}/`, ROOT), { recursive: true, encoding: 'utf8' })
    .map((file) => `${folder}/${file}`)
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => ({ file, text: readFileSync(new URL(file, ROOT), 'utf8') })),
);
/**
 * Senders whose documents other files send too, and whose time goes to something else: the parse
 * cache's memory (1,000 throwaway documents), the upstream breakers, the login lockout.
 */
const NOT_SHADOWED = new Set([
  'test/security/embedded/graphql-parse-cache.test.ts',
  'test/breaker.test.ts',
  'test/security/embedded/login-lockout.test.ts',
]);
const GRAPHQL_SENDERS = TEST_FILES
  // The browser tests open GraphiQL: their one document is sent by other tests already.
  .filter(({ file, text }) => !file.startsWith('test/e2e/') && !NOT_SHADOWED.has(file) && /\.graphql\(|\/graphql\b/.test(text))
  .map(({ file }) => file);

/**
 * Test files run without isolation: the files of a worker share the loaded modules (the app, its
 * schema, graphql-js), which cost more CPU to load than most files take to run (issue #18: the
 * suite's CPU time fell by almost 2/3). A file that replaces a module (`vi.mock`) would leak it into
 * the files after it, so each project's mocking files run in a `-mocks` twin that isolates them.
 */
/**
 * Files run isolated besides the mocking ones: passwords.test.ts once saw a fresh reset ticket
 * refused in the full jit-shadow run, never alone; until the state it shares is found, it runs
 * with its own modules. Searched for on 2026-12-06 without finding it: 65 shared-worker runs
 * passed (whole project, shuffled, loaded, after each sender file alone) and no module-level
 * state its tickets, throttles or clock depend on was found (docs/decisions.md).
 */
const ISOLATED_TOO = ['test/passwords.test.ts'];
const MOCKING = new Set(
  TEST_FILES.filter(({ file, text }) => /\bvi\.(do)?mock\(/.test(text) || ISOLATED_TOO.includes(file)).map(({ file }) => file),
);
const NOT_MOCKING = TEST_FILES.map(({ file }) => file).filter((file) => !MOCKING.has(file));

type Project = { name: string; include: string[]; skip?: string[] } & Omit<InlineConfig, 'name' | 'include'>;

/** The project without its mocking files, and its twin that runs them alone, isolated. */
function withMocksIsolated({ name, include, skip = [], ...options }: Project): TestProjectInlineConfiguration[] {
  return [
    { extends: true, test: { ...options, name, include, exclude: [...configDefaults.exclude, ...MOCKING, ...skip] } },
    {
      extends: true,
      test: { ...options, name: `${name}-mocks`, include, exclude: [...configDefaults.exclude, ...NOT_MOCKING, ...skip], isolate: true },
    },
  ];
}

/**
 * The jit shadow compares two GraphQL engines, whatever the Node.js line: .ci/run's second line
 * (UMS_CI_SECOND_LINE, Node.js 24) leaves it to the first, to keep CI under its time limit.
 */
const SHADOWED = process.env.UMS_CI_SECOND_LINE === undefined;

export default defineConfig({
  // Pothos and yoga load graphql through require(); without this alias vitest would load the ESM
  // build too and graphql-js refuses types "from another module or realm".
  resolve: { alias: { graphql: require.resolve('graphql') } },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // REST exchanges of the tests are checked against the OpenAPI document.
    setupFiles: ['test/helpers/openapi-check.ts'],
    isolate: false,
    // vitest's default on 2 cores is 1 worker; the tests often wait (spawned services, emulators on
    // loopback, the job worker's polls), so a second one keeps both cores busy.
    maxWorkers: 2,
    projects: [
      { name: 'embedded', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] },
      { name: 'crud', include: [...IDENTITY_SUITE, 'test/groups-delete.test.ts'], env: { UMS_TEST_STORE: 'crud' } },
      { name: 'auth0', include: IDENTITY_SUITE, skip: STORE_ONLY, env: { UMS_TEST_IDENTITY: 'auth0' } },
      { name: 'auth0Client', include: IDENTITY_SUITE, skip: STORE_ONLY, env: { UMS_TEST_IDENTITY: 'auth0Client' } },
      // What users deploy: profiles in the CRUD Service, identities in Auth0.
      { name: 'crud+auth0', include: IDENTITY_SUITE, skip: STORE_ONLY, env: { UMS_TEST_STORE: 'crud', UMS_TEST_IDENTITY: 'auth0' } },
      // Two replicas on the same CRUD and Auth0 emulators, requests alternating between them (docs/replicas.md).
      { name: 'replicas', include: REPLICA_SUITE, env: { UMS_TEST_STORE: 'crud', UMS_TEST_IDENTITY: 'auth0', UMS_TEST_REPLICAS: '2' } },
      ...(SHADOWED
        ? [
            {
              name: 'jit-shadow',
              include: GRAPHQL_SENDERS,
              env: { GRAPHQL_JIT_SHADOW: 'true' },
              setupFiles: ['test/helpers/jit-shadow.ts'],
            },
          ]
        : []),
    ].flatMap(withMocksIsolated),
  },
});
