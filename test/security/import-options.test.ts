import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * The import's `encoding` option: Node.js also "reads" hex, base64 and base64url, which are no
 * text encodings. csv-parse decodes its own options with it (a `,` delimiter in hex is no byte at
 * all) and threw while it was built: a 500 with an error-level log line, on PATCH /users/import
 * and GraphQL `importUsers` alike. They are a 400 now, as any encoding the service cannot read.
 */
const FILE = 'userGroup,username,email,name\ncustomer,enc,enc@example.com,E\n';
const NOT_TEXT = ['hex', 'base64', 'base64url', 'HEX'];
let service: TestService;

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
});
afterAll(() => service.close());

async function restImport(encoding: string) {
  const form = new FormData();
  form.append('encoding', encoding);
  form.append('file', new Blob([FILE], { type: 'text/csv' }), 'users.csv');
  const response = await fetch(`${service.url}/users/import`, { method: 'PATCH', body: form, headers: { 'x-api-key': TEST_API_KEY } });
  return { status: response.status, body: await response.json() };
}

async function graphqlImport(encoding: string) {
  const form = new FormData();
  const query = `mutation($file: Upload!, $encoding: String) {
    importUsers(file: $file, encoding: $encoding) { __typename ... on Error { message } }
  }`;
  form.append('operations', JSON.stringify({ query, variables: { file: null, encoding } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([FILE], { type: 'text/csv' }), 'users.csv');
  const response = await fetch(`${service.url}/graphql`, { method: 'POST', body: form, headers: { 'x-api-key': TEST_API_KEY } });
  return { status: response.status, body: await response.json() };
}

describe('an import encoding that is no text encoding', () => {
  it.each(NOT_TEXT)('PATCH /users/import with encoding=%s: 400, nothing written', async (encoding) => {
    const res = await restImport(encoding);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.message).toMatch(/^body\/encoding: /);
    expect((await service.call('GET', '/users/count?username=enc')).body).toBe(0);
  });

  it.each(NOT_TEXT)('GraphQL importUsers with encoding %s: InvalidInputError', async (encoding) => {
    const res = await graphqlImport(encoding);
    expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
    expect(res.body.data.importUsers).toEqual({ __typename: 'InvalidInputError', message: expect.stringMatching(/encoding/) });
  });

  it('still reads the text encodings', async () => {
    for (const encoding of ['utf8', 'latin1', 'ascii']) expect((await restImport(encoding)).status, encoding).toBe(200);
  });
});
