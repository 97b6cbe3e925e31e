import { describe, expect, it } from 'vitest';
import { toIdentities, toIdentity } from '../../src/clients/auth0/identity.js';

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

  it('refuses what is not a user: no user_id, or not an object', () => {
    expect(toIdentity({ email: 'a@b.c' })).toBeUndefined();
    expect(toIdentity({ user_id: 12 })).toBeUndefined();
    expect(toIdentity(null)).toBeUndefined();
    expect(toIdentity('auth0|abc')).toBeUndefined();
  });

  it('reads a search page only when every entry is a user', () => {
    expect(toIdentities([auth0User, { ...auth0User, user_id: 'auth0|def' }])?.map((user) => user.id)).toEqual(['auth0|abc', 'auth0|def']);
    expect(toIdentities([])).toEqual([]);
    expect(toIdentities([auth0User, { email: 'no-id@example.com' }])).toBeUndefined();
    expect(toIdentities({ users: [auth0User] })).toBeUndefined();
  });
});
