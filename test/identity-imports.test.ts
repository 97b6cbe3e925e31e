import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityImporter, IdentityImportJob } from '../src/ports/identity-importer.js';
import { InvalidInputError, NotFoundError } from '../src/errors.js';
import { Auth0ClientEmulator } from './emulators/auth0-client.js';
import { startService, type TestService } from './helpers/service.js';

/** Polls a job until it leaves pending and processing. */
async function finished(importer: IdentityImporter, id: string): Promise<IdentityImportJob> {
  for (;;) {
    const job = await importer.importJob(id);
    if (job.status !== 'pending' && job.status !== 'processing') return job;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Auth0 users-imports jobs (AUTH_MODULE=auth0)', () => {
  let service: TestService;
  let importer: IdentityImporter;
  beforeAll(async () => {
    service = await startService({ identity: 'auth0' });
    importer = service.deps.identityImports!;
  });
  afterAll(() => service.close());

  it('imports users under the ids it is given, reports refused rows, and upserts when asked', async () => {
    const auth0 = service.auth0!;
    auth0.addUser({ email: 'taken@example.com', password: 'Taken-pass-1' });
    const started = await importer.startImport(
      [
        { email: 'imp1@example.com', username: 'imp1', userId: '650000000000000000000001' },
        { email: 'imp2@example.com', userId: '650000000000000000000002', emailVerified: true },
        { email: 'imp1@example.com', userId: '650000000000000000000003' },
        { email: 'taken@example.com', blocked: true },
      ],
      { upsert: false },
    );
    expect(started.status).toBe('pending');
    const upload = auth0.requests.find((request) => request.path === '/api/v2/jobs/users-imports')!;
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(upload.body).toMatchObject({ connection_id: auth0.connectionId, upsert: 'false', send_completion_email: 'false' });
    expect(JSON.parse(String((upload.body as Record<string, unknown>).users))[1]).toEqual({
      email: 'imp2@example.com',
      user_id: '650000000000000000000002',
      email_verified: true,
    });

    const job = await finished(importer, started.id);
    expect(job).toEqual({ id: started.id, status: 'completed', summary: { inserted: 2, updated: 0, failed: 2, total: 4 } });
    expect(auth0.users.get('auth0|650000000000000000000001')).toMatchObject({ email: 'imp1@example.com', username: 'imp1' });
    expect(auth0.users.get('auth0|650000000000000000000002')).toMatchObject({ email_verified: true });
    const errors = await importer.importErrors(started.id);
    expect(errors.map((error) => [error.user.email, error.errors[0]!.code])).toEqual([
      ['imp1@example.com', 'DUPLICATED_USER'],
      ['taken@example.com', 'CONFLICT'],
    ]);

    const upsert = await finished(
      importer,
      (await importer.startImport([{ email: 'taken@example.com', blocked: true }], { upsert: true })).id,
    );
    expect(upsert.summary).toEqual({ inserted: 0, updated: 1, failed: 0, total: 1 });
    expect([...auth0.users.values()].find((user) => user.email === 'taken@example.com')!.blocked).toBe(true);
    expect(await importer.importErrors(upsert.id)).toEqual([]);
    // The connection id was looked up by name once.
    expect(auth0.requests.filter((request) => request.path === '/api/v2/connections')).toHaveLength(1);
  });

  it('waits for a free slot: Auth0 runs at most 2 import jobs at once', async () => {
    const auth0 = service.auth0!;
    const rows = (prefix: string) => [{ email: `${prefix}@example.com` }];
    const uploads = () => auth0.requests.filter((request) => request.path === '/api/v2/jobs/users-imports').length;
    const before = uploads();
    const first = await importer.startImport(rows('slot1'), { upsert: false });
    const second = await importer.startImport(rows('slot2'), { upsert: false });
    // The third is refused with a 429 while two run, and is sent again once one of them is done.
    const third = await importer.startImport(rows('slot3'), { upsert: false });
    expect(uploads() - before).toBeGreaterThanOrEqual(4);
    expect((await finished(importer, third.id)).summary?.inserted).toBe(1);
    expect((await finished(importer, first.id)).status).toBe('completed');
    expect((await finished(importer, second.id)).status).toBe('completed');
  });

  it('refuses what Auth0 would refuse before calling it, and unknown jobs are not found', async () => {
    await expect(importer.startImport([], { upsert: false })).rejects.toBeInstanceOf(InvalidInputError);
    const tooMany = Array.from({ length: importer.maxUsersPerJob + 1 }, (_, index) => ({ email: `u${index}@example.com` }));
    await expect(importer.startImport(tooMany, { upsert: false })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(importer.importJob('job_0000000000000000')).rejects.toBeInstanceOf(NotFoundError);
    await expect(importer.importErrors('job_0000000000000000')).rejects.toBeInstanceOf(NotFoundError);
  });

  it("refuses a job start Auth0 answers 400 in the service's words, not Auth0's", async () => {
    service.auth0!.failNext('POST', /\/api\/v2\/jobs\/users-imports$/, 400, {
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: 'Users file is not valid JSON near <imp9@example.com>',
        errorCode: 'invalid_body',
      },
    });
    const refused = await importer.startImport([{ email: 'imp9@example.com' }], { upsert: false }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect((refused as Error).message).toBe('The identity provider refused the request');
  });
});

describe("the auth0-client's import endpoints (AUTH_MODULE=auth0Client)", () => {
  let client: Auth0ClientEmulator;
  let service: TestService;
  beforeAll(async () => {
    client = await new Auth0ClientEmulator().start();
    service = await startService({
      env: { AUTH_MODULE: 'auth0Client', AUTH_SERVICE: client.url, AUTH_CONNECTION: 'Username-Password-Authentication' },
    });
  });
  afterAll(async () => {
    await service.close();
    await client.stop();
  });

  it('starts a job with the connection by name and reads its status and errors', async () => {
    const importer = service.deps.identityImports!;
    const started = await importer.startImport(
      [
        { email: 'ac-imp@example.com', userId: '650000000000000000000009' },
        { email: 'ac-imp@example.com', userId: '65000000000000000000000a' },
      ],
      { upsert: false },
    );
    const sent = JSON.parse(client.requests.find((request) => request.path === '/users/import')!.body);
    expect(sent).toMatchObject({ connection: 'Username-Password-Authentication', upsert: false, send_completion_email: false });
    expect(sent).not.toHaveProperty('connection_id');
    const job = await finished(importer, started.id);
    expect(job.summary).toEqual({ inserted: 1, updated: 0, failed: 1, total: 2 });
    expect(client.users.has('auth0|650000000000000000000009')).toBe(true);
    expect((await importer.importErrors(started.id))[0]!.errors[0]!.code).toBe('DUPLICATED_USER');
    await expect(importer.importJob('job_unknown')).rejects.toBeInstanceOf(NotFoundError);
  });
});
