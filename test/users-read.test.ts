import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from './helpers/service.js';

let service: TestService;
const ids: string[] = [];

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
  for (let index = 0; index < 30; index += 1) {
    const group = index % 3 === 0 ? 'guest' : 'customer';
    const res = await service.call('POST', '/users/', {
      userGroup: group,
      username: `user${String(index).padStart(2, '0')}`,
      email: `user${String(index).padStart(2, '0')}@example.com`,
      name: `N${index}`,
      age: index,
      tags: index % 2 ? ['odd'] : ['even'],
    });
    ids.push(res.body._id);
  }
  await service.deps.users.setState(ids[29]!, 'DRAFT', { actorId: 'test', headers: {} });
});
afterAll(() => service.close());

const q = (filter: unknown) => encodeURIComponent(JSON.stringify(filter));

describe('GET /users/ (a CRUD proxy)', () => {
  it('returns PUBLIC users, 25 by default, in insertion order', async () => {
    const res = await service.call('GET', '/users/');
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(25);
    expect(res.body[0]).toMatchObject({ _id: ids[0], username: 'user00', email: 'user00@example.com', __STATE__: 'PUBLIC' });
  });

  it('filters with _q, field=value, _st, and pages with _l and _sk', async () => {
    expect((await service.call('GET', `/users/?_q=${q({ userGroup: 'guest' })}&_l=200`)).body).toHaveLength(10);
    expect((await service.call('GET', `/users/?_q=${q({ age: { $gte: 10, $lt: 20 } })}`)).body).toHaveLength(10);
    expect((await service.call('GET', `/users/?_q=${q({ tags: 'odd', userGroup: 'customer' })}&_l=100`)).body).toHaveLength(9); // user29 is DRAFT
    expect(
      (
        await service.call(
          'GET',
          `/users/?_q=${q({
            $or: [
              { username: 'user01', email: 'user01@example.com' },
              { username: 'user02', email: 'user02@example.com' },
            ],
          })}`,
        )
      ).body,
    ).toHaveLength(2);
    expect((await service.call('GET', '/users/?username=user03')).body).toEqual([expect.objectContaining({ _id: ids[3] })]);
    expect((await service.call('GET', '/users/?age=4')).body).toEqual([expect.objectContaining({ _id: ids[4] })]);
    expect((await service.call('GET', '/users/?username=user29')).body).toEqual([]);
    expect((await service.call('GET', '/users/?username=user29&_st=DRAFT')).body).toHaveLength(1);
    const page = (await service.call('GET', '/users/?_l=5&_sk=5')).body;
    expect(page.map((user: { _id: string }) => user._id)).toEqual(ids.slice(5, 10));
  });

  it('sorts with _s and projects with _p', async () => {
    const sorted = (await service.call('GET', '/users/?_s=-age&_l=3&_p=username,age')).body;
    expect(sorted).toEqual([
      { _id: ids[28], username: 'user28', age: 28 },
      { _id: ids[27], username: 'user27', age: 27 },
      { _id: ids[26], username: 'user26', age: 26 },
    ]);
  });

  it('answers 400 for a forbidden operator, malformed _q, unknown parameter, or a limit over 200', async () => {
    for (const query of [
      `_q=${q({ $where: 'sleep(100)' })}`,
      `_q=${q({ age: { $expr: 1 } })}`,
      '_q={bad',
      '_q=[1]',
      '_unknown=1',
      '_l=201',
      '_l=0',
      '_sk=-1',
      '_st=GONE',
    ]) {
      const res = await service.call('GET', `/users/?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.statusCode).toBe(400);
    }
  });

  it('ANDs the acl_rows header into the filter', async () => {
    const res = await service.call('GET', '/users/?_l=200', undefined, { acl_rows: JSON.stringify([{ userGroup: 'guest' }]) });
    expect(res.body).toHaveLength(10);
  });
});

describe('GET /users/count', () => {
  it('counts like the CRUD, with filters and states', async () => {
    expect((await service.call('GET', '/users/count')).body).toBe(29);
    expect((await service.call('GET', `/users/count?_q=${q({ userGroup: 'customer' })}`)).body).toBe(19);
    expect((await service.call('GET', '/users/count?_st=PUBLIC,DRAFT')).body).toBe(30);
    expect((await service.call('GET', `/users/count?_q=${q({ name: { $regex: '^N1' } })}`)).body).toBe(11);
    expect((await service.call('GET', '/users/count?_l=3')).status).toBe(400);
  });
});

// GET /users/ and /users/count are answered before Express (rest/fast-path.ts); other spellings
// of the paths and HEAD go through Express: both must answer alike.
describe('list and count on the fast path and through Express', () => {
  it('answer the same at /users, /users/, /Users/, /users/count/ and /USERS/COUNT', async () => {
    const page = (await service.call('GET', '/users/?_l=3')).body;
    expect(page).toHaveLength(3);
    for (const path of ['/users?_l=3', '/Users/?_l=3']) expect((await service.call('GET', path)).body).toEqual(page);
    for (const path of ['/users/count', '/users/count/', '/USERS/COUNT']) expect((await service.call('GET', path)).body).toBe(29);
    const head = await fetch(`${service.url}/users/count`, { method: 'HEAD', headers: { 'x-api-key': TEST_API_KEY } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('refuse a caller without credentials with the same body on both paths', async () => {
    const fast = await service.call('GET', '/users/count', undefined, { 'x-api-key': '' });
    const express = await service.call('GET', '/Users/count', undefined, { 'x-api-key': '' });
    expect(fast.status).toBe(401);
    expect(fast.body).toEqual(express.body);
    expect(fast.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    const bad = await service.call('GET', '/users/?_l=500');
    expect([bad.status, bad.body.statusCode, bad.body.error]).toEqual([400, 400, 'Bad Request']);
  });

  it('take a query sent without percent-encoding, as curl sends it', async () => {
    const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const path = '/users/count?_q={"userGroup":"guest"}';
      request(`${service.url}${path}`, { headers: { 'x-api-key': TEST_API_KEY } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
        .on('error', reject)
        .end();
    });
    expect(raw).toEqual({ status: 200, body: '10' });
  });
});

describe('GET /users/:id', () => {
  it('returns a user in any state, 404 for an unknown id', async () => {
    expect((await service.call('GET', `/users/${ids[29]}`)).body).toMatchObject({ __STATE__: 'DRAFT' });
    expect((await service.call('GET', `/users/${ids[29]}?_st=PUBLIC`)).status).toBe(404);
    const missing = await service.call('GET', '/users/ffffffffffffffffffffffff');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'user ffffffffffffffffffffffff not found' });
  });
});

describe('unknown routes', () => {
  it('answer 404 in the same error shape', async () => {
    expect((await service.call('GET', '/nothing-here')).body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});
