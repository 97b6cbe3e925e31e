import { describe, expect, it } from 'vitest';
import { isAuth0Record, toIdentity } from '../../src/clients/auth0/identity.js';

const auth0User = {
  user_id: 'auth0|abc',
  email: 'ada@example.com',
  username: 'ada',
  email_verified: true,
  blocked: true,
  created_at: '2026-01-02T03:04:05.000Z',
  updated_at: '2026-01-03T03:04:05.000Z',
  last_login: '2026-01-04T03:04:05.000Z',
  logins_count: 7,
  identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0' }],
};

describe('Auth0 user objects as identities', () => {
  it('keeps the fields of an identity and nothing else', () => {
    expect(toIdentity(auth0User)).toEqual({
      id: 'auth0|abc',
      email: 'ada@example.com',
      username: 'ada',
      emailVerified: true,
      blocked: true,
      createdAt: '2026-01-02T03:04:05.000Z',
      updatedAt: '2026-01-03T03:04:05.000Z',
      lastLogin: '2026-01-04T03:04:05.000Z',
      loginsCount: 7,
    });
  });

  it('drops fields of the wrong type and reads absent flags as false', () => {
    const identity = toIdentity({ user_id: 'auth0|x', email: 42, blocked: 'yes', logins_count: '3', last_login: null });
    expect(identity).toMatchObject({
      id: 'auth0|x',
      email: undefined,
      blocked: false,
      emailVerified: false,
      loginsCount: 0,
      lastLogin: undefined,
    });
  });

  it('takes for a user only an object with a string user_id', () => {
    expect(isAuth0Record(auth0User)).toBe(true);
    expect(isAuth0Record({ user_id: 'auth0|x' })).toBe(true);
    expect(isAuth0Record({ email: 'a@b.c' })).toBe(false);
    expect(isAuth0Record({ user_id: 12 })).toBe(false);
    expect(isAuth0Record(null)).toBe(false);
    expect(isAuth0Record('auth0|abc')).toBe(false);
    expect(isAuth0Record([auth0User])).toBe(false);
  });
});
