import type { Route } from './route.js';
import { userDocs } from './user-docs.js';
import type { HeaderBag } from '../context.js';
import { InvalidInputError, NotAcceptableError } from '../errors.js';
import { type ExportFormat, exportUsers } from '../resolvers/export-users.js';

/** What the export can be, in the order preferred when the client likes several equally. */
const OFFERS: readonly { type: string; subtype: string; format: ExportFormat }[] = [
  { type: 'text', subtype: 'csv', format: 'csv' },
  { type: 'application', subtype: 'x-ndjson', format: 'ndjson' },
  { type: 'application', subtype: 'ndjson', format: 'ndjson' },
];

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/**
 * `GET /users/export`: the list filters of `GET /users/` (`identity` is this path's own flag, so
 * it is no field filter here), CSV or NDJSON by `Accept` (CSV without one). Before `/users/:id`.
 */
export const exportRoute: Route = {
  method: 'get',
  path: '/users/export',
  status: 200,
  access: 'admin',
  doc: userDocs.export,
  headers: { 'Cache-Control': 'no-store' },
  handle: (ctx, request) => {
    const format = negotiateFormat(ctx.headers);
    const { identity, ...query } = request.query;
    // Express runs a GET route for HEAD too.
    const headersOnly = request.stream?.method === 'HEAD';
    return exportUsers(ctx, { query, format, identity: flag(identity, 'identity'), headersOnly });
  },
};

/** The offer with the highest quality in `Accept` (RFC 9110 12.5.1: the most specific range that matches an offer sets its quality). */
export function negotiateFormat(headers: HeaderBag): ExportFormat {
  const raw = headers.accept;
  const accept = Array.isArray(raw) ? raw.join(',') : raw;
  if (accept === undefined || accept.trim() === '') return 'csv';
  const ranges = accept.split(',').flatMap(mediaRange);
  let best: { format: ExportFormat; q: number } | undefined;
  for (const offer of OFFERS) {
    const matching = ranges
      .filter((range) => (range.type === '*' || range.type === offer.type) && (range.subtype === '*' || range.subtype === offer.subtype))
      .sort((a, b) => specificity(b) - specificity(a));
    const q = matching[0]?.q ?? 0;
    if (q > 0 && (!best || q > best.q)) best = { format: offer.format, q };
  }
  if (!best) throw new NotAcceptableError('GET /users/export answers text/csv or application/x-ndjson');
  return best.format;
}

function mediaRange(text: string): MediaRange[] {
  const [essence = '', ...parameters] = text.split(';');
  const [type, subtype] = essence.trim().toLowerCase().split('/');
  if (!type || !subtype) return [];
  let q = 1;
  for (const parameter of parameters) {
    const [name, value] = parameter.split('=').map((part) => part.trim());
    if (name?.toLowerCase() === 'q' && value !== undefined) q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : 0;
  }
  return [{ type, subtype, q }];
}

const specificity = (range: MediaRange) => (range.type === '*' ? 0 : range.subtype === '*' ? 1 : 2);

function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new InvalidInputError(`querystring/${name} must be boolean`, [{ path: ['querystring', name], message: 'must be boolean' }]);
}
