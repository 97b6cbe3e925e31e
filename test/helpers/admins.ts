import { expect } from 'vitest';
import type { TestService } from './service.js';

/** The password of the administrators made here (the embedded policy accepts it). */
export const ADMIN_PASSWORD = 'Correct-horse-9';
/** No API key: a request that authenticates with the bearer token alone. */
export const NO_API_KEY = { 'x-api-key': '' };
let made = 0;

/**
 * A new administrator (group `admin`) logged in with a password: its profile id, identity and
 * bearer header. For tests that then log it out, block or demote it while it has work open.
 */
export async function loggedInAdmin(service: TestService, prefix: string) {
  made += 1;
  const username = `${prefix}${made}`;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'admin',
    username,
    email: `${username}@example.com`,
    password: ADMIN_PASSWORD,
  });
  expect(created.status).toBe(200);
  const login = await service.call('POST', '/oauth/token', { username, password: ADMIN_PASSWORD }, NO_API_KEY);
  const authUserId = (await service.call('GET', `/users/${created.body._id}`)).body.authUserId as string;
  return { id: created.body._id as string, authUserId, bearer: { authorization: `Bearer ${login.body.accessToken}` } };
}
