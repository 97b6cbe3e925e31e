import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * A user id far longer than any store's id went into the CRUD's `/users/:id` as it came: the
 * CRUD (Node's parser, 16 KB of request head) answered 431 or 414, and the caller a 500 ("CRUD GET
 * /users/:id responded with a 431 status code"): GraphQL `user(id:)` takes an id of any length,
 * and so does the Timer's callback (REST paths are bounded by the service's own request head). A path longer than any id names nothing: not found, unsent.
 */
let service: TestService;
const LONG = 'a'.repeat(100_000);
const scope = { actorId: 'test', headers: {} };

/** How many requests the identity provider's emulator has received (none embedded). */
function identityRequests(): number {
  return (service.auth0?.requests.length ?? 0) + (service.auth0Client?.requests.length ?? 0);
}

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

describe('a user id longer than any id', () => {
  it('is a NotFoundError in GraphQL', async () => {
    const read = await service.graphql('query ($id: ID!) { user(id: $id) { __typename } }', { id: LONG });
    expect(read.data?.user?.__typename).toBe('NotFoundError');
    expect(JSON.stringify(read)).not.toMatch(/431|414|CRUD/);
  });

  it('is an authUserId that does not exist for POST /users/with-id and GraphQL createUserWithId', async () => {
    // Auth0 and the auth0-client search the id in a query string: past their request head (431) a 500.
    const before = identityRequests();
    const rest = await service.call('POST', '/users/with-id', { userGroup: 'guest', authUserId: LONG });
    expect(rest.status).toBe(400);
    expect(rest.body.message).toMatch(/^authUserId "a{128}…" does not exist in the authentication service$/);
    const created = await service.graphql(
      'mutation ($id: String!) { createUserWithId(input: { userGroup: "guest", authUserId: $id }) { __typename } }',
      { id: LONG },
    );
    expect(created.data?.createUserWithId?.__typename).toBe('InvalidInputError');
    expect(identityRequests()).toBe(before);
    expect(JSON.stringify([rest.body, created])).not.toMatch(/431|414|Auth0|auth0-client/);
  });

  it('is an unknown identity for POST /users/change-password and GraphQL requestPasswordChange, unasked', async () => {
    // Auth0 searched the id in a query string (its 431, a 500), and the auth0-client was sent it.
    const mutation = 'mutation ($id: String!) { requestPasswordChange(authUserId: $id) { __typename ... on Error { message } } }';
    const unknown = await service.call('POST', '/users/change-password', { authUserId: 'a' });
    const unknownGraphql = await service.graphql(mutation, { id: 'a' });
    const before = identityRequests();
    const rest = await service.call('POST', '/users/change-password', { authUserId: LONG });
    const graphql = await service.graphql(mutation, { id: LONG });
    expect(identityRequests()).toBe(before);
    expect([unknown.status, rest.status]).toEqual([404, 404]);
    expect(rest.body).toEqual({ ...unknown.body, message: `identity user ${LONG.slice(0, 128)}… not found` });
    expect(unknownGraphql.data?.requestPasswordChange).toEqual({ __typename: 'NotFoundError', message: 'identity user a not found' });
    expect(graphql.data?.requestPasswordChange).toEqual({
      __typename: 'NotFoundError',
      message: `identity user ${LONG.slice(0, 128)}… not found`,
    });
  });

  it('is no identity for the GraphQL identity field of a profile that holds one (written to the store by another service)', async () => {
    const profile = await service.deps.users.insert({ userGroup: 'guest', name: 'long', authUserId: LONG }, scope);
    const before = identityRequests();
    const read = await service.graphql('query ($id: ID!) { user(id: $id) { ... on QueryUserSuccess { data { identity { id } } } } }', {
      id: profile._id,
    });
    expect(read).toEqual({ data: { user: { data: { identity: null } } } });
    expect(identityRequests()).toBe(before);
  });

  // The CRUD stores look a group or a job up by a `_q` filter: a 100,000-character name filled the
  // CRUD's URL, the 400 "narrow the filter" (INVALID_INPUT), where the embedded store said not found.
  it.each([
    ['userGroup', 'query ($id: String!) { userGroup(userGroup: $id) { __typename } }'],
    ['deleteUserGroup', 'mutation ($id: String!) { deleteUserGroup(userGroup: $id) { __typename } }'],
    ['bulkActivationJob', 'query ($id: ID!) { bulkActivationJob(jobId: $id) { __typename } }'],
    ['passwordChangeJob', 'query ($id: ID!) { passwordChangeJob(jobId: $id) { __typename } }'],
  ])('is a group name or job id no document has: GraphQL %s is a NotFoundError, unsent', async (field, document) => {
    const before = service.crud?.requests.length ?? 0;
    const answer = await service.graphql(document, { id: LONG });
    expect(answer).toEqual({ data: { [field]: { __typename: 'NotFoundError' } } });
    const lookups = (service.crud?.requests.slice(before) ?? []).filter((request) =>
      (request.query.get('_q') ?? '').includes('aaaaaaaaaa'),
    );
    expect(lookups).toEqual([]);
  });

  it('makes the expiration callback expire nobody, with no error', async () => {
    const secret = { 'x-api-key': '', 'x-ums-timer-secret': service.deps.timerSecret };
    const answer = await service.call('POST', '/internal/expirations', { userId: LONG, expirationDate: '2020-01-01T00:00:00Z' }, secret);
    expect(answer.status).toBe(204);
  });
});

