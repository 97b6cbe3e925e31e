import { bootstrapAdmin } from '../src/bootstrap.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_GROUP, seedGroups, startService, type TestService } from './helpers/service.js';

/**
 * Issue #19 item 7 in the embedded store: a query naming a field no group declares is the CRUD's
 * 400 only while every group's schema refuses other properties; one open group lets any field be
 * stored, so any field may be asked for (docs/decisions.md).
 */
const closed = { ...CUSTOMER_GROUP, crudSchema: { ...CUSTOMER_GROUP.crudSchema, additionalProperties: false } };
const filter = (query: unknown) => `/users/count?_q=${encodeURIComponent(JSON.stringify(query))}`;

describe('unknown fields, embedded store', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ store: 'embedded' });
  });
  afterAll(() => service.close());

  it('are answered while no group closes its fields', async () => {
    expect((await service.call('GET', filter({ nickname: 'x' }))).body).toBe(0);
    await seedGroups(service, [CUSTOMER_GROUP]);
    expect((await service.call('GET', filter({ nickname: 'x' }))).body).toBe(0);
    expect((await service.call('GET', '/users/?_s=nickname')).status).toBe(200);
  });

  it('are a 400 once every group closes its fields, and answered again when one opens them', async () => {
    await seedGroups(service, [closed, { ...closed, userGroup: 'other', label: 'Other' }]);
    const refused = await service.call('GET', filter({ nickname: 'x' }));
    expect([refused.status, refused.body.message]).toEqual([400, 'Unknown field: nickname']);
    expect((await service.call('GET', filter({ name: 'x', 'tags.0': 'y', username: 'z' }))).status).toBe(200);
    expect((await service.call('GET', '/users/?nickname=x')).status).toBe(400);
    await seedGroups(service, [{ ...closed, userGroup: 'other', label: 'Other', crudSchema: { type: 'object' } }]);
    expect((await service.call('GET', filter({ nickname: 'x' }))).status).toBe(200);
  });

  it('are a 400 on a bootstrapped store too: the administrators group closes its fields', async () => {
    const fresh = await startService({ store: 'embedded', identity: 'embedded' });
    try {
      expect(await bootstrapAdmin(fresh.deps, () => undefined)).toBe(true);
      await seedGroups(fresh, [closed]);
      const refused = await fresh.call('GET', filter({ nickname: 'x' }));
      expect([refused.status, refused.body.message]).toEqual([400, 'Unknown field: nickname']);
      // The administrator's own profile keeps what it can hold: a name.
      const [admin] = (await fresh.call('GET', '/users/?username=admin')).body;
      expect((await fresh.call('PATCH', `/users/${admin._id}`, { $set: { name: 'Ada' } })).status).toBe(200);
      expect((await fresh.call('PATCH', `/users/${admin._id}`, { $set: { nickname: 'A' } })).status).toBe(400);
    } finally {
      await fresh.close();
    }
  });
});
