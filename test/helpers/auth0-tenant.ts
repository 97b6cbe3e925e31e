/**
 * The Auth0 tenant the emulator plays in tests and benchmarks. A module of its own, so that a
 * benchmark's service process imports it without the test helpers and emulators.
 */
export const AUTH0_TEST_TENANT = {
  clientId: 'ums-client',
  clientSecret: 'ums-secret-0123456789',
  connection: 'Username-Password-Authentication',
  audience: 'https://ums.test/api',
};
