import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/app.js';
import { drainable, shutdown } from '../src/shutdown.js';
import { seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';
import { subscribeSse } from './helpers/sse.js';

const PROGRESS = `subscription ($id: ID!) { jobProgress(id: $id) { jobId status } }`;
const ADMIN = { 'x-api-key': TEST_API_KEY };

let service: TestService;
beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
});
afterAll(() => service.close());

/** A bulk activation no worker runs (no background work here): it stays pending. */
async function pendingJob(): Promise<string> {
  const profile = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
    userGroup: 'customer',
    username: 'waits',
    name: 'W',
  });
  const job = await service.call('POST', '/jobs/bulk-activation', [{ filter: { userId: profile.body._id } }]);
  expect(job.status).toBe(202);
  return job.body.jobId;
}

describe('live job progress at shutdown', () => {
  it('ends the open streams cleanly, so the drain cuts nothing, and ends the streams opened during it at once', async () => {
    const jobId = await pendingJob();
    // A second server over the same service, as main.ts builds it, to shut down.
    const server = buildServer(service.deps);
    const http = drainable(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const stream = await subscribeSse(url, PROGRESS, { id: jobId }, ADMIN);
    expect((await stream.next()).data.data.jobProgress.status).toBe('pending');

    const stopping = shutdown({
      http,
      stopBackground: async () => undefined,
      endStreams: () => service.deps.jobWatches.endAll(),
      close: () => undefined,
      timeoutMs: 5000,
      logger: pino({ level: 'silent' }),
    });
    expect((await stream.rest()).map((event) => event.event)).toEqual(['complete']);
    expect(await stopping).toBe(0);
    // On the other server of the same service, a stream opened once the shutdown began sends the
    // job's state and completes.
    const late = await (await subscribeSse(service.url, PROGRESS, { id: jobId }, ADMIN)).rest();
    expect(late.map((event) => event.event)).toEqual(['next', 'complete']);
    expect(service.deps.jobWatches.openFor('api-key#1')).toBe(0);
  });
});
