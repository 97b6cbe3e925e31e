import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAIR_API_KEY, type ReplicaPair, startReplicaPair } from './helpers/replica-pair.js';

/**
 * An acceptance walk of every path of the usage page (spec/ums-usage.md), in the order an
 * integrator uses them, against two replicas in connected mode (CRUD, Auth0, Timer, Rönd emulators)
 * behind a round-robin client: each request goes to the next replica. What is asserted is what the
 * usage page documents (status codes, bodies) and what the upstreams received. The documented
 * failures are in acceptance-replicas-failures.test.ts.
 */
const PASSWORD = 'Accept-pass-1';
let pair: ReplicaPair;
let crud: ReplicaPair['crud'];
let auth0: ReplicaPair['auth0'];
let rond: ReplicaPair['rond'];
let timer: ReplicaPair['timer'];

beforeAll(async () => {
  pair = await startReplicaPair();
  ({ crud, auth0, rond, timer } = pair);
}, 90_000);

afterAll(() => pair?.stop());

const call: ReplicaPair['call'] = (...args) => pair.call(...args);
const settle: ReplicaPair['settle'] = (path) => pair.settle(path);
const profile: ReplicaPair['profile'] = (id) => pair.profile(id);
const users = (query = '') => call('GET', `/users/${query}`);
const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));
const ADMIN = { 'x-api-key': PAIR_API_KEY };

