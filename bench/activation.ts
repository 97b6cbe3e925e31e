/**
 * The bulk flow of the usage page at scale, on the embedded store: a CSV import of N profile-only
 * users, their bulk activation (identities created and linked in the embedded import jobs of 250), and a bulk
 * change-password for them; then the same activation against the Auth0 emulator (users-imports jobs).
 * Reports times, users per second and the service's peak memory.
 */
import type { ChildProcess } from 'node:child_process';
import { ask, healthzTable, probeLatency, publish, startChild } from './lib.js';

const USERS = Number(process.env.BENCH_ACTIVATION_USERS ?? 100_000);
const AUTH0_USERS = Number(process.env.BENCH_ACTIVATION_AUTH0_USERS ?? 10_000);
/** Change-password requests are paced; the benchmark measures the service's side with a limit it never reaches. */
const MAIL_RATE = 100_000;
const API_KEY = 'bench-key';

interface Service {
  child: ChildProcess;
  base: string;
}

async function call(service: Service, method: string, path: string, body?: unknown) {
  const response = await fetch(`${service.base}${path}`, {
    method,
    headers: { 'x-api-key': API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, any>;
}

/** Inserts `count` profile-only users through `PATCH /users/import`; answers their ids. */
async function importProfiles(service: Service, count: number): Promise<string[]> {
  const rows = Array.from({ length: count }, (_, index) => `customer;user${index};user${index}@example.com;Name ${index}`);
  const form = new FormData();
  form.append('delimiter', ';');
  form.append('file', new Blob([`userGroup;username;email;name\n${rows.join('\n')}\n`], { type: 'text/csv' }), 'users.csv');
  const response = await fetch(`${service.base}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': API_KEY } });
  const body = (await response.json()) as { inserted: string[] };
  if (body.inserted?.length !== count) throw new Error(`import answered ${response.status}`);
  return body.inserted;
}

/**
 * Starts a job and polls it to its end: seconds to the 202 and to completion, the final answer,
 * and the latency of `/-/healthz` probed every 20 ms meanwhile (the 202 included).
 */
async function runJob(service: Service, path: string, body: unknown) {
  const probe = probeLatency(`${service.base}/-/healthz`);
  const started = performance.now();
  const { jobId } = await call(service, 'POST', path, body);
  const accepted = (performance.now() - started) / 1000;
  for (;;) {
    const job = await call(service, 'GET', `${path}/${jobId}`);
    if (job.status !== 'pending') {
      const seconds = round((performance.now() - started) / 1000);
      return { acceptedSeconds: round(accepted), seconds, healthz: await probe.stop(), job };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every `authUserId`, read through `GET /users/` 200 at a time. */
async function allAuthUserIds(service: Service): Promise<string[]> {
  const ids: string[] = [];
  for (let skip = 0; ; skip += 200) {
    const page = (await call(service, 'GET', `/users/?_l=200&_sk=${skip}&_p=authUserId`)) as unknown as { authUserId: string }[];
    ids.push(...page.map((user) => user.authUserId));
    if (page.length < 200) return ids;
  }
}

const round = (value: number) => Number(value.toFixed(2));

async function startService(env: Record<string, string>): Promise<Service> {
  const { child, ready } = await startChild<{ port: number }>('./server.ts', {
    BENCH_USERS: '0',
    BENCH_API_KEY: API_KEY,
    BENCH_JOBS: '1',
    AUTH0_JOB_POLLING_INTERVAL: '1 second',
    AUTH0_BULK_CHANGE_PASSWORD_RATE_LIMIT_PER_SECOND: String(MAIL_RATE),
    ...env,
  });
  return { child, base: `http://127.0.0.1:${ready.port}` };
}

async function embedded() {
  const service = await startService({});
  const ids = await importProfiles(service, USERS);
  const before = await ask<{ maxRssKiB: number }>(service.child, 'memory');
  const activation = await runJob(
    service,
    '/jobs/bulk-activation',
    ids.map((userId) => ({ filter: { userId } })),
  );
  const linked = (await call(
    service,
    'GET',
    `/users/count?_q=${encodeURIComponent(`{"authUserId":{"$exists":true}}`)}`,
  )) as unknown as number;
  const authUserIds = await allAuthUserIds(service);
  const mails = await runJob(service, '/jobs/change-password/bulk', { authUsersIds: authUserIds });
  const after = await ask<{ maxRssKiB: number }>(service.child, 'memory');
  service.child.send({ type: 'stop' });
  return {
    users: USERS,
    activation: { ...activation, usersPerSecond: Math.round(USERS / activation.seconds), linked },
    changePassword: { users: authUserIds.length, seconds: mails.seconds, healthz: mails.healthz, summary: mails.job.summary },
    peakRssMiBBefore: Math.round(before.maxRssKiB / 1024),
    peakRssMiBAfter: Math.round(after.maxRssKiB / 1024),
  };
}

async function auth0() {
  const tenant = await startChild<{ url: string }>('./auth0-server.ts', {});
  const service = await startService({ BENCH_AUTH0_URL: tenant.ready.url });
  const ids = await importProfiles(service, AUTH0_USERS);
  const activation = await runJob(
    service,
    '/jobs/bulk-activation',
    ids.map((userId) => ({ filter: { userId } })),
  );
  const counts = await ask<{ users: number; distinctEmails: number }>(tenant.child, 'counts');
  service.child.send({ type: 'stop' });
  tenant.child.send({ type: 'stop' });
  return {
    users: AUTH0_USERS,
    ...activation,
    usersPerSecond: Math.round(AUTH0_USERS / activation.seconds),
    auth0Users: counts.users,
    duplicates: counts.users - counts.distinctEmails,
  };
}

export async function runActivation(): Promise<void> {
  const local = await embedded();
  console.log(JSON.stringify(local, null, 2));
  const remote = await auth0();
  console.log(JSON.stringify(remote, null, 2));
  const summary = { date: new Date().toISOString(), node: process.version, embedded: local, auth0: remote };
  const n = (value: number) => value.toLocaleString('en');
  const s = local.activation.job.summary;
  publish(
    'activation',
    summary,
    [
      `The bulk flow on the embedded store, ${summary.date.slice(0, 10)}, ${n(USERS)} users imported by CSV first:`,
      `- \`POST /jobs/bulk-activation\` of ${n(USERS)} ids: 202 after ${local.activation.acceptedSeconds} s (every id checked), completed after ${local.activation.seconds} s, **${n(local.activation.usersPerSecond)} users/s**; summary inserted ${n(s.inserted)}, failed ${s.failed}; ${n(local.activation.linked)} profiles linked to an identity.`,
      `- \`POST /jobs/change-password/bulk\` of ${n(local.changePassword.users)} users (every activated user) with the pace limit out of reach: ${local.changePassword.seconds} s, completed ${local.changePassword.summary.completed}. At the default pace (100/s embedded, 2/s Auth0) the pace is the time.`,
      `- The service's peak memory: ${local.peakRssMiBBefore} MiB after the import, ${local.peakRssMiBAfter} MiB at the end.`,
      `- Against the Auth0 emulator (users-imports jobs of 1,000, two at a time): ${n(remote.users)} users activated in ${remote.seconds} s (${n(remote.usersPerSecond)} users/s), ${n(remote.auth0Users)} Auth0 users, ${remote.duplicates} duplicated; summary inserted ${n(remote.job.summary.inserted)}, failed ${remote.job.summary.failed}.`,
      '',
      ...healthzTable([
        { during: `the bulk activation of ${n(USERS)} users (embedded)`, healthz: local.activation.healthz },
        { during: `the bulk change-password of ${n(local.changePassword.users)} users (embedded)`, healthz: local.changePassword.healthz },
        { during: `the bulk activation of ${n(remote.users)} users (Auth0 emulator)`, healthz: remote.healthz },
      ]),
    ].join('\n'),
  );
}
