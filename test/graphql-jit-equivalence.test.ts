import { useGraphQlJit } from '@envelop/graphql-jit';
import { createYoga } from 'graphql-yoga';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { jitShadowComparisons, takeJitShadowDifferences, useJitShadow } from '../src/graphql-jit-shadow.js';
import { schema } from '../src/schema/index.js';
import { CUSTOMER_GROUP, seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

/**
 * graphql-jit runs the documents of production and graphql-js the others (src/graphql.ts). Under
 * GRAPHQL_JIT_SHADOW=true every jit document is run both ways and a difference fails the request;
 * the `jit-shadow` vitest project runs every test file that sends GraphQL that way. This file
 * checks the check: it compares, it stays quiet when the engines agree, and it catches the drift
 * that happened once (a custom scalar's object literal losing its variables under jit).
 */
describe('graphql-jit checked against graphql-js (GRAPHQL_JIT_SHADOW)', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ env: { GRAPHQL_JIT_SHADOW: 'true' } });
    await seedGroups(service);
    await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'shadow',
      email: 'shadow@example.test',
      name: 'Shadow',
      age: 7,
    });
  });
  afterAll(() => service.close());

  it('runs queries and mutations both ways, with typed errors, and finds them equal', async () => {
    const before = jitShadowComparisons();
    const page = await service.graphql('query ($first: Int) { users(first: $first) { totalCount nodes { username properties } } }', {
      first: 5,
    });
    expect(page.errors).toBeUndefined();
    expect(page.data.users.nodes).toEqual([expect.objectContaining({ username: 'shadow' })]);
    const missing = await service.graphql('{ user(id: "6b14f0191c8824e669de9901") { __typename ... on NotFoundError { message } } }');
    expect(missing.data.user.__typename).toBe('NotFoundError');
    const saved = await service.graphql('mutation ($g: UserGroupInput!) { saveUserGroup(input: $g) { __typename } }', {
      g: { ...CUSTOMER_GROUP, label: 'Customers' },
    });
    expect(saved.data.saveUserGroup.__typename).toBe('MutationSaveUserGroupSuccess');
    expect(jitShadowComparisons() - before).toBe(3);
    expect(takeJitShadowDifferences()).toEqual([]);
  });

  it('leaves documents with object literals to graphql-js alone, as production does', async () => {
    const before = jitShadowComparisons();
    const answer = await service.graphql('query ($n: String) { users(filter: {name: $n}) { totalCount } }', { n: 'Shadow' });
    expect(answer.data.users.totalCount).toBe(1);
    expect(jitShadowComparisons()).toBe(before);
  });

  it('fails a request whose answer graphql-jit computes differently (jit forced onto an object literal)', async () => {
    const logger = pino({ level: 'silent' });
    const yoga = createYoga({
      schema,
      logging: false,
      plugins: [useGraphQlJit(), useJitShadow({ schema, enableIf: () => true, logger })],
      context: () => createContext({ headers: { 'x-api-key': TEST_API_KEY } }, service.deps),
    });
    const response = await yoga.fetch('http://ums.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query ($n: String) { users(filter: {name: $n}) { totalCount } }', variables: { n: 'Nobody' } }),
    });
    const answer = await response.json();
    expect(answer.data).toBeUndefined();
    expect(answer.errors[0].message).toMatch(/^graphql-jit and graphql-js differ/);
    const [difference, ...more] = takeJitShadowDifferences();
    expect(more).toEqual([]);
    // Resolvers run once (under graphql-js): the arguments jit would have passed are what differ.
    expect(difference).toContain(
      'users arguments: graphql-js {"filter":{"name":"Nobody"},"first":25}, graphql-jit {"filter":{},"first":25}',
    );
  });
});
