import type { Logger } from 'pino';
import { InvalidInputError } from '../errors.js';

/** What an identity provider's 400 refused, as far as its answer tells. */
export type RefusedPart = 'password' | 'username' | 'email' | 'request';

/** The service's words for each refusal: an upstream's own text never reaches an answer. */
const WORDS: Record<RefusedPart, string> = {
  password: "The password does not meet the identity provider's password policy",
  username: 'The username was refused by the identity provider',
  email: 'The e-mail address was refused by the identity provider',
  request: 'The identity provider refused the request',
};

/** A 400 of Auth0 or the auth0-client, in the service's words; `refused` says what it was about. */
export class IdentityRefusedError extends InvalidInputError {
  constructor(readonly refused: RefusedPart) {
    super(WORDS[refused]);
  }
}

/** Where the upstream's own words go: the operators' log. */
export type RefusalLog = Pick<Logger, 'warn'>;

/** Longest upstream text logged: an echo of a caller's 1 MB value must not become 1 MB of log. */
const LOGGED_CHARS = 500;

/**
 * An upstream's 400 as the caller's 400. Auth0's Management envelope is `{statusCode, error,
 * message, errorCode}` (spec/auth0.md §2): only `invalid_body` is documented, and the password
 * policy's errors are named in the message (`PasswordStrengthError: …`, `PasswordHistoryError`,
 * `PasswordDictionaryError`, `PasswordNoUserInfoError`), so the code and the message are read to
 * choose the words, and logged at warn for the operators, never answered.
 */
export function identityRefusal(input: { upstream: string; call: string; body: unknown; log?: RefusalLog }): IdentityRefusedError {
  const { message, errorCode } = fieldsOf(input.body);
  const refused = refusedPart(`${errorCode ?? ''} ${message ?? ''}`);
  input.log?.warn(
    {
      upstream: input.upstream,
      call: input.call,
      upstreamStatus: 400,
      ...(errorCode !== undefined && { upstreamErrorCode: errorCode.slice(0, 100) }),
      ...(message !== undefined && { upstreamMessage: message.slice(0, LOGGED_CHARS) }),
      refused,
    },
    `${input.upstream} refused a request (400)`,
  );
  return new IdentityRefusedError(refused);
}

function refusedPart(text: string): RefusedPart {
  if (/password/i.test(text)) return 'password';
  if (/user_?name/i.test(text)) return 'username';
  if (/e-?mail/i.test(text)) return 'email';
  return 'request';
}

function fieldsOf(body: unknown): { message?: string; errorCode?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const { message, errorCode, error_description: description } = body as Record<string, unknown>;
  const text = typeof message === 'string' ? message : typeof description === 'string' ? description : undefined;
  return { ...(text !== undefined && { message: text }), ...(typeof errorCode === 'string' && { errorCode }) };
}
