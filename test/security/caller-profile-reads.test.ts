import { afterAll, beforeAll, expect, it } from 'vitest';
import { CallerProfiles, readCallerProfile } from '../../src/infra/caller-profiles.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * The access check reads the caller's profile once per request, though the Auth0 authenticator
 * asks for its version too (to judge its identity cache): both share the one read. Counted with
 * no profile cache (TTL 0), as REPLICAS=shared runs, where every read is a store call.
 */
const anonymous = { 'x-api-key': '' };
let service: TestService;
let reads = 0;

beforeAll(async () => {
  service = await startService({
    identity: 'auth0',
    env: { RANDOM_PWD_GEN: 'false' },
    wrap: (deps) => ({
      callerProfiles: new CallerProfiles(async (authUserId) => {
        reads += 1;
        return readCallerProfile(deps.users, authUserId);
      }, 0),
    }),
  });
  await seedGroups(service);
  await service.deps.groups.saveGroup(
    { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
    { actorId: 't', headers: {} },
  );
});
afterAll(() => service.close());

it('reads the profile of a bearer token once per request, its identity cached or not', async () => {
  const user = { userGroup: 'admin', username: 'once1', email: 'once1@example.com', password: 'Correct-horse-9' };
  expect((await service.call('POST', '/users/?sendResetPwdEmail=false', user)).status).toBe(200);
  const login = await service.call('POST', '/oauth/token', { username: user.username, password: user.password }, anonymous);
  const auth = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
  for (let turn = 0; turn < 3; turn += 1) {
    const before = reads;
    expect((await service.call('GET', '/users/count', undefined, auth)).status).toBe(200);
    expect(reads - before).toBe(1);
  }
});
