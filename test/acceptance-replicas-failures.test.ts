import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplicaPair, startReplicaPair } from './helpers/replica-pair.js';

/**
 * The failures the usage page documents (spec/ums-usage.md), on two replicas behind a round-robin
 * client (helpers/replica-pair.ts): a 500 `Error while …` after the earlier steps were undone, a
 * Timer error ignored on DELETE, a soft delete resumed from its intermediate state.
 */
const PASSWORD = 'Accept-pass-1';
let pair: ReplicaPair;
let crud: ReplicaPair['crud'];
let auth0: ReplicaPair['auth0'];
let timer: ReplicaPair['timer'];

beforeAll(async () => {
  pair = await startReplicaPair();
  ({ crud, auth0, timer } = pair);
}, 90_000);

afterAll(() => pair?.stop());

const call: ReplicaPair['call'] = (...args) => pair.call(...args);
const profile: ReplicaPair['profile'] = (id) => pair.profile(id);

describe('documented failures on two replicas behind round robin', () => {
  const ids = { gary: '' };

  it('documented failures: a failed Auth0 creation backtracks the CRUD entry (500 "Error while …")', async () => {
    auth0.failNext('POST', /\/api\/v2\/users$/, 500);
    const failed = await call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'gary',
      email: 'gary@example.com',
      password: PASSWORD,
    });
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ statusCode: 500, error: 'Internal Server Error' });
    expect(failed.body.message).toMatch(/^Error while /);
    expect(crud.docs('/users').some((doc) => doc.username === 'gary')).toBe(false);
    expect([...auth0.users.values()].some((user) => user.email === 'gary@example.com')).toBe(false);
    // The integrator's retry, on the other replica, succeeds.
    const retried = await call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'gary',
      email: 'gary@example.com',
      password: PASSWORD,
    });
    expect(retried.url).not.toBe(failed.url);
    expect(retried.status).toBe(200);
    ids.gary = retried.body._id;
  });

  it('documented failures: PATCH with a Timer error is 500 and leaves the user as it was', async () => {
    timer.failures.push({ path: '/schedule', status: 500 });
    const expirationDate = new Date(Date.now() + 3_600_000).toISOString();
    const failed = await call('PATCH', `/users/${ids.gary}`, { $set: { expirationDate, name: 'Gary' } });
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ statusCode: 500, error: 'Internal Server Error' });
    expect(failed.body.message).toMatch(/^Error while /);
    expect(profile(ids.gary).expirationDate).toBeUndefined();
    expect(profile(ids.gary).name).toBeUndefined();
  });

  it('documented failures: a soft delete that fails at TRASH → DELETED is 500, and resumes on the other replica', async () => {
    const created = await call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'erin',
      email: 'erin@example.com',
      password: PASSWORD,
    });
    expect(created.status).toBe(200);
    const erin = created.body._id as string;
    const authUserId = profile(erin).authUserId as string;
    expect((await call('POST', '/users/state', [{ filter: { _id: erin }, stateTo: 'TRASH' }])).body).toBe(1);
    crud.failNext('POST', /\/users\/[^/]+\/state/, 500);
    const failed = await call('POST', `/users/${erin}/soft-delete`);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ statusCode: 500, error: 'Internal Server Error' });
    expect(failed.body.message).toMatch(/^Error while soft deleting user: /);
    expect(profile(erin).__STATE__).toBe('TRASH');
    expect(auth0.users.get(authUserId)!.blocked).toBe(true);
    const resumed = await call('POST', `/users/${erin}/soft-delete`);
    expect(resumed.url).not.toBe(failed.url);
    expect(resumed.status).toBe(204);
    expect(profile(erin).__STATE__).toBe('DELETED');
    expect(auth0.users.has(authUserId)).toBe(false);
  });

  it('documented failures: DELETE ignores a Timer error (204), and a CRUD error is 500 "Error while deleting user: …"', async () => {
    const expirationDate = new Date(Date.now() + 3_600_000).toISOString();
    expect((await call('PATCH', `/users/${ids.gary}`, { $set: { expirationDate } })).status).toBe(200);
    crud.failNext('GET', /\/users\/[^/]+$/, 500);
    crud.failNext('DELETE', /\/users\/[^/]+$/, 500);
    const failed = await call('DELETE', `/users/${ids.gary}`);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ statusCode: 500, error: 'Internal Server Error' });
    expect(failed.body.message).toMatch(/^Error while deleting user: /);
    crud.failures.splice(0);
    const { authUserId } = profile(ids.gary) as unknown as { authUserId: string };
    timer.failures.push({ path: '/abort', status: 500 });
    const deleted = await call('DELETE', `/users/${ids.gary}`);
    expect(deleted.status).toBe(204);
    expect(profile(ids.gary)).toBeUndefined();
    expect(auth0.users.has(authUserId)).toBe(false);
  });
});
