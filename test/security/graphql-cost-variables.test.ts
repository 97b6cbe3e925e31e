import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

/**
 * Issue #16 follow-up: graphql-armor multiplies a page's cost by `first` only when it is written
 * as a literal, so `first: $n` with `{"n": 200}` ran 15 pages of 200 users (1.5 MB) that the same
 * query with `first: 200` written out was refused for (cost 84,187.5 against 50,000).
 */
let service: TestService;

beforeAll(async () => {
  service = await startService();
});
afterAll(() => service.close());

const PAGE = 'edges { node { id username identity { email } } }';
const pages = (count: number, first: string) =>
  Array.from({ length: count }, (_, index) => `p${index}: users(first: ${first}) { ${PAGE} }`).join(' ');

async function post(query: string, variables?: Record<string, unknown>, operationName?: string) {
  const { status, body } = await service.call('POST', '/graphql', { query, variables, operationName });
  return { status, data: body.data, messages: ((body.errors ?? []) as { message: string }[]).map((error) => error.message) };
}

function expectCostRefused(answer: Awaited<ReturnType<typeof post>>) {
  expect(answer.status).toBe(400);
  expect(answer.data).toBeUndefined();
  expect(answer.messages).toEqual([expect.stringMatching(/^Query Cost limit of 50000 exceeded, found \d+/)]);
}

describe('GraphQL cost with page sizes given by variables', () => {
  it('refuses 15 pages of 200 written as a literal (as before)', async () => {
    expectCostRefused(await post(`{ ${pages(15, '200')} }`));
  });

  it('refuses the same 15 pages when first comes from a variable', async () => {
    expectCostRefused(await post(`query ($n: Int) { ${pages(15, '$n')} }`, { n: 200 }));
  });

  it('counts the same cost as the literal query', async () => {
    const literal = await post(`{ ${pages(15, '200')} }`);
    const variable = await post(`query ($n: Int) { ${pages(15, '$n')} }`, { n: 200 });
    expect(variable.messages).toEqual(literal.messages);
  });

  it('refuses them when first comes from a variable default', async () => {
    expectCostRefused(await post(`query ($n: Int = 200) { ${pages(15, '$n')} }`));
  });

  it('refuses them when the pages hide in a fragment', async () => {
    const query = `query ($n: Int) { ...Pages } fragment Pages on Query { ${pages(15, '$n')} }`;
    expectCostRefused(await post(query, { n: 200 }));
  });

  it('refuses the operation that runs in a document of several', async () => {
    const query = `query Small { usersCount } query Big($n: Int) { ${pages(15, '$n')} }`;
    expectCostRefused(await post(query, { n: 200 }, 'Big'));
    expect((await post(query, { n: 200 }, 'Small')).status).toBe(200);
  });

  it('does not let a cheap operation of a document vouch for its costly one', async () => {
    const document = `query Cheap { __typename } query Heavy($n: Int) { ${pages(15, '$n')} }`;
    expect((await post(document, { n: 1 }, 'Heavy')).status).toBe(200);
    expect((await post(document, undefined, 'Cheap')).data).toEqual({ __typename: 'Query' });
    expectCostRefused(await post(document, { n: 200 }, 'Heavy'));
  });

  it('runs the operation a request names, in a document of several (re-attack finding)', async () => {
    const document = 'query One { __typename } query Two { usersCount }';
    expect((await post(document, undefined, 'One')).data).toEqual({ __typename: 'Query' });
    expect((await post(document, undefined, 'Two')).data).toEqual({ usersCount: expect.any(Number) });
    expect((await post(document, undefined, 'One')).data).toEqual({ __typename: 'Query' });
  });

  it('does not let a negative page size pay for the others', async () => {
    const query = `query ($m: Int) { m: users(first: $m) { ${PAGE} } ${pages(10, '200')} }`;
    expectCostRefused(await post(query, { m: -10_000_000 }));
  });

  it('still runs dashboard pages whose size comes from a variable', async () => {
    const answer = await post(`query ($n: Int) { ${pages(15, '$n')} }`, { n: 25 });
    expect(answer.messages).toEqual([]);
    expect(answer.status).toBe(200);
    const one = await post(`query ($n: Int) { users(first: $n) { totalCount ${PAGE} } }`, { n: 200 });
    expect(one.messages).toEqual([]);
    const none = await post(`query ($n: Int) { users(first: $n) { totalCount } }`);
    expect(none.messages).toEqual([]);
  });
});
