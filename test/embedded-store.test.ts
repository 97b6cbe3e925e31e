import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from './helpers/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startService({ store: 'embedded' });
  await seedGroups(service);
});
afterAll(() => service.close());

describe('operators the embedded store cannot evaluate', () => {
  it('answer 400, not 500', async () => {
    const res = await service.call('GET', `/users/?_q=${encodeURIComponent(JSON.stringify({ $text: { $search: 'mario' } }))}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('$text');
  });
});
