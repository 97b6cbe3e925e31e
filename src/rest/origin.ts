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

/**
 * The same rule for a GraphQL operation sent over GET (a query, or the `jobProgress` stream an
 * EventSource opens): it runs with the cookie's rights, and a stream holds one of the user's places.
 * `Origin` is judged when the browser sends it (fetch, EventSource); without it, `Sec-Fetch-Site`,
 * since a page on a sibling subdomain gets the Lax cookie sent with its GETs. A request for a page
 * (`Accept: text/html`: GraphiQL, which yoga renders instead of running anything) stays open, so
 * a link from elsewhere still opens it. With GRAPHIQL=false no page is rendered: a navigation's
 * `Accept: text/html, …, *\/*` runs the operation, and is judged like any other.
 */
export function assertSameOriginOperation(headers: HeaderBag, config: Config): void {
  if (config.ACCESS_CONTROL === 'gateway' || headers.authorization !== undefined || headers['x-api-key'] !== undefined) return;
  // Yoga renders GraphiQL, and runs nothing, for a GET that accepts text/html: only while it is on.
  if (!hasSessionCookie(headers) || (config.GRAPHIQL && first(headers.accept)?.includes('text/html'))) return;
  const origin = first(headers.origin);
  const site = first(headers['sec-fetch-site']);
  const foreign =
    origin !== undefined
      ? !allowedOrigins(first(headers.host), config).has(origin.toLowerCase())
      : site === 'cross-site' || site === 'same-site';
  if (foreign) throw new ForbiddenError('A GraphQL operation authenticated by the sid cookie must come from this site');
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
