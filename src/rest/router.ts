import { STATUS_CODES } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { cookieJar } from '../cookies.js';
import { requireAdmin, requireAuthenticated } from '../resolvers/access.js';
import { requireTimerOrAdmin } from '../resolvers/expiration.js';
import { type Context, createContext, type Deps, type RequestInfo } from '../context.js';
import { createBodyReader } from './body.js';
import { assertSameOrigin } from './origin.js';
import { DomainError, TooManyRequestsError } from '../errors.js';
import type { CrudQuery } from '../crud/query.js';
import { JsonBytes, JsonText } from '../domain/json-text.js';
import { HtmlPage } from './reset-page.js';
import type { RestRequest, Route } from './route.js';
import { routes } from './routes.js';
import { sendDownload } from './download.js';
import { sendJsonBytes } from './json-bytes.js';
import { Download } from '../resolvers/export-users.js';
import { shownId, shownText } from '../domain/input-limits.js';

/**
 * Mounts the route table; every handler builds the same context GraphQL does. The caller is
 * checked before the body is read: a stranger gets 401, not a parser's opinion of the body, and
 * nothing of theirs is parsed or spooled.
 */
export function createRestRouter(deps: Deps): Router {
  const router = express.Router();
  const readBody = createBodyReader(deps);
  for (const route of routes) {
    router[route.method](route.path, async (req: Request, res: Response, next: NextFunction) => {
      // Users' data, a caller's own or an error about them: no browser or shared cache keeps it.
      if (route.access !== 'public') res.set('Cache-Control', 'no-store');
      if (route.headers) res.set(route.headers);
      try {
        // Only where the cookie may be what authenticates: a public route reads no caller.
        if (route.access !== 'public') assertSameOrigin(req, deps.config);
        const ctx = createContext({ headers: req.headers, ip: req.ip, cookies: cookieJar(res, deps) }, deps);
        await authorize(route, ctx);
        const { body, form } = await readBody(route.body ?? {}, req, res);
        const result = await route.handle(ctx, {
          params: req.params as Record<string, string>,
          query: req.query as CrudQuery,
          body,
          form,
          rawQuery: req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '',
          stream: req,
        });
        if (result instanceof Download) return await sendDownload(res, result, deps.logger);
        if (result instanceof JsonBytes) return await sendJsonBytes(res, route.status, result);
        const answer = answerOf(route.status, result);
        res.status(answer.status);
        if (answer.headers) res.set(answer.headers);
        if (answer.body === undefined) res.end();
        else res.type(answer.type).send(answer.body);
      } catch (error) {
        if (route.onBodyError && isBodyParserError(error)) next(route.onBodyError(error as Error));
        else next(error);
      }
    });
  }
  return router;
}

/** Access check, then the route's operation: the fast path's way in (rest/fast-path.ts); its routes take no body. */
export async function runRoute(route: Route, deps: Deps, info: RequestInfo, request: RestRequest): Promise<unknown> {
  const ctx = createContext(info, deps);
  await authorize(route, ctx);
  return route.handle(ctx, request);
}

async function authorize(route: Route, ctx: Context): Promise<void> {
  if (route.access === 'admin') await requireAdmin(ctx);
  if (route.access === 'authenticated') await requireAuthenticated(ctx);
  if (route.access === 'timer') await requireTimerOrAdmin(ctx);
}

/** body-parser's own failures (malformed JSON, a wrong charset), not the size limit. */
function isBodyParserError(error: unknown): boolean {
  return (error as { type?: unknown }).type === 'entity.parse.failed';
}

/** An answer as bytes to write: a status, and a body with its content type unless there is none. */
export interface Answer {
  status: number;
  type: string;
  body?: string;
  headers?: Record<string, string>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function answerOf(status: number, result: unknown): Answer {
  if (result instanceof HtmlPage)
    return { status: result.status, type: 'text/html; charset=utf-8', body: result.html, headers: result.headers };
  if (result instanceof JsonText) return { status, type: JSON_TYPE, body: result.text };
  if (status === 204 || result === undefined) return { status, type: JSON_TYPE };
  return { status, type: JSON_TYPE, body: JSON.stringify(result) };
}

/** `{statusCode, error, message}` for every failure; unknown errors are masked and logged. */
export function errorAnswer(error: unknown, deps: Deps, request: { method: string; path: string }): Answer {
  const status = statusOf(error);
  if (status >= 500) deps.logger.error({ err: error, method: request.method, path: request.path }, 'request failed');
  const message =
    error instanceof DomainError || (status < 500 && error instanceof Error) ? error.message : 'An internal server error occurred';
  // A DomainError's message is cut where it is made; body-parser's (`unsupported charset "…"`) here.
  const shown = shownText(message);
  return {
    status,
    type: JSON_TYPE,
    body: JSON.stringify({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: shown }),
    ...(error instanceof TooManyRequestsError ? { headers: { 'Retry-After': String(error.retryAfterSeconds) } } : {}),
  };
}

export function errorHandler(deps: Deps) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = errorAnswer(error, deps, req);
    res.status(answer.status).set(answer.headers).type(answer.type).send(answer.body);
  };
}

export function notFoundHandler(req: Request, res: Response): void {
  res.status(404).json({ statusCode: 404, error: 'Not Found', message: `Route ${req.method}:${shownId(req.path)} not found` });
}

function statusOf(error: unknown): number {
  if (error instanceof DomainError) return error.status;
  // body-parser marks its own errors (malformed JSON 400, too large 413, bad charset 415).
  const status = (error as { status?: unknown; expose?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) return status;
  return 500;
}
