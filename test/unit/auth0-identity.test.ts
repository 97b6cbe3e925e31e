import { describe, expect, it } from 'vitest';
import { isAuth0Record, toIdentity, userIdQuery } from '../../src/clients/auth0/identity.js';

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

  it('writes the user_id search as a query-string value that decodes to quoted, escaped phrases', () => {
    const ids = [
      'auth0|5f7c8ec7c33c6c004bbafe82',
      'google-oauth2|1093',
      'samlp|corp|ada@example.com',
      'email|"x"\\y',
      'auth0|a+b%c&d=e#f é',
    ];
    const encoded = userIdQuery(ids);
    expect(encoded).toMatch(/^[\w.~!*'()%-]+$/);
    expect(new URLSearchParams(`q=${encoded}`).get('q')).toBe(
      'user_id:("auth0|5f7c8ec7c33c6c004bbafe82" OR "google-oauth2|1093" OR "samlp|corp|ada@example.com" OR "email|\\"x\\"\\\\y" OR "auth0|a+b%c&d=e#f é")',
    );
    expect(userIdQuery(['auth0|abc'])).toBe('user_id%3A(%22auth0%7Cabc%22)');
  });
});
