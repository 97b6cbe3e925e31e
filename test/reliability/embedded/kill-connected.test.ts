import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnService } from '../../helpers/process.js';
import { Auth0Emulator } from '../../emulators/auth0.js';
import { CrudEmulator } from '../../emulators/crud.js';
import { AUTH0_TEST_TENANT, CRUD_COLLECTIONS } from '../../helpers/service.js';

/**
 * Issue #17, part 2, connected: the service (a real process) keeps its profiles and intents in the
 * CRUD Service and its identities in Auth0 (emulators in this process). kill -9 while 150 creations
 * run, start it again: every user whole (profile linked to an Auth0 user that exists) or absent,
 * and no Auth0 user without its profile.
 */
const API_KEY = 'connected-crash-key';
let crud: CrudEmulator;
let auth0: Auth0Emulator;
let child: ChildProcess | undefined;

beforeAll(async () => {
  crud = await new CrudEmulator(CRUD_COLLECTIONS).start();
  auth0 = await new Auth0Emulator({ ...AUTH0_TEST_TENANT }).start();
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await crud.stop();
  await auth0.stop();
});

/** The state that matters: profiles of group g without identity, Auth0 users without profile, links to nowhere, open intents. */
function census() {
  const profiles = crud.docs('/users').filter((doc) => doc.userGroup === 'g');
  const linked = new Set(profiles.map((doc) => doc.authUserId).filter(Boolean));
  return {
    halfMade: profiles.filter((doc) => !doc.authUserId).length,
    orphans: [...auth0.users.keys()].filter((id) => !linked.has(id)).length,
    dangling: [...linked].filter((id) => !auth0.users.has(String(id))).length,
    open: crud.docs('/jobs').filter((job) => job.type === 'user-creation' && ['pending', 'running'].includes(String(job.status))).length,
  };
}

/** The log of the last process started. */
let output = () => '';

/** Starts the service and keeps hold of it, to kill it at the end whatever happens. */
async function start(env: Record<string, string>): Promise<ChildProcess> {
  const spawned = await spawnService(env);
  child = spawned.child;
  output = spawned.output;
  return child;
}

/**
 * How many repairs met the documented limit (docs/reliability.md: a kill -9 in the instant between
 * an identity's creation and the saving of its id): a failure of this test names its cause.
 */
const clashes = () => output().split('a repaired user clashes with an unrecorded identity').length - 1;

describe('kill -9 during concurrent creations, against the CRUD Service and Auth0', () => {
  it('leaves every user whole or absent once restarted and reconciled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ums-crash-connected-'));
    const port = await freePort();
    const env = {
      HTTP_PORT: String(port),
      EMBEDDED_DB_PATH: join(dir, 'ums.sqlite'),
      API_KEYS: API_KEY,
      LOG_LEVEL: 'info',
      JOBS_LEASE_MS: '2000',
      JOBS_POLL_MS: '100',
      TMPDIR: dir,
      CRUD_SERVICE: crud.url,
      USERS_CRUD_ENDPOINT: '/users',
      UMS_CONFIG_CRUD_ENDPOINT: '/ums-config',
      JOBS_CRUD_ENDPOINT: '/jobs',
      AUTH_MODULE: 'auth0',
      AUTH0_BASE_URL: auth0.url,
      AUTH0_CLIENT_ID: AUTH0_TEST_TENANT.clientId,
      AUTH0_CLIENT_SECRET: AUTH0_TEST_TENANT.clientSecret,
      AUTH0_AUDIENCE: AUTH0_TEST_TENANT.audience,
      AUTH_CONNECTION: AUTH0_TEST_TENANT.connection,
    };
    crud.docs('/ums-config').push({ _id: 'g', userGroup: 'g', label: 'G', crudSchema: { type: 'object' }, __STATE__: 'PUBLIC' });
    const first = await start(env);
    let answered = 0;
    const creations = Array.from({ length: 150 }, (_, n) =>
      fetch(`http://127.0.0.1:${port}/users/`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ userGroup: 'g', username: `c${n}`, email: `c${n}@example.com` }),
      }).then(
        () => void (answered += 1),
        () => undefined,
      ),
    );
    // Killed once several profiles are waiting for their identity: the moment a crash hurts most.
    const killBy = Date.now() + 10_000;
    while (census().halfMade < 3 && answered < 100 && Date.now() < killBy) await new Promise((resolve) => setTimeout(resolve, 2));
    first.kill('SIGKILL');
    void Promise.allSettled(creations);
    await once(first, 'exit');
    const afterKill = census();

    await start(env);
    const until = Date.now() + 40_000;
    let state = census();
    while ((state.open > 0 || state.halfMade > 0) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = census();
    }
    console.info('kill -9 during connected creations', { answered, afterKill, afterRepair: state, clashes: clashes() });
    expect(state).toEqual({ halfMade: 0, orphans: 0, dangling: 0, open: 0 });
  }, 90_000);
});
