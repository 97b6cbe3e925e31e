import { type DestinationStream, type Logger, pino } from 'pino';
import { currentRequest } from '../deadline.js';

/**
 * Where a secret may sit in a logged object: passwords, tokens, tickets, API keys, cookies and
 * authorization headers, at the top or one level down (`{ input: { password } }`, `{ headers:
 * { cookie } }`), and in a logged request's headers. pino replaces each with "[Redacted]".
 */
const SECRET_KEYS = [
  'password',
  'newPassword',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'ticket',
  'sessionCookie',
  'secret',
  'clientSecret',
  'client_secret',
  'authorization',
  'cookie',
  '"set-cookie"',
  '"x-api-key"',
];
export const REDACTED_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => (key.startsWith('"') ? `*[${key}]` : `*.${key}`)),
  ...['authorization', 'cookie', '"x-api-key"'].map((key) => `req.headers${key.startsWith('"') ? `[${key}]` : `.${key}`}`),
];

/** A line's request id (`reqId`) when it is written while a request is served, whatever layer writes it. */
function requestIdOf(): object {
  const id = currentRequest()?.id;
  // A fresh object each time: pino merges the line's fields into it.
  return id === undefined ? {} : { reqId: id };
}

/**
 * The service's logger: JSON lines at LOG_LEVEL, secrets redacted, each line of a request with its
 * id. On standard output without waiting for each write: under load the lines of many requests
 * go out in one write (one write and one wake-up of the reader per line was most of the access
 * log's cost); when idle a line is written at once; pino flushes what is left when the process exits.
 */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino({ level: options.level, redact: REDACTED_PATHS, mixin: requestIdOf }, destination);
}
