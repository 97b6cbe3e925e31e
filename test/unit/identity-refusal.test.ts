import { describe, expect, it } from 'vitest';
import { identityRefusal } from '../../src/clients/identity-refusal.js';

/** An identity provider's 400: the caller gets the service's words, the operators' log gets the upstream's. */
describe('identityRefusal', () => {
  const refusal = (body: unknown) => {
    const lines: unknown[][] = [];
    const error = identityRefusal({
      upstream: 'Auth0',
      call: 'POST /api/v2/users',
      body,
      log: { warn: (...args: unknown[]) => lines.push(args) } as never,
    });
    return { error, lines };
  };

  it('names what was refused, from the code and message, and logs the upstream text at warn', () => {
    const { error, lines } = refusal({
      statusCode: 400,
      message: 'PasswordHistoryError: Password has previously been used',
      errorCode: 'invalid_body',
    });
    expect(error.status).toBe(400);
    expect(error.refused).toBe('password');
    expect(error.message).not.toMatch(/History|previously/);
    expect(lines).toEqual([
      [
        expect.objectContaining({
          upstream: 'Auth0',
          upstreamErrorCode: 'invalid_body',
          upstreamMessage: 'PasswordHistoryError: Password has previously been used',
        }),
        'Auth0 refused a request (400)',
      ],
    ]);
    expect(refusal({ message: 'Cannot set username for connection without requires_username' }).error.refused).toBe('username');
    expect(refusal({ message: "'String is too long (200 chars), maximum 128' on property user_name" }).error.refused).toBe('username');
    expect(refusal({ message: 'The email is invalid' }).error.refused).toBe('email');
    expect(refusal({ message: 'Something else' }).error.message).toBe('The identity provider refused the request');
    expect(refusal('plain text').error.refused).toBe('request');
  });

  it('logs at most 500 characters of the upstream text', () => {
    const { lines } = refusal({ message: `PasswordStrengthError: ${'x'.repeat(100_000)}` });
    expect((lines[0]![0] as { upstreamMessage: string }).upstreamMessage).toHaveLength(500);
  });
});
