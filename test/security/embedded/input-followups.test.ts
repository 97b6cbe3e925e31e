import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../../helpers/service.js';

/** Follow-ups of issue #16 on the embedded store: the evaluator's words, the acl_rows header, CSV object cells. */
let service: TestService;

beforeAll(async () => {
  service = await startService({ store: 'embedded', identity: 'embedded' });
  await seedGroups(service, [
    {
      userGroup: 'meta',
      label: 'Meta',
      authUserCreationDisabled: true,
      crudSchema: { type: 'object', properties: { name: { type: 'string' }, meta: { type: 'object' } } },
    },
  ]);
  await service.call('POST', '/users/', { userGroup: 'meta', name: 'one', tags: ['t'] });
});
afterAll(() => service.close());

describe('client mistakes answered in the service own words', () => {
  it('a filter or an update whose operator does not fit its value', async () => {
    const filter = await service.call('GET', `/users/?_q=${encodeURIComponent('{"name":{"$in":5}}')}`);
    expect(filter.status).toBe(400);
    expect(filter.body.message).not.toMatch(/is not a function|undefined|input\[/);
    const [user] = (await service.call('GET', '/users/?name=one')).body;
    const update = await service.call('PATCH', `/users/${user._id}`, { $pull: { tags: { $in: 5 } } });
    expect(update.status).toBe(400);
    expect(update.body.message).not.toMatch(/iterable|input\[|is not a function/);
  });
});

describe('the acl_rows header', () => {
  it('cannot be widened by text written around its array', async () => {
    const widened = await service.call('GET', '/users/count', undefined, { acl_rows: '[{"name":"nobody"}],"$and":[{}]' });
    expect(widened.status).toBe(400);
    expect((await service.call('GET', '/users/count', undefined, { acl_rows: '[{"name":"nobody"}]' })).body).toBe(0);
  });
});

describe('CSV object cells', () => {
  it('refuse forbidden keys in their JSON, row by row', async () => {
    const csv = 'userGroup,name,meta\nmeta,bad,"{""constructor"":{""prototype"":{""x"":1}}}"\nmeta,good,"{""a"":1}"\n';
    const form = new FormData();
    form.append('file', new Blob([csv]), 'users.csv');
    const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', headers: { 'x-api-key': TEST_API_KEY }, body: form });
    const summary = (await res.json()) as { inserted: string[]; invalid: { row: number; error: string }[] };
    expect(res.status).toBe(200);
    expect(summary.inserted).toHaveLength(1);
    expect(summary.invalid).toEqual([{ row: 1, error: expect.stringContaining('constructor') }]);
  });
});
