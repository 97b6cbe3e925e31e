import { namesNoIdentity } from '../domain/input-limits.js';

/**
 * An id as one segment of an upstream's path (`/api/v2/users/:id`, the auth0-client's `/users/:id`),
 * percent-encoded; undefined for an id no segment can carry. encodeURIComponent leaves `.` as it
 * is, and URL parsers (a tenant's edge, a proxy, WHATWG URL) read a segment `.` or `..` as a step
 * in the path: `/api/v2/users/.` became the list of every user, `/api/v2/users/..` `/api/v2/`,
 * and an empty id the CRUD's `/users/`, its list. Such an id names no resource, so the callers
 * answer "not found" without a request.
 */
export function pathSegment(id: string): string | undefined {
  if (id === '' || id === '.' || id === '..' || !wellFormed(id)) return undefined;
  return encodeURIComponent(id);
}

/**
 * An identity id as a path segment (`/api/v2/users/:id`, `/api/v2/user-blocks/:id`, the
 * auth0-client's `/users/:id`); undefined, like `pathSegment`'s, for an id longer than any
 * identity's too (namesNoIdentity): past the upstream's request head it was a 431, a 500.
 */
export function identitySegment(id: string): string | undefined {
  return namesNoIdentity(id) ? undefined : pathSegment(id);
}

/**
 * The longest group name or job id the CRUD stores are asked about, in a `_q` filter: none is
 * longer (a group name is at most 200 characters, a job id is the service's own), and a
 * 100,000-character one filled the CRUD's URL, the too-long 400 "narrow the filter" where the
 * embedded store answered not found. A longer one names nothing: 1,024 characters, as an identity
 * id, whose filter percent-encoded (up to 12 characters a code point) stays within the CRUD's URL.
 */
export const MAX_LOOKUP_KEY_CHARS = 1024;

/** Whether a group name or job id can name a document: not when longer than any, or not well formed. */
export function namesADocument(key: string): boolean {
  return key.length <= MAX_LOOKUP_KEY_CHARS && wellFormed(key);
}

/**
 * Whether a text has no lone surrogate (`"\ud800"` in a JSON body or GraphQL argument):
 * encodeURIComponent throws on one (a 500, or a 503 its upstream's breaker counted), and no id or
 * value stored upstream (UTF-8) can hold one.
 */
export function wellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

// With the `u` flag a pair is one code point: only a lone half is in the category Cs.
const LONE_SURROGATE = /\p{Cs}/u;
