import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import proxyaddr from 'proxy-addr';
import type { Deps } from '../context.js';
import type { CrudQuery } from '../crud/query.js';
import { type Answer, answerOf, errorAnswer, runRoute } from './router.js';
import type { Route } from './route.js';
import { routes } from './routes.js';
import { markRoute } from '../observability/requests.js';

/**
 * The routes marked `fastPath` (GET /users/ and /users/count), answered on node:http before the
 * request reaches Express. Express costs about 100 µs of CPU per request on its own (it swaps the
 * prototypes of Node's request and response), more than the CRUD Service spends on a count, so a
 * proxied read through Express could not keep up with its upstream. Same access checks, operation
 * and answers as the Express route; no ETag. Everything else, including another spelling of these
 * paths (upper case) and HEAD, goes on to `fallback`.
 */
export function withFastPath(
  deps: Deps,
  fallback: RequestListener,
  trustProxy: (address: string, hop: number) => boolean,
): RequestListener {
  const byPath = new Map<string, Route>();
  for (const route of routes.filter((candidate) => candidate.fastPath)) {
    const path = route.path.replace(/\/$/, '');
    byPath.set(path, route).set(`${path}/`, route);
  }
  return (req, res) => {
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const path = mark === -1 ? url : url.slice(0, mark);
    const route = req.method === 'GET' ? byPath.get(path) : undefined;
    if (!route) return fallback(req, res);
    const rawQuery = mark === -1 ? '' : url.slice(mark + 1);
    markRoute(route.path);
    void serve(route, req, res, path, rawQuery);
  };

  async function serve(route: Route, req: IncomingMessage, res: ServerResponse, path: string, rawQuery: string): Promise<void> {
    let answer: Answer;
    try {
      const info = { headers: req.headers, ip: proxyaddr(req, trustProxy) };
      // The query object only if a handler asks for it: the list and count read the raw query.
      const request = {
        params: {},
        get query() {
          return parseQuery(rawQuery) as CrudQuery;
        },
        body: undefined,
        form: false,
        rawQuery,
      };
      answer = answerOf(route.status, await runRoute(route, deps, info, request));
    } catch (error) {
      answer = errorAnswer(error, deps, { method: 'GET', path });
    }
    // As the Express routes (router.ts): no cache keeps users' data.
    const headers: Record<string, string | number> = { 'Cache-Control': 'no-store', ...answer.headers };
    if (answer.body !== undefined) {
      headers['content-type'] = answer.type;
      headers['content-length'] = Buffer.byteLength(answer.body);
    }
    res.writeHead(answer.status, headers).end(answer.body);
  }
}
