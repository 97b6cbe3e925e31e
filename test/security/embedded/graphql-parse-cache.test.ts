import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../../helpers/service.js';

/**
 * Yoga keeps the documents it parsed, by their text, for the next request with the same text:
 * up to 1,024 documents and 1,024 parse errors, whatever their size. A document of 2,000 tokens
 * (4 KB of text, within GRAPHQL_MAX_TOKENS) parses to about 1 MB of AST, so 1,000 anonymous
 * requests (4 MB sent, refused by validation or not) held a gigabyte for an hour: enough to get
 * a container killed. The caches are now bounded by the memory their entries take.
 */
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

let service: TestService;

beforeAll(async () => {
  service = await startService();
});
afterAll(() => service.close());

const anonymous = { 'x-api-key': '' };

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe("GraphQL's cache of parsed documents", () => {
  it('holds a bounded amount of memory, however many large documents strangers send', async () => {
    // The service's own first-request work (compiled code, schema caches) is not the caches' growth.
    for (let index = 0; index < 5; index += 1) await service.call('POST', '/graphql', { query: `{ warm${index} }` }, anonymous);
    const before = heapUsed();
    for (let index = 0; index < 200; index += 1) {
      // 2,000 tokens: GRAPHQL_MAX_TOKENS lets them through the parser, and validation refuses them.
      const query = `query Q${index} { ${'a '.repeat(1990)}}`;
      const res = await service.call('POST', '/graphql', { query }, anonymous);
      expect(res.status).toBe(200);
    }
    // Parse errors are kept as well: each holds its source text.
    for (let index = 0; index < 50; index += 1) {
      await service.call('POST', '/graphql', { query: `{ broken${index} ${'x'.repeat(500_000)}` }, anonymous);
    }
    const grown = (heapUsed() - before) / 1024 / 1024;
    // About 240 MB before; the caches now hold 20 MB at most.
    expect(grown).toBeLessThan(80);
  });

  it('still answers a repeated document from the cache', async () => {
    const query = '{ __typename }';
    for (let index = 0; index < 3; index += 1) {
      expect((await service.call('POST', '/graphql', { query }, anonymous)).body).toEqual({ data: { __typename: 'Query' } });
    }
  });
});
