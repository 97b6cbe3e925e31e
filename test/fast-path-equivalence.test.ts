import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type StoreKind, type TestService } from './helpers/service.js';

/**
 * `GET /users/` and `/users/count` are answered before Express (rest/fast-path.ts), and the
 * embedded store writes the page from its stored text (embedded/page-text.ts). The same request
 * spelled `/Users/` goes through Express: both must give the same bytes (status, the headers a
 * client reads, body) for every kind of query, error included.
 */
const scope = { actorId: 'test', headers: {} };
const q = (filter: unknown) => `_q=${encodeURIComponent(JSON.stringify(filter))}`;
/** Headers a client reads (Express adds an ETag, the fast path does not: docs/decisions.md). */
const COMPARED = ['content-type', 'content-length', 'retry-after', 'cache-control'];

const QUERIES: { name: string; query: string; headers?: Record<string, string>; embeddedOnly?: boolean }[] = [
  { name: 'the default page', query: '' },
  { name: 'a page of 100', query: '_l=100' },
  { name: '_l and _sk', query: '_l=4&_sk=3' },
  { name: 'several states', query: '_st=PUBLIC,DRAFT&_l=50' },
  { name: '_q on a column', query: `${q({ userGroup: 'guest' })}&_l=50` },
  { name: '_q in the process (regex)', query: `${q({ name: { $regex: '^N1' } })}&_l=50` },
  { name: '_q on a date', query: `${q({ expirationDate: { $gt: '2030-01-01T00:00:00Z' } })}&_l=50` },
  // The CRUD emulator's users collection has no text index: $text is asked of the embedded store.
  { name: '$text', query: `${q({ $text: { $search: 'violet' } })}`, embeddedOnly: true },
  { name: 'field=value', query: 'userGroup=customer&_l=50' },
  { name: '_p projection', query: '_p=username,age&_l=50' },
  { name: '_s sort', query: '_s=-age,username&_l=50' },
  { name: 'acl_rows', query: '_l=50', headers: { acl_rows: JSON.stringify({ userGroup: 'guest' }) } },
  { name: 'acl_read_columns', query: '_l=50', headers: { acl_read_columns: 'username,userGroup' } },
  { name: 'acl_read_columns with _p', query: '_p=username,age&_l=50', headers: { acl_read_columns: 'username,email' } },
  { name: 'a bad _l (400)', query: '_l=500' },
  { name: 'an unknown parameter (400)', query: '_x=1' },
  { name: 'a malformed _q (400)', query: '_q=%7Bnope' },
  { name: 'a forbidden operator (400)', query: q({ $where: 'true' }) },
  { name: 'no credentials (401)', query: '', headers: { 'x-api-key': '' } },
  { name: 'an unknown API key (401)', query: '', headers: { 'x-api-key': 'not-a-key' } },
  { name: 'a malformed bearer token (401)', query: '', headers: { 'x-api-key': '', authorization: 'Bearer nope' } },
];

describe.each<StoreKind>(['embedded', 'crud'])('the fast path and Express, %s store', (store) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startService({ store, env: { TEXT_SEARCH_FIELDS: 'name,colour' } });
    await seedGroups(service);
    for (let index = 0; index < 40; index += 1) {
      await service.deps.users.insert(
        {
          userGroup: index % 3 === 0 ? 'guest' : 'customer',
          username: `user${index}`,
          email: `user${index}@example.com`,
          name: `N${index} ünïcode "q" \u2028`,
          age: index % 7,
          colour: index % 5 === 0 ? 'violet' : 'green',
          expirationDate: new Date(Date.UTC(2025 + (index % 10), 0, 1)).toISOString(),
          nested: { list: [index, { deep: null }], empty: {} },
          __STATE__: index % 8 === 0 ? 'DRAFT' : 'PUBLIC',
        },
        scope,
      );
    }
  });
  afterAll(() => service.close());

  async function raw(path: string, headers: Record<string, string> = {}) {
    const sent: Record<string, string> = { 'x-api-key': TEST_API_KEY };
    for (const [name, value] of Object.entries(headers)) {
      if (value === '') delete sent[name];
      else sent[name] = value;
    }
    const res = await fetch(`${service.url}${path}`, { headers: sent });
    const body = Buffer.from(await res.arrayBuffer()).toString('utf8');
    return { status: res.status, headers: COMPARED.map((name) => [name, res.headers.get(name)]), body };
  }

  const queries = () => QUERIES.filter((test) => store === 'embedded' || !test.embeddedOnly);

  it.each(QUERIES)('GET /users/ and /users/count answer $name alike', async ({ query, headers, embeddedOnly }) => {
    if (embeddedOnly && store !== 'embedded') return;
    for (const path of ['/users/', '/users/count']) {
      const fast = await raw(`${path}?${query}`, headers);
      const general = await raw(`${path.replace('/users/', '/Users/')}?${query}`, headers);
      expect(fast).toEqual(general);
    }
  });

  it('answers the queries above with pages and errors, not with one kind only', async () => {
    const statuses = new Set<number>();
    for (const { name, query, headers } of queries()) {
      const answer = await raw(`/users/?${query}`, headers);
      expect(answer.status, `${name}: ${answer.body}`).not.toBe(500);
      statuses.add(answer.status);
    }
    expect([...statuses].sort()).toEqual([200, 400, 401]);
    const page = JSON.parse((await raw('/users/?_l=100')).body) as unknown[];
    expect(page.length).toBeGreaterThan(30);
  });
});
