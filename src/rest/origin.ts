import type { Config } from '../config.js';
import type { HeaderBag } from '../context.js';
import { ForbiddenError } from '../errors.js';
import { hasSessionCookie } from '../resolvers/access.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Content types a page on another site can send without a CORS preflight. */
const SIMPLE_TYPES = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\b/i;

/**
 * Cross-site request forgery: a state-changing request that only the `sid` cookie authenticates
 * must come from this service's own origin. A browser names the page's origin in `Origin`; when
 * it is another site's, the request is refused. Without `Origin`, a request a page could have
 * sent without a preflight (a form, a multipart upload, text) needs the custom `X-Requested-With`
 * header, which no form can set; a JSON request cannot come from another origin at all, since the
 * service grants no CORS.
 */
export function assertSameOrigin(request: { method: string; headers: HeaderBag }, config: Config): void {
  const { method, headers } = request;
  // Behind a gateway, cross-origin access is the gateway's to grant (docs/decisions.md).
  if (config.ACCESS_CONTROL === 'gateway') return;
  if (SAFE_METHODS.has(method) || headers.authorization !== undefined || headers['x-api-key'] !== undefined) return;
  if (!hasSessionCookie(headers)) return;
  const origin = first(headers.origin);
  if (origin !== undefined) {
    if (allowedOrigins(first(headers.host), config).has(origin.toLowerCase())) return;
    throw new ForbiddenError('A request authenticated by the sid cookie must come from this site');
  }
  const type = first(headers['content-type']);
  if (type !== undefined && SIMPLE_TYPES.test(type) && headers['x-requested-with'] === undefined) {
    throw new ForbiddenError('A form sent with the sid cookie needs an Origin header from this site, or X-Requested-With');
  }
}

function allowedOrigins(host: string | undefined, config: Config): Set<string> {
  const origins = new Set<string>();
  if (host) origins.add(`http://${host}`.toLowerCase()).add(`https://${host}`.toLowerCase());
  if (config.UMS_BASE_URL) origins.add(new URL(config.UMS_BASE_URL).origin.toLowerCase());
  return origins;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
