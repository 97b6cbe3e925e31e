import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './helpers/service.js';

const { name, version } = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string };

/** Mia-Platform's probe routes answer `{status, name, version}`, as its other services do. */
describe('status routes', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ store: 'embedded', identity: 'embedded' });
  });
  afterAll(() => service.close());

  it('/-/healthz answers the status, name and version of package.json', async () => {
    const healthz = await service.call('GET', '/-/healthz');
    expect(healthz.status).toBe(200);
    expect(healthz.body).toEqual({ status: 'OK', name: 'user-manager-service', version });
    expect(name).toBe('user-manager-service');
  });

  it.each(['/-/ready', '/-/check-up'])('%s answers them too, with the check of each backend', async (path) => {
    const ready = await service.call('GET', path);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'OK',
      name: 'user-manager-service',
      version,
      checks: [
        { name: 'embedded store', ok: true },
        { name: 'embedded identity', ok: true },
      ],
    });
  });
});
