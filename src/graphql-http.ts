import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import proxyaddr from 'proxy-addr';
import { type Context, createContext, type Deps } from './context.js';
import { cookieJar } from './cookies.js';
import type { GraphQLTransport } from './graphql.js';
import { createTextAnswers, type TextAnswer } from './graphql-text-answer.js';
import type { TextPlan, TextPlans } from './graphql-text-plans.js';
import { markRoute } from './observability/requests.js';
import { assertSameOrigin } from './rest/origin.js';

/** What app.ts's `POST /graphql` chain and this path share: yoga's node handler and its endpoint. */
export interface GraphQLHandler {
  graphqlEndpoint: string;
  (req: IncomingMessage, res: ServerResponse, context: { transport: GraphQLTransport; ctx?: Context }): Promise<void> | void;
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
  /** Documents answered as text (graphql-text-plans.ts); yoga answers all without. */
  textPlans?: TextPlans;
}): RequestListener {
  const { deps, yoga, fallback, trustProxy, textPlans } = options;
  const answers = createTextAnswers();
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
      const plan = textPlans?.planFor((req as { body?: unknown }).body);
      const type = plan && textAnswerType(req.headers.accept);
      if (!plan || !type) return void yoga(req, res, { transport });
      // Yoga answers with the same context (the caller is resolved once) when the text cannot.
      const ctx = createContext({ headers: req.headers, ip: transport.ip, cookies: transport.cookies }, deps);
      const toYoga = () => void yoga(req, res, { transport, ctx });
      answers
        .answer(plan, ctx)
        .then((answer) => (answer === undefined ? toYoga() : sendTextAnswer(res, answer, type, plan, ctx)), toYoga)
        .catch((error: unknown) => {
          // Only the answer's own writing can get here: nothing is left to answer with.
          deps.logger.error({ err: error }, 'a GraphQL text answer could not be written');
          res.destroy();
        });
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

/**
 * The type yoga gives a result without errors, for the Accept headers answered as text (none, any
 * type, or one of the two JSON types); undefined for any other (yoga negotiates it).
 */
function textAnswerType(accept: string | undefined): string | undefined {
  if (accept === undefined || accept === '*/*' || accept === 'application/json') return 'application/json; charset=utf-8';
  return accept === 'application/graphql-response+json' ? 'application/graphql-response+json; charset=utf-8' : undefined;
}

/** The planned document's answer, as yoga writes a result without errors, and counted as yoga's plugins count it. */
function sendTextAnswer(res: ServerResponse, { body, identityCalls }: TextAnswer, type: string, plan: TextPlan, ctx: Context): void {
  const { metrics } = ctx.deps;
  metrics.graphqlOperation(plan.metricName, 'success');
  if (identityCalls > 0) metrics.identityCallsPerOperation(identityCalls);
  res.statusCode = 200;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}
