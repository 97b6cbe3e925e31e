import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deps } from '../context.js';
import { currentRequest, inRequest, type RequestScope } from '../deadline.js';

/** A request id a client or a gateway sent is kept when it is a plain token; anything else is replaced. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** The access log names the path (never the query: it may carry a reset ticket or a filter on e-mails), up to this long. */
const MAX_PATH = 200;
/** A request whose client went away before the answer was written (nginx's convention). */
const CLIENT_CLOSED = 499;

/**
 * Wraps every request the server receives, the fast path's included: its scope (deadline, request
 * id), the `x-request-id` answer header, and when it ends one access-log line and one observation
 * of `http_request_duration_seconds`. The route is a template (`/users/:id`), set by whoever
 * answered (the fast path, the GraphQL mount) or read from Express's matched route; a path no
 * route matched is `unmatched`, so a client cannot make new series.
 */
export function requestObserver(deps: Deps): (req: IncomingMessage, res: ServerResponse, serve: () => void) => void {
  const { config, metrics } = deps;
  // The line's fields are all the service's own (no header, no query, no body), so it skips the
  // redaction of secret paths: with its wildcards that took about 20 µs a line, 7 times the line.
  const logger = deps.logger.child({}, { redact: [] });
  return (req, res, serve) => {
    const started = performance.now();
    const sent = req.headers['x-request-id'];
    const scope: RequestScope = {
      at: Date.now() + config.REQUEST_TIMEOUT_MS,
      id: typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID(),
    };
    res.setHeader('x-request-id', scope.id!);
    scope.onClose = (listener) => {
      if (res.closed) listener();
      else res.once('close', listener);
    };
    res.on('close', () => {
      const ms = performance.now() - started;
      const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED;
      const route = scope.route ?? expressRoute(req) ?? 'unmatched';
      const method = req.method ?? 'GET';
      metrics.httpRequest(route, method, status, ms / 1000);
      if (!config.ACCESS_LOG) return;
      // Clients' errors are theirs (info); a 5xx is worth a look (warn). The cause of an
      // unexpected error has its own error line, with the same reqId.
      const level = status >= 500 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          reqId: scope.id,
          method,
          route,
          path: pathOf(req.url),
          status,
          ms: Math.round(ms * 100) / 100,
          caller: scope.caller ?? 'anonymous',
        },
        'request',
      );
    });
    inRequest(scope, serve);
  };
}

/** Names the route template of the request being served (for answers not given by an Express route). */
export function markRoute(route: string): void {
  const scope = currentRequest();
  if (scope) scope.route = route;
}

/** The template of the Express route that matched (`/users/:id`), with its router's mount path. */
function expressRoute(req: IncomingMessage): string | undefined {
  const { route, baseUrl } = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };
  return typeof route?.path === 'string' ? (baseUrl ?? '') + route.path : undefined;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const mark = raw.indexOf('?');
  const path = mark === -1 ? raw : raw.slice(0, mark);
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}
