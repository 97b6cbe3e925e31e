import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

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
const GRAPHQL_SENDERS = readdirSync(new URL('test/', ROOT), { recursive: true, encoding: 'utf8' })
  .map((file) => `test/${file}`)
  // The browser tests open GraphiQL: their one document is sent by other tests already.
  .filter((file) => file.endsWith('.test.ts') && !file.startsWith('test/e2e/'))
  .filter((file) => /\.graphql\(|\/graphql\b/.test(readFileSync(new URL(file, ROOT), 'utf8')));

export default defineConfig({
  // Pothos and yoga load graphql through require(); without this alias vitest would load the ESM
  // build too and graphql-js refuses types "from another module or realm".
  resolve: { alias: { graphql: require.resolve('graphql') } },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // REST exchanges of the tests are checked against the OpenAPI document.
    setupFiles: ['test/helpers/openapi-check.ts'],
    projects: [
      { extends: true, test: { name: 'embedded', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'crud', include: [...IDENTITY_SUITE, 'test/groups-delete.test.ts'], env: { UMS_TEST_STORE: 'crud' } },
      },
      { extends: true, test: { name: 'auth0', include: IDENTITY_SUITE, env: { UMS_TEST_IDENTITY: 'auth0' } } },
      { extends: true, test: { name: 'auth0Client', include: IDENTITY_SUITE, env: { UMS_TEST_IDENTITY: 'auth0Client' } } },
      // What users deploy: profiles in the CRUD Service, identities in Auth0.
      { extends: true, test: { name: 'crud+auth0', include: IDENTITY_SUITE, env: { UMS_TEST_STORE: 'crud', UMS_TEST_IDENTITY: 'auth0' } } },
      // Two replicas on the same CRUD and Auth0 emulators, requests alternating between them (docs/replicas.md).
      {
        extends: true,
        test: {
          name: 'replicas',
          include: REPLICA_SUITE,
          env: { UMS_TEST_STORE: 'crud', UMS_TEST_IDENTITY: 'auth0', UMS_TEST_REPLICAS: '2' },
        },
      },
      {
        extends: true,
        test: {
          name: 'jit-shadow',
          include: GRAPHQL_SENDERS,
          env: { GRAPHQL_JIT_SHADOW: 'true' },
          setupFiles: ['test/helpers/jit-shadow.ts'],
        },
      },
    ],
  },
});
