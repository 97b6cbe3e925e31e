/**
 * An id as one segment of an upstream's path (`/api/v2/users/:id`, the auth0-client's `/users/:id`),
 * percent-encoded; undefined for an id no segment can carry. encodeURIComponent leaves `.` as it
 * is, and URL parsers (a tenant's edge, a proxy, WHATWG URL) read a segment `.` or `..` as a step
 * in the path: `/api/v2/users/.` became the list of every user, `/api/v2/users/..` `/api/v2/`.
 * Such an id names no identity, so the callers answer "not found" without a request.
 */
export function pathSegment(id: string): string | undefined {
  if (id === '' || id === '.' || id === '..') return undefined;
  return encodeURIComponent(id);
}