describe('acceptance walk of the usage page on two replicas behind round robin', () => {
  const ids = { alice: '', bob: '', carol: '', dave: '', gina: '', gary: '' };

  it('POST /users/ creates a user in the CRUD and in Auth0, with roles in Rönd (200 {_id})', async () => {
    const created = await call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'alice',
      email: 'alice@example.com',
      password: PASSWORD,
      name: 'Alice',
      age: 30,
      roles: ['reader'],
    });
    expect(created.status).toBe(200);
    expect(Object.keys(created.body)).toEqual(['_id']);
    ids.alice = created.body._id;
    const doc = profile(ids.alice);
    expect(doc).toMatchObject({ userGroup: 'customer', username: 'alice', email: 'alice@example.com', __STATE__: 'PUBLIC' });
    expect(auth0.users.get(doc.authUserId as string)).toMatchObject({ email: 'alice@example.com', blocked: false });
    expect(rond.rolesOf(doc.authUserId as string)).toEqual(['reader']);
    expect(auth0.passwordEmails).toEqual([]);
  });

  it('POST /users/ with expirationDate schedules the block on the Timer Service', async () => {
    const expirationDate = new Date(Date.now() + 86_400_000).toISOString();
    const created = await call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'bob',
      email: 'bob@example.com',
      password: PASSWORD,
      expirationDate,
    });
    expect(created.status).toBe(200);
    ids.bob = created.body._id;
    const doc = profile(ids.bob);
    expect(typeof doc.expirationId).toBe('string');
    const scheduled = timer.timers.get(doc.expirationId as string)!;
    expect(scheduled).toMatchObject({ status: 0, fireAt: Date.parse(expirationDate) });
  });

  it('POST /users/ refuses expirationId and a body off the group schema (400)', async () => {
    const withId = await call('POST', '/users/', { userGroup: 'customer', username: 'x', expirationId: 'abc' });
    expect(withId.status).toBe(400);
    expect(withId.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const offSchema = await call('POST', '/users/', { userGroup: 'customer', username: 'y', age: 'old' });
    expect(offSchema.status).toBe(400);
    expect(crud.docs('/users').some((doc) => doc.username === 'x' || doc.username === 'y')).toBe(false);
  });

  it('POST /users/ in a group with authUserCreationDisabled creates the profile only, without roles', async () => {
    const before = auth0.users.size;
    const created = await call('POST', '/users/', { userGroup: 'guest', username: 'gina', email: 'gina@example.com', roles: ['reader'] });
    expect(created.status).toBe(200);
    ids.gina = created.body._id;
    expect(profile(ids.gina).authUserId).toBeUndefined();
    expect(auth0.users.size).toBe(before);
  });

  it('POST /users/?postponeAuthUserCreation=true, then POST /users/register (204) on the other replica', async () => {
    const created = await call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'carol',
      email: 'carol@example.com',
    });
    expect(created.status).toBe(200);
    ids.carol = created.body._id;
    expect(profile(ids.carol).authUserId).toBeUndefined();
    const registered = await call('POST', '/users/register?sendResetPwdEmail=false', { _id: ids.carol, password: PASSWORD });
    expect(registered.url).not.toBe(created.url);
    expect(registered.status).toBe(204);
    expect(registered.text).toBe('');
    const authUserId = profile(ids.carol).authUserId as string;
    expect(auth0.users.get(authUserId)).toMatchObject({ email: 'carol@example.com' });
  });

  it('POST /users/register sent to both replicas at once (a retry): one 204, one 409 in the service words, one identity', async () => {
    const created = await call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'ruth',
      email: 'ruth@example.com',
    });
    const register = () => call('POST', '/users/register?sendResetPwdEmail=false', { _id: created.body._id, password: PASSWORD });
    const answers = await Promise.all([register(), register()]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([204, 409]);
    const refused = answers.find((answer) => answer.status === 409)!;
    expect(refused.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    // Not the job store's words ("A document with the same jobId already exists").
    expect(refused.body.message).toMatch(
      new RegExp(`^user ${created.body._id} (is being changed by another request|is already registered)`),
    );
    expect([...auth0.users.values()].filter((user) => user.email === 'ruth@example.com')).toHaveLength(1);
  });

  it('POST /users/register whose first read came before the other replica registered the user: 409 already registered, one identity', async () => {
    const created = await call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'rita',
      email: 'rita@example.com',
    });
    const id = created.body._id as string;
    const register = () => call('POST', '/users/register?sendResetPwdEmail=false', { _id: id, password: PASSWORD });
    // The first register's read of the profile is held at the CRUD while the other replica registers it.
    const read = crud.holdNext('GET', new RegExp(`/users/${id}$`));
    const late = register();
    await read.reached;
    const first = await register();
    expect(first.status).toBe(204);
    read.release();
    const second = await late;
    expect(second.url).not.toBe(first.url);
    const authUserId = profile(id).authUserId as string;
    // Before: 409 "The user already exists." (Auth0's words), the second identity refused.
    expect(second.body).toEqual({ statusCode: 409, error: 'Conflict', message: `user ${id} is already registered as ${authUserId}` });
    expect([...auth0.users.values()].filter((user) => user.email === 'rita@example.com')).toHaveLength(1);
    expect(crud.docs('/jobs').filter((job) => job.jobId === `user-creation:${id}`)).toEqual([]);
  });

  it('POST /users/with-id links an existing Auth0 user (200 {_id})', async () => {
    const existing = auth0.addUser({ email: 'dave@example.com', username: 'dave', password: PASSWORD });
    const created = await call('POST', '/users/with-id', {
      userGroup: 'customer',
      authUserId: existing.user_id,
      roles: ['writer'],
      name: 'Dave',
    });
    expect(created.status).toBe(200);
    expect(Object.keys(created.body)).toEqual(['_id']);
    ids.dave = created.body._id;
    expect(profile(ids.dave)).toMatchObject({ authUserId: existing.user_id, userGroup: 'customer', name: 'Dave' });
    expect(rond.rolesOf(existing.user_id)).toEqual(['writer']);
  });

  it('GET /users/ and /users/count proxy the CRUD query (_q, _l, _sk, _s, _p, _st) and forward acl_rows', async () => {
    const page = await users(`?userGroup=customer&_s=username&_l=2&_sk=1&_p=username,email`);
    expect(page.status).toBe(200);
    expect(page.body.map((user: { username: string }) => user.username)).toEqual(['bob', 'carol']);
    expect(Object.keys(page.body[0]).sort()).toEqual(['_id', 'email', 'username']);
    const byQuery = await users(`?_q=${q({ age: { $gte: 18 } })}`);
    expect(byQuery.body.map((user: { username: string }) => user.username)).toEqual(['alice']);
    const count = await call('GET', `/users/count?userGroup=customer`);
    expect(count.status).toBe(200);
    expect(count.body).toBe(6);
    const drafts = await call('GET', `/users/count?_st=DRAFT`);
    expect(drafts.body).toBe(0);
    const acl = await call('GET', '/users/?_s=username', undefined, { ...ADMIN, acl_rows: JSON.stringify({ username: 'dave' }) });
    expect(acl.body.map((user: { username: string }) => user.username)).toEqual(['dave']);
    const sent = crud.requests.filter((req) => req.method === 'GET' && req.path === '/users/' && req.headers.acl_rows);
    expect(sent.at(-1)?.headers.acl_rows).toBe(JSON.stringify({ username: 'dave' }));
  });

  it('GET /users/:id answers the user, 404 for an unknown id', async () => {
    const read = await call('GET', `/users/${ids.alice}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ _id: ids.alice, username: 'alice', userGroup: 'customer', name: 'Alice' });
    const unknown = await call('GET', '/users/65a000000000000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('PATCH /users/:id sets, changes and unsets expirationDate (Timer schedule, reschedule, abort)', async () => {
    const first = new Date(Date.now() + 3_600_000).toISOString();
    const set = await call('PATCH', `/users/${ids.alice}`, { $set: { expirationDate: first, name: 'Alice A.' } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ _id: ids.alice, name: 'Alice A.', expirationDate: first });
    const firstTimer = profile(ids.alice).expirationId as string;
    expect(timer.timers.get(firstTimer)).toMatchObject({ status: 0, fireAt: Date.parse(first) });

    const second = new Date(Date.now() + 7_200_000).toISOString();
    const changed = await call('PATCH', `/users/${ids.alice}`, { $set: { expirationDate: second } });
    expect(changed.url).not.toBe(set.url);
    expect(changed.status).toBe(200);
    const secondTimer = profile(ids.alice).expirationId as string;
    expect(secondTimer).not.toBe(firstTimer);
    expect(timer.timers.get(firstTimer)!.status).toBe(2);
    expect(timer.timers.get(secondTimer)).toMatchObject({ status: 0, fireAt: Date.parse(second) });

    const unset = await call('PATCH', `/users/${ids.alice}`, { $unset: { expirationDate: true } });
    expect(unset.status).toBe(200);
    expect(unset.body.expirationDate).toBeUndefined();
    expect(timer.timers.get(secondTimer)!.status).toBe(2);
    expect(profile(ids.alice).expirationId).toBeUndefined();
  });

  it('PATCH /users/:id refuses authUserId, expirationId and an unknown userGroup (400)', async () => {
    for (const body of [{ $set: { authUserId: 'auth0|other' } }, { $set: { expirationId: 'abc' } }, { $set: { userGroup: 'nobody' } }]) {
      const refused = await call('PATCH', `/users/${ids.alice}`, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
  });

  it('PATCH /users/:id with roles revokes and grants in Rönd', async () => {
    const patched = await call('PATCH', `/users/${ids.alice}`, { $set: { roles: ['editor'] } });
    expect(patched.status).toBe(200);
    expect(rond.rolesOf(profile(ids.alice).authUserId as string)).toEqual(['editor']);
  });

  it('POST /oauth/token, /refreshtoken, /userinfo and /logout, each on the next replica', async () => {
    const login = await call('POST', '/oauth/token', { username: 'alice', password: PASSWORD }, {});
    expect(login.status).toBe(200);
    expect(Object.keys(login.body).sort()).toEqual(['accessToken', 'expireAt', 'refreshToken']);
    const bearer = { authorization: `Bearer ${login.body.accessToken}` };
    const info = await call('GET', '/userinfo', undefined, bearer);
    expect(info.url).not.toBe(login.url);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ username: 'alice', email: 'alice@example.com', userGroup: 'customer', name: 'Alice A.' });

    const refreshed = await call('POST', '/refreshtoken', { refreshToken: login.body.refreshToken }, bearer);
    expect(refreshed.status).toBe(200);
    expect(Object.keys(refreshed.body).sort()).toEqual(['accessToken', 'expireAt', 'refreshToken']);
    // The old refresh token was used already, whichever replica it is sent to.
    const replay = await call('POST', '/refreshtoken', { refreshToken: login.body.refreshToken }, bearer);
    expect(replay.status).toBe(401);

    // Auth0's bearer tokens carry no session of the service's: logout ends a website session (below).
    const fresh = { authorization: `Bearer ${refreshed.body.accessToken}` };
    expect((await call('GET', '/userinfo', undefined, fresh)).status).toBe(200);
  });

  it('a website login (sid cookie) is served and logged out across replicas', async () => {
    const login = await call('POST', '/oauth/token', { username: 'alice', password: PASSWORD }, { 'client-type': 'website' });
    expect(login.status).toBe(200);
    expect(login.text).toBe('');
    const sid = /^sid=([^;]+);/.exec(login.headers.get('set-cookie')!)![1]!;
    const cookie = { cookie: `sid=${sid}` };
    const info = await call('GET', '/userinfo', undefined, cookie);
    expect(info.url).not.toBe(login.url);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ username: 'alice', userGroup: 'customer' });
    const logout = await call('POST', '/logout', undefined, cookie);
    expect(logout.status).toBe(204);
    const after = [await call('GET', '/userinfo', undefined, cookie), await call('GET', '/userinfo', undefined, cookie)];
    expect(after.map((answer) => answer.status)).toEqual([401, 401]);
  });

  it('POST /oauth/token with a bad password is 401 on both replicas', async () => {
    const answers = [
      await call('POST', '/oauth/token', { username: 'alice', password: 'wrong-password' }, {}),
      await call('POST', '/oauth/token', { username: 'alice', password: 'wrong-password' }, {}),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([401, 401]);
  });

  it('POST /oauth/token of a profile-only user (no identity) is 401', async () => {
    const login = await call('POST', '/oauth/token', { username: 'gina', password: PASSWORD }, {});
    expect(login.status).toBe(401);
  });

  it('POST /users/change-password sends the Auth0 e-mail (204)', async () => {
    const authUserId = profile(ids.alice).authUserId as string;
    const sent = await call('POST', '/users/change-password', { authUserId });
    expect(sent.status).toBe(204);
    expect(sent.text).toBe('');
    expect(auth0.passwordEmails).toContain('alice@example.com');
  });

  it('POST /users/state changes states and blocks or unblocks in Auth0 (200 with the count)', async () => {
    const authUserId = profile(ids.bob).authUserId as string;
    const trashed = await call('POST', '/users/state', [{ filter: { _id: ids.bob }, stateTo: 'TRASH' }]);
    expect(trashed.status).toBe(200);
    expect(trashed.body).toBe(1);
    expect(profile(ids.bob).__STATE__).toBe('TRASH');
    expect(auth0.users.get(authUserId)!.blocked).toBe(true);
    // The CRUD's POST /state moves TRASH to DRAFT, and DRAFT to PUBLIC (spec/mia-platform.md).
    const draft = await call('POST', '/users/state', [{ filter: { _id: ids.bob }, stateTo: 'DRAFT' }]);
    expect([draft.status, draft.body]).toEqual([200, 1]);
    expect(auth0.users.get(authUserId)!.blocked).toBe(true);
    const back = await call('POST', '/users/state', [{ filter: { _id: ids.bob }, stateTo: 'PUBLIC' }]);
    expect([back.status, back.body]).toEqual([200, 1]);
    expect(profile(ids.bob).__STATE__).toBe('PUBLIC');
    expect(auth0.users.get(authUserId)!.blocked).toBe(false);
  });

  const imported: string[] = [];
  it('PATCH /users/import inserts, updates and reports invalid rows (multipart, ; delimiter, arrays)', async () => {
    const csv = [
      '_id;userGroup;username;email;name;age;tags',
      `${ids.dave};customer;dave;dave@example.com;Dave D.;41;[a, b]`,
      ';customer;erin;erin@example.com;Erin;22;[]',
      ';customer;frank;frank@example.com;Frank;33;[x]',
      ';;nogroup;nogroup@example.com;No;1;[]',
      ';customer;badage;badage@example.com;Bad;notanumber;[]',
    ].join('\n');
    const form = new FormData();
    form.append('delimiter', ';');
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'users.csv');
    const answer = await call('PATCH', '/users/import', form);
    expect(answer.status).toBe(200);
    expect(answer.body.updated).toEqual([ids.dave]);
    expect(answer.body.inserted).toHaveLength(2);
    expect(answer.body.invalid.map((row: { row: number }) => row.row)).toEqual([4, 5]);
    for (const row of answer.body.invalid) expect(typeof row.error).toBe('string');
    imported.push(...answer.body.inserted);
    expect(profile(ids.dave)).toMatchObject({ name: 'Dave D.', age: 41, tags: ['a', 'b'] });
    expect(imported.map((id) => profile(id).authUserId)).toEqual([undefined, undefined]);
  });

  it('PATCH /users/import imports a row with an expirationDate gone by (the usage page imports such rows), blocked and unscheduled', async () => {
    const form = new FormData();
    form.append(
      'file',
      new Blob(['userGroup,username,email,expirationDate\ncustomer,gwen,gwen@example.com,2024-02-03T15:14:35.115Z\n']),
      'legacy.csv',
    );
    const answer = await call('PATCH', '/users/import', form);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ updated: [], invalid: [] });
    expect(answer.body.inserted).toHaveLength(1);
    expect(profile(answer.body.inserted[0])).toMatchObject({
      username: 'gwen',
      expirationDate: '2024-02-03T15:14:35.115Z',
      blocked: true,
      __STATE__: 'PUBLIC',
    });
    expect(profile(answer.body.inserted[0]).expirationId).toBeUndefined();
    expect([...timer.timers.values()].filter((t) => (t.payload as { userId?: string }).userId === answer.body.inserted[0])).toEqual([]);
  });

  it('POST /jobs/bulk-activation (202), then GET /jobs/bulk-activation/:id on the other replica until completed', async () => {
    const started = await call(
      'POST',
      '/jobs/bulk-activation',
      imported.map((userId) => ({ filter: { userId } })),
    );
    expect(started.status).toBe(202);
    expect(Object.keys(started.body).sort()).toEqual(['jobCreatedAt', 'jobId', 'status']);
    expect(started.body.status).toBe('pending');
    const job = await settle(`/jobs/bulk-activation/${started.body.jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      jobId: started.body.jobId,
      status: 'completed',
      jobCreatedAt: started.body.jobCreatedAt,
      summary: { failed: 0, updated: 0, inserted: 2, total: 2 },
    });
    for (const id of imported) expect(auth0.users.has(profile(id).authUserId as string)).toBe(true);
    expect((await call('GET', '/jobs/bulk-activation/c735cf45-536b-45ce-8ef1-d0066515c185')).status).toBe(404);
  });

  it('POST /jobs/bulk-activation with an unknown user id or a bad body is 404 (as documented)', async () => {
    const unknown = await call('POST', '/jobs/bulk-activation', [{ filter: { userId: '65a000000000000000000000' } }]);
    expect(unknown.status).toBe(404);
    const bad = await call('POST', '/jobs/bulk-activation', { filter: {} });
    expect(bad.status).toBe(404);
  });

  it('POST /jobs/change-password/bulk (202), then GET /jobs/change-password/bulk/:id until completed', async () => {
    const good = imported.map((id) => profile(id).authUserId as string);
    const started = await call('POST', '/jobs/change-password/bulk', { authUsersIds: [...good, 'auth0|56ko15das68cz132dsa6d4ef'] });
    expect(started.status).toBe(202);
    expect(Object.keys(started.body).sort()).toEqual(['jobCreatedAt', 'jobId', 'status']);
    expect(started.body.status).toBe('pending');
    const job = await settle(`/jobs/change-password/bulk/${started.body.jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      jobId: started.body.jobId,
      status: 'completed',
      jobCreatedAt: started.body.jobCreatedAt,
      summary: { failed: 1, completed: 2, total: 3 },
    });
    expect(job.body.completed.map((item: { authUserId: string }) => item.authUserId).sort()).toEqual(good.sort());
    expect(job.body.failures.map((item: { authUserId: string }) => item.authUserId)).toEqual(['auth0|56ko15das68cz132dsa6d4ef']);
    expect(auth0.passwordEmails).toEqual(expect.arrayContaining(['erin@example.com', 'frank@example.com']));
    expect((await call('GET', '/jobs/change-password/bulk/c735cf45-536b-45ce-8ef1-d0066515c185')).status).toBe(404);
  });

  it('GET /users/export answers a CSV that names the users', async () => {
    const exported = await call('GET', `/users/export?userGroup=customer`);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toMatch(/^attachment/);
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) expect(exported.text).toContain(name);
  });

  it('the Timer Service callback blocks the expired user on either replica, and a repeated callback is harmless', async () => {
    const expirationDate = new Date(Date.now() + 300).toISOString();
    expect((await call('PATCH', `/users/${ids.bob}`, { $set: { expirationDate } })).status).toBe(200);
    const bob = profile(ids.bob);
    const scheduled = timer.timers.get(bob.expirationId as string)!;
    expect(scheduled.fireAt).toBe(Date.parse(expirationDate));
    // Held back from the emulator's poller: the test delivers it, to the replica that did not schedule it.
    scheduled.status = 2;
    while (Date.now() <= scheduled.fireAt) await new Promise((resolve) => setTimeout(resolve, 50));
    const other = pair.replicas.find(({ url }) => !url.endsWith(`:${scheduled.outputMode.port}`))!;
    const deliver = (url: string) =>
      fetch(url + scheduled.outputMode.path, {
        method: scheduled.outputMode.method.toUpperCase(),
        headers: { 'content-type': 'application/json', ...scheduled.outputMode.headers },
        body: JSON.stringify(scheduled.payload),
      });
    expect((await deliver(other.url)).status).toBe(204);
    expect(profile(ids.bob).blocked).toBe(true);
    expect(auth0.users.get(bob.authUserId as string)!.blocked).toBe(true);
    // The Timer retries on the scheduling replica: the same answer, nothing rescheduled.
    const scheduler = pair.replicas.find((replica) => replica !== other)!;
    expect((await deliver(scheduler.url)).status).toBe(204);
    expect(profile(ids.bob)).toMatchObject({ blocked: true, expirationDate });
    expect([...timer.timers.values()].filter((t) => t.status === 0 && (t.payload as { userId?: string }).userId === ids.bob)).toEqual([]);
    const login = await call('POST', '/oauth/token', { username: 'bob', password: PASSWORD }, {});
    expect(login.status).toBe(401);
  });

  it('POST /users/state to DELETED deletes the identity (AUTH_HARD_DELETE default true) and keeps the CRUD document', async () => {
    const frank = imported[1]!;
    const authUserId = profile(frank).authUserId as string;
    expect((await call('POST', '/users/state', [{ filter: { _id: frank }, stateTo: 'TRASH' }])).body).toBe(1);
    const deleted = await call('POST', '/users/state', [{ filter: { _id: frank }, stateTo: 'DELETED' }]);
    expect([deleted.status, deleted.body]).toEqual([200, 1]);
    expect(profile(frank).__STATE__).toBe('DELETED');
    expect(auth0.users.has(authUserId)).toBe(false);
  });

  it('POST /users/:id/soft-delete moves the user to DELETED and deletes its identity (AUTH_HARD_DELETE default true) (204)', async () => {
    const authUserId = profile(ids.carol).authUserId as string;
    const deleted = await call('POST', `/users/${ids.carol}/soft-delete`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(profile(ids.carol).__STATE__).toBe('DELETED');
    expect(auth0.users.has(authUserId)).toBe(false);
  });

  it('POST /users/state moving a soft-deleted user out of DELETED, sent to both replicas at once: unlinked, one live timer', async () => {
    const expirationDate = new Date(Date.now() + 3_600_000).toISOString();
    const created = await call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'revived',
      email: 'revived@example.com',
      expirationDate,
    });
    const id = created.body._id as string;
    expect((await call('POST', `/users/${id}/soft-delete`)).status).toBe(204);
    const move = () => call('POST', '/users/state', [{ filter: { _id: id }, stateTo: 'TRASH' }]);
    const answers = await Promise.all([move(), move()]);
    // The second either waited for the first (moved already: 200 with its count) or met its lock (409).
    expect(answers.map((answer) => answer.status)).toContain(200);
    for (const answer of answers.filter((answer) => answer.status !== 200)) {
      expect(answer.body).toMatchObject({ statusCode: 409, message: expect.stringMatching(/is being changed by another request/) });
    }
    const stored = profile(id) as unknown as { __STATE__: string; authUserId?: string; expirationId: string };
    expect([stored.__STATE__, stored.authUserId]).toEqual(['TRASH', undefined]);
    const live = [...timer.timers.values()].filter((t) => (t.payload as { userId?: string }).userId === id && t.status === 0);
    expect(live.map((t) => t.expirationId)).toEqual([stored.expirationId]);
  });

  it('DELETE /users/:id deletes profile and identity, aborts its timer (204), then 404', async () => {
    const expirationDate = new Date(Date.now() + 3_600_000).toISOString();
    expect((await call('PATCH', `/users/${ids.dave}`, { $set: { expirationDate } })).status).toBe(200);
    const { authUserId, expirationId } = profile(ids.dave) as unknown as { authUserId: string; expirationId: string };
    const deleted = await call('DELETE', `/users/${ids.dave}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(profile(ids.dave)).toBeUndefined();
    expect(auth0.users.has(authUserId)).toBe(false);
    expect(rond.rolesOf(authUserId)).toEqual([]);
    expect(timer.timers.get(expirationId)!.status).toBe(2);
    const again = await call('DELETE', `/users/${ids.dave}`);
    expect(again.url).not.toBe(deleted.url);
    expect(again.status).toBe(404);
  });
});
