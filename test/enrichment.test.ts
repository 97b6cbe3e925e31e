import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type IdentityKind, seedGroups, startService, type TestService } from './helpers/service.js';

function configurationFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ums-conf-')), 'configuration.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** The identity provider's user reads so far. */
const identityReads = (service: TestService) => service.backend.identityReads();

/** Whatever the provider saw of the caller's `acl_rows` header. */
function aclRowsSent(service: TestService): boolean {
  const requests = [...(service.auth0?.requests ?? []), ...(service.auth0Client?.requests ?? [])];
  return requests.some((r) => r.headers.acl_rows !== undefined);
}

describe.each<IdentityKind>(['embedded', 'auth0', 'auth0Client'])('CONFIGURATION_PATH with the %s identity provider', (identity) => {
  it('adds the listed identity properties to GET /users/ in one batched read, never sending acl_rows', async () => {
    const file = configurationFile({ user_id: 'authUserId', additionalProperties: ['logins_count', 'email_verified', 'user_metadata'] });
    const service = await startService({ identity, env: { CONFIGURATION_PATH: file } });
    try {
      await seedGroups(service);
      const ids: string[] = [];
      for (let index = 0; index < 3; index += 1) {
        const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
          userGroup: 'customer',
          username: `en${index}`,
          email: `en${index}@example.com`,
          name: 'E',
        });
        ids.push(res.body._id);
      }
      const first = (await service.call('GET', `/users/${ids[0]}`)).body.authUserId;
      // A property only Auth0 has: the Auth0 providers pass it on as it is.
      const metadata = { theme: 'dark', tags: ['a'] };
      const stored = service.auth0?.users.get(first) ?? service.auth0Client?.users.get(first);
      if (stored) stored.user_metadata = metadata;

      const reads = identityReads(service);
      const res = await service.call('GET', '/users/?_s=username', undefined, { acl_rows: '[{"name":"E"}]' });
      expect(res.status).toBe(200);
      expect(res.body.map((user: { username: string }) => user.username)).toEqual(['en0', 'en1', 'en2']);
      for (const user of res.body) expect(user).toMatchObject({ logins_count: 0, email_verified: false });
      if (identity === 'embedded') expect(res.body[0]).not.toHaveProperty('user_metadata');
      else expect(res.body[0].user_metadata).toEqual(metadata);
      expect(res.body[1]).not.toHaveProperty('user_metadata');
      expect(identityReads(service) - reads).toBe(identity === 'embedded' ? 0 : 1);
      expect(aclRowsSent(service)).toBe(false);
      // A _rawp of exclusions leaves its fields out of the enriched page too (the embedded store's rows read judges it first).
      const excluded = await service.call('GET', `/users/?_rawp=${encodeURIComponent('{"name":0}')}`);
      expect(excluded.status).toBe(200);
      expect(excluded.body).toHaveLength(3);
      for (const user of excluded.body) expect(user).not.toHaveProperty('name');

      // GraphQL has the typed `identity` field instead: its pages are not enriched.
      const page = await service.graphql('{ users(first: 3) { nodes { properties identity { loginsCount } } } }');
      expect(page.errors).toBeUndefined();
      for (const node of page.data.users.nodes) {
        expect(node.properties).not.toHaveProperty('logins_count');
        expect(node.identity.loginsCount).toBe(0);
      }
    } finally {
      await service.close();
    }
  });
});

describe('CONFIGURATION_PATH file', () => {
  it('asks Auth0 only for the listed properties', async () => {
    const file = configurationFile({ user_id: 'authUserId', additionalProperties: ['nickname', 'user_metadata'] });
    const service = await startService({ identity: 'auth0', env: { CONFIGURATION_PATH: file } });
    try {
      await seedGroups(service);
      await service.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'customer',
        username: 'nick',
        email: 'nick.name@example.com',
        name: 'N',
      });
      const res = await service.call('GET', '/users/');
      expect(res.body[0].nickname).toBe('nick.name');
      const search = service.auth0!.requests.findLast((r) => r.method === 'GET' && r.path === '/api/v2/users')!;
      expect(search.query.get('fields')).toBe('user_id,nickname,user_metadata');
      expect(search.query.get('include_fields')).toBe('true');
    } finally {
      await service.close();
    }
  });

  it('refuses a malformed file at start-up', async () => {
    const file = configurationFile({ user_id: 'authUserId', extra: true, additionalProperties: [] });
    await expect(startService({ env: { CONFIGURATION_PATH: file } })).rejects.toThrow(/CONFIGURATION_PATH/);
  });
});