/**
 * A 404 (or 400) for an unknown id repeated the id whole: a 100,000-character id gave a 100 KB
 * answer, on every path that names a user, an identity, a job or a group. What is repeated is the
 * id's first 128 characters and `…`; a usual id is repeated whole.
 */
describe('an unknown id in an answer', () => {
  const PATH_ID = 'b'.repeat(8_000); // a REST path is bounded by the request head (16 KB)
  const shown = (id: string) => `${id.slice(0, 128)}…`;
  const small = (answer: unknown) => expect(JSON.stringify(answer).length).toBeLessThan(1_000);

  it.each([
    ['GET', '/users/:id'],
    ['PATCH', '/users/:id'],
    ['DELETE', '/users/:id'],
    ['POST', '/users/:id/soft-delete'],
    ['GET', '/jobs/bulk-activation/:id'],
    ['GET', '/jobs/change-password/bulk/:id'],
  ])('is repeated up to 128 characters by %s %s', async (method, route) => {
    const res = await service.call(method, route.replace(':id', PATH_ID), method === 'PATCH' ? { $set: { name: 'x' } } : undefined);
    expect(res.status).toBe(404);
    small(res.body);
  });

  it('is repeated up to 128 characters for an authUserId: change-password, with-id, requestPasswordChange', async () => {
    const rest = await service.call('POST', '/users/change-password', { authUserId: LONG });
    expect([rest.status, rest.body.message]).toEqual([404, `identity user ${shown(LONG)} not found`]);
    const created = await service.call('POST', '/users/with-id', { userGroup: 'guest', authUserId: LONG });
    expect([created.status, created.body.message]).toEqual([
      400,
      `authUserId "${shown(LONG)}" does not exist in the authentication service`,
    ]);
    const graphql = await service.graphql(
      'mutation ($id: String!) { requestPasswordChange(authUserId: $id) { ... on Error { message } } }',
      {
        id: LONG,
      },
    );
    expect(graphql.data?.requestPasswordChange).toEqual({ message: `identity user ${shown(LONG)} not found` });
  });

  it.each([
    ['user', 'query ($id: ID!) { user(id: $id) { ... on Error { message } } }'],
    ['deleteUser', 'mutation ($id: ID!) { deleteUser(id: $id) { ... on Error { message } } }'],
    ['softDeleteUser', 'mutation ($id: ID!) { softDeleteUser(id: $id) { ... on Error { message } } }'],
    ['updateUser', 'mutation ($id: ID!) { updateUser(id: $id, update: { name: "x" }) { ... on Error { message } } }'],
    ['bulkActivationJob', 'query ($id: ID!) { bulkActivationJob(jobId: $id) { ... on Error { message } } }'],
    ['passwordChangeJob', 'query ($id: ID!) { passwordChangeJob(jobId: $id) { ... on Error { message } } }'],
    ['userGroup', 'query ($id: String!) { userGroup(userGroup: $id) { ... on Error { message } } }'],
    ['deleteUserGroup', 'mutation ($id: String!) { deleteUserGroup(userGroup: $id) { ... on Error { message } } }'],
  ])('is repeated up to 128 characters by GraphQL %s', async (field, document) => {
    const answer = await service.graphql(document, { id: LONG });
    expect(answer.errors, String(JSON.stringify(answer.errors)).slice(0, 600)).toBeUndefined();
    expect(Object.keys(answer.data?.[field] ?? {})).toEqual(['message']);
    small(answer);
  });

  it('is repeated up to 128 characters, ten ids at most, by a bulk activation of unknown users', async () => {
    const res = await service.call('POST', '/jobs/bulk-activation', { ids: Array.from({ length: 10 }, (_, index) => `${index}${LONG}`) });
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body).length).toBeLessThan(3_000);
  });

  it('is repeated up to 128 characters by the 404 of an unknown route', async () => {
    const res = await service.call('GET', `/nowhere/${PATH_ID}`);
    expect(res.status).toBe(404);
    small(res.body);
  });

  it('is repeated whole when it is a usual id', async () => {
    const res = await service.call('GET', '/users/0123456789abcdef01234567');
    expect([res.status, res.body.message]).toEqual([404, 'user 0123456789abcdef01234567 not found']);
  });
});
