import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import proxyaddr from 'proxy-addr';
import type { Deps } from './context.js';
import { cookieJar } from './cookies.js';
import type { GraphQLTransport } from './graphql.js';
import { markRoute } from './observability/requests.js';
import { assertSameOrigin } from './rest/origin.js';

/** What app.ts's `POST /graphql` chain and this path share: yoga's node handler and its endpoint. */
export interface GraphQLHandler {
  graphqlEndpoint: string;
  (req: IncomingMessage, res: ServerResponse, context: { transport: GraphQLTransport }): Promise<void> | void;
}

/** Requests this path read and then left to Express with the error Express must answer. */
const handedOver = new WeakMap<IncomingMessage, unknown>();

/**
 * `POST /graphql` with a JSON body, served on node:http before Express (as rest/fast-path.ts does
 * for two REST routes): Express's routing, its prototype swap and its middlewares took about a
 * quarter of the CPU of a GraphQL page of 100 users (docs/decisions.md). The same steps as Express's chain in
 * app.ts, in the same order: the cross-site rule, the JSON body with the same parser and limit,
 * then yoga with the same client address (trust proxy) and cookies. A refusal is handed to Express
 * (`takeHandedOverError`), whose error handler answers it as it always did. Everything else (other
 * spellings of the path, GET, GraphiQL, multipart uploads, other content types, no body) goes on
 * to `fallback` untouched.
 */
export function withGraphQLFastPath(options: {
  deps: Deps;
  yoga: GraphQLHandler;
  fallback: RequestListener;
  trustProxy: (address: string, hop: number) => boolean;
}): RequestListener {
  const { deps, yoga, fallback, trustProxy } = options;
  const endpoint = yoga.graphqlEndpoint;
  const readJson = express.json({ limit: deps.config.BODY_LIMIT_BYTES, strict: false, type: 'application/json' }) as unknown as (
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ) => void;
  const handOver = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    handedOver.set(req, error);
    fallback(req, res);
  };
  return (req, res) => {
    if (!isJsonPost(req, endpoint)) return fallback(req, res);
    markRoute(endpoint);
    // As app.ts's chain: no cache keeps a GraphQL answer (users' data, a login's cookie).
    res.setHeader('Cache-Control', 'no-store');
    try {
      assertSameOrigin({ method: 'POST', headers: req.headers }, deps.config);
    } catch (error) {
      return handOver(req, res, error);
    }
    readJson(req, res, (error) => {
      if (error) return handOver(req, res, error);
      const transport = { ip: proxyaddr(req, trustProxy), cookies: cookieJar(res, deps) };
      void yoga(req, res, { transport });
    });
  };
}

/**
 * For the first middleware of Express's `/graphql` chain: the refusal of a request this path read
 * (undefined for any other request), so that Express's error handler answers it.
 */
export function takeHandedOverError(req: IncomingMessage): unknown {
  const error = handedOver.get(req);
  handedOver.delete(req);
  return error;
}

/**
 * POST to exactly the endpoint (a query string allowed), with a body (a length or chunks, as
 * type-is counts one) typed `application/json` (any parameters). Anything else is Express's.
 */
function isJsonPost(req: IncomingMessage, endpoint: string): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  if (!url.startsWith(endpoint) || (url.length > endpoint.length && url[endpoint.length] !== '?')) return false;
  const { headers } = req;
  if (headers['transfer-encoding'] === undefined && Number.isNaN(Number.parseInt(headers['content-length'] ?? '', 10))) return false;
  const type = headers['content-type'];
  if (type === undefined) return false;
  const end = type.indexOf(';');
  return (end === -1 ? type : type.slice(0, end)).trim().toLowerCase() === 'application/json';
}
