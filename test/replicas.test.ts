import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auth0Emulator } from './emulators/auth0.js';
import { CrudEmulator } from './emulators/crud.js';
import { RondEmulator } from './emulators/rond.js';
import { TimerEmulator } from './emulators/timer.js';
import { freePort, type SpawnedService, spawnService } from './helpers/process.js';
import { AUTH0_TEST_TENANT, CRUD_COLLECTIONS } from './helpers/service.js';
import { PAIR_API_KEY, replicaEnv } from './helpers/replica-pair.js';

/**
 * Issue #20: two replicas of the service, two processes with an embedded file each (as two pods
 * have), on one set of upstreams (emulators in this process), with REPLICAS=shared. The client sends
 * each request to the next replica, as a round-robin load balancer does.
 */
const API_KEY = PAIR_API_KEY;
const PASSWORD = 'Replica-pass-1';
const BULK_USERS = 50;
const folder = mkdtempSync(join(tmpdir(), 'ums-replicas-'));
let crud: CrudEmulator;
let auth0: Auth0Emulator;
let rond: RondEmulator;
let timer: TimerEmulator;
let replicas: { service: SpawnedService; url: string }[] = [];

async function startReplica(name: string, port: number) {
  const service = await spawnService(replicaEnv({ crud, auth0, rond, timer }, folder, name, port));
  return { service, url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  crud = await new CrudEmulator(CRUD_COLLECTIONS).start();
  // Import jobs that take a while, so the activation is still running when its replica is killed.
  auth0 = await new Auth0Emulator({ ...AUTH0_TEST_TENANT, importStepMs: 300 }).start();
  rond = await new RondEmulator().start();
  timer = await new TimerEmulator().start();
  crud.docs('/ums-config').push({ _id: 'g', userGroup: 'g', label: 'G', crudSchema: { type: 'object' }, __STATE__: 'PUBLIC' });
  const [a, b] = await Promise.all([freePort(), freePort()]);
  replicas = await Promise.all([startReplica('a', a), startReplica('b', b)]);
}, 90_000);

afterAll(async () => {
  for (const { service } of replicas) service.child.kill('SIGKILL');
  await Promise.all([crud?.stop(), auth0?.stop(), rond?.stop(), timer?.stop()]);
  rmSync(folder, { recursive: true, force: true });
});

let turn = 0;
/** The next replica still running answers: every request goes to the other replica than the last one. */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = { 'x-api-key': API_KEY }) {
  const live = replicas.filter(({ service }) => service.child.exitCode === null && service.child.signalCode === null);
  const { url } = live[turn++ % live.length]!;
  const response = await fetch(url + path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers, url };
}

describe('two replicas (two processes, one set of upstreams), requests alternating between them', () => {
  it('serves a website session opened on one replica on the other, and ends it for both at logout', async () => {
    const created = await call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'g',
      username: 'web',
      email: 'web@example.com',
      password: PASSWORD,
    });
    expect(created.status).toBe(200);
    turn = 0;
    const login = await call('POST', '/oauth/token', { username: 'web', password: PASSWORD }, { 'client-type': 'website' });
    expect(login.status).toBe(200);
    const sid = /^sid=([^;]+);/.exec(login.headers.get('set-cookie')!)![1]!;
    const cookie = { cookie: `sid=${sid}` };
    const info = await call('GET', '/userinfo', undefined, cookie);
    expect(info.url).not.toBe(login.url);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ username: 'web', email: 'web@example.com', userGroup: 'g' });
    expect((await call('GET', '/userinfo', undefined, cookie)).status).toBe(200);

    const logout = await call('POST', '/logout', undefined, cookie);
    expect(logout.url).not.toBe(login.url);
    expect(logout.status).toBe(204);
    const after = [await call('GET', '/userinfo', undefined, cookie), await call('GET', '/userinfo', undefined, cookie)];
    expect(after.map((res) => res.status)).toEqual([401, 401]);
    expect(new Set(after.map((res) => res.url)).size).toBe(2);
  });

  it('reads on one replica a job created on the other', async () => {
    const user = (await call('GET', `/users/?username=web`)).body[0];
    turn = 0;
    const started = await call('POST', '/jobs/change-password/bulk', { authUsersIds: [user.authUserId] });
    expect(started.status).toBe(202);
    const read = await call('GET', `/jobs/change-password/bulk/${started.body.jobId}`);
    expect(read.url).not.toBe(started.url);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ jobId: started.body.jobId, jobCreatedAt: started.body.jobCreatedAt });
  });

  it('finishes on the other replica a bulk activation whose replica is killed half-way', async () => {
    const ids = Array.from({ length: BULK_USERS }, (_, n) => `65a00000000000000000${String(n).padStart(4, '0')}`);
    for (const [n, _id] of ids.entries()) {
      crud.docs('/users').push({ _id, userGroup: 'g', username: `bulk${n}`, email: `bulk${n}@example.com`, __STATE__: 'PUBLIC' });
    }
    turn = 0;
    const started = await call(
      'POST',
      '/jobs/bulk-activation',
      ids.map((userId) => ({ filter: { userId } })),
    );
    expect(started.status).toBe(202);
    // Half-way: the import job has started at Auth0 (and is saved in the job), no profile is linked yet.
    const jobDoc = () =>
      crud.docs('/jobs').find((doc) => doc.jobId === started.body.jobId) as {
        owner?: string;
        result?: { progress?: { running?: { importJobId: string }[] } };
      };
    // Saved as `{version, progress}` (domain/job-progress.ts).
    const progress = () => jobDoc()?.result?.progress;
    const until = Date.now() + 20_000;
    while (!progress()?.running?.length && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(progress()?.running, 'no import job saved as running within 20 s').toHaveLength(1);
    // The replica that holds the job's lease (`<host>:<pid>:…`), whichever received the request.
    const owner = replicas.find(({ service }) => jobDoc()?.owner?.split(':')[1] === String(service.child.pid))!.service;
    owner.child.kill('SIGKILL');
    await once(owner.child, 'exit');
    const importJobs = progress()!.running!.map((chunk) => chunk.importJobId);
    expect(crud.docs('/users').filter((doc) => ids.includes(doc._id) && doc.authUserId)).toHaveLength(0);

    let job = (await call('GET', `/jobs/bulk-activation/${started.body.jobId}`)).body;
    while (job.status === 'pending' && Date.now() < until + 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = (await call('GET', `/jobs/bulk-activation/${started.body.jobId}`)).body;
    }
    expect(job).toMatchObject({ status: 'completed', summary: { failed: 0, updated: 0, inserted: BULK_USERS, total: BULK_USERS } });
    // The other replica finished the killed one's import job: no second one was started.
    expect([...auth0.imports.jobs.keys()]).toEqual(importJobs);
    const linked = crud
      .docs('/users')
      .filter((doc) => ids.includes(doc._id))
      .map((doc) => doc.authUserId);
    expect(linked.every((id) => typeof id === 'string' && auth0.users.has(id))).toBe(true);
    expect(new Set(linked).size).toBe(BULK_USERS);
  }, 60_000);
});
