import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

/**
 * GraphQL operation names label `ums_graphql_operations_total`, and a name is one token however
 * long: an anonymous caller sent `query Q000xxx…` with names of 500,000 characters, and each of
 * the first 100 such names was kept as a series for good (20 requests made a 10 MB scrape; 100, a
 * 100 MB one, past what Prometheus takes as a label). A name longer than a label should be is
 * counted as `other`, as the names past the first 100 are.
 */
let service: TestService;

beforeAll(async () => {
  service = await startService();
});
afterAll(() => service.close());

const anonymous = { 'x-api-key': '' };
const scrape = async () => (await fetch(`${service.url}/-/metrics`)).text();

describe('GraphQL operation names in the metrics', () => {
  it('does not keep a huge name an anonymous caller chose as a label', async () => {
    for (let index = 0; index < 5; index += 1) {
      const name = `Huge${index}${'x'.repeat(200_000)}`;
      const res = await service.call('POST', '/graphql', { query: `query ${name} { __typename }` }, anonymous);
      expect(res.status).toBe(200);
    }
    const text = await scrape();
    expect(text.length).toBeLessThan(200_000);
    expect(text).not.toContain('Huge0');
    expect(text).toMatch(/ums_graphql_operations_total\{operation="other",outcome="success"\} [1-9]/);
  });

  it('still names operations of a usual length', async () => {
    const name = `Dashboard${'X'.repeat(50)}`;
    await service.call('POST', '/graphql', { query: `query ${name} { __typename }` }, anonymous);
    expect(await scrape()).toContain(`operation="${name}"`);
  });
});
