import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../../helpers/service.js';

/** Issue #16, part 6: GraphiQL is served from the npm package, and can be switched off. */
let service: TestService;

beforeAll(async () => {
  service = await startService();
});
afterAll(() => service.close());

const asBrowser = { accept: 'text/html' };

/** `src`/`href` attributes of the page's tags that point at another host. */
function externalReferences(html: string): string[] {
  const tags = html.match(/<(script|link|img|iframe)\b[^>]*>/gi) ?? [];
  return tags.filter((tag) => /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i.test(tag));
}

describe('GraphiQL', () => {
  it('is served with no script, style or worker from another host', async () => {
    const response = await fetch(`${service.url}/graphql`, { headers: asBrowser });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('YogaGraphiQL.renderYogaGraphiQL');
    expect(externalReferences(html)).toEqual([]);
    expect(html).not.toMatch(/unpkg\.com|cdn\.jsdelivr\.net|raw\.githubusercontent\.com/);
  });

  it('is not served with GRAPHIQL=false', async () => {
    const off = await startService({ env: { GRAPHIQL: 'false' } });
    try {
      const response = await fetch(`${off.url}/graphql`, { headers: asBrowser });
      expect(response.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
      expect(await response.text()).not.toMatch(/GraphiQL/);
      expect((await off.graphql('{ __typename }')).data).toEqual({ __typename: 'Query' });
    } finally {
      await off.close();
    }
  });
});
