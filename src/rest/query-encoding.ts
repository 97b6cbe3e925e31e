import type { IncomingMessage } from 'node:http';

/** The parameters the CRUD Service decodes under `json-query-params-encoding` (its hooks.js). */
const ENCODED_PARAMS = new Set(['_q', '_rawp']);

/**
 * The CRUD Service's `json-query-params-encoding: base64` header (and its deprecated spelling
 * `json_query_params_encoding`): `_q` and `_rawp` arrive base64-encoded. They are decoded here,
 * once, before any route reads the query, and the header is dropped, so the fast paths, Express,
 * both stores and the CRUD behind a proxied read all see plain JSON. Other encodings are left as
 * they are, as the CRUD leaves them.
 */
export function decodeJsonQueryParams(req: IncomingMessage): void {
  const encoding = req.headers['json-query-params-encoding'] ?? req.headers.json_query_params_encoding;
  if (encoding !== 'base64') return;
  delete req.headers['json-query-params-encoding'];
  delete req.headers.json_query_params_encoding;
  const url = req.url ?? '/';
  const mark = url.indexOf('?');
  if (mark === -1) return;
  const parts = url
    .slice(mark + 1)
    .split('&')
    .map((part) => {
      const [key, value] = [...new URLSearchParams(part)][0] ?? [];
      if (key === undefined || !ENCODED_PARAMS.has(key) || !value) return part;
      return `${key}=${encodeURIComponent(Buffer.from(value, 'base64').toString())}`;
    });
  req.url = `${url.slice(0, mark)}?${parts.join('&')}`;
}
