import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/** Answers that carry tokens, identity claims or users' data must not be kept by a browser or a shared cache. */
const PASSWORD = 'Correct-horse-9';
const anonymous = { 'x-api-key': '' };
let service: TestService;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: 'nostore',
    email: 'nostore@example.com',
    name: 'N',
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
});
afterAll(() => service.close());

describe('Cache-Control: no-store', () => {
  it('on /oauth/token, /userinfo and /refreshtoken, refused or answered', async () => {
    const login = await service.call('POST', '/oauth/token', { username: 'nostore', password: PASSWORD }, anonymous);
    expect(login.status).toBe(200);
    const bearer = { ...anonymous, authorization: `Bearer ${login.body.accessToken}` };
    const answers = [
      login,
      await service.call('POST', '/oauth/token', { username: 'nostore', password: 'Wrong-guess-1' }, anonymous),
      await service.call('GET', '/userinfo', undefined, bearer),
      await service.call('POST', '/refreshtoken', { refreshToken: 'not-a-refresh-token' }, bearer),
      await service.call('POST', '/refreshtoken', { refreshToken: login.body.refreshToken }, bearer),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 401, 200, 401, 200]);
    for (const answer of answers) expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it("on the REST API's answers of users' data, the fast path's and Express's, errors included", async () => {
    const [user] = (await service.call('GET', '/users/?_l=1')).body;
    const answers = [
      await service.call('GET', '/users/?_l=1'),
      await service.call('GET', '/users/count'),
      await service.call('GET', '/Users/?_l=1'),
      await service.call('GET', `/users/${user._id}`),
      await service.call('GET', '/users/?_l=0'),
      await service.call('PATCH', `/users/${user._id}`, { $set: { name: 'M' } }),
      await service.call('GET', '/users/ffffffffffffffffffffffff'),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 400, 200, 404]);
    for (const answer of answers) expect(answer.headers.get('cache-control')).toBe('no-store');
  });
});
