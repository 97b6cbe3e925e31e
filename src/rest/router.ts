import { STATUS_CODES } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { cookieJar } from '../cookies.js';
import { requireAdmin, requireAuthenticated } from '../resolvers/access.js';
import { createContext, type Deps } from '../context.js';
import { DomainError, TooManyRequestsError } from '../errors.js';
import type { CrudQuery } from '../crud/query.js';
import { JsonText } from '../clients/ports.js';
import { HtmlPage } from './reset-page.js';
import { routes } from './routes.js';

/** Mounts the route table; every handler builds the same context GraphQL does. */
export function createRestRouter(deps: Deps): Router {
  const router = express.Router();
  for (const route of routes) {
    router[route.method](route.path, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const ctx = createContext({ headers: req.headers, ip: req.ip, cookies: cookieJar(res, deps) }, deps);
        if (route.access === 'admin') await requireAdmin(ctx);
        if (route.access === 'authenticated') await requireAuthenticated(ctx);
        const result = await route.handle(ctx, {
          params: req.params as Record<string, string>,
          query: req.query as CrudQuery,
          body: req.body,
          form: req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded',
          rawQuery: req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '',
        });
        send(res, route.status, result);
      } catch (error) {
        next(error);
      }
    });
  }
  return router;
}

function send(res: Response, status: number, result: unknown): void {
  if (result instanceof HtmlPage) res.status(result.status).type('html').send(result.html);
  else if (result instanceof JsonText) res.status(status).type('json').send(result.text);
  else if (status === 204 || result === undefined) res.status(status).end();
  else res.status(status).json(result);
}

/** `{statusCode, error, message}` for every failure; unknown errors are masked and logged. */
export function errorHandler(deps: Deps) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = statusOf(error);
    if (error instanceof TooManyRequestsError) res.set('Retry-After', String(error.retryAfterSeconds));
    if (status >= 500) deps.logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    const message =
      error instanceof DomainError || (status < 500 && error instanceof Error) ? error.message : 'An internal server error occurred';
    res.status(status).json({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
  };
}

export function notFoundHandler(req: Request, res: Response): void {
  res.status(404).json({ statusCode: 404, error: 'Not Found', message: `Route ${req.method}:${req.path} not found` });
}

function statusOf(error: unknown): number {
  if (error instanceof DomainError) return error.status;
  // body-parser marks its own errors (malformed JSON 400, too large 413, bad charset 415).
  const status = (error as { status?: unknown; expose?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) return status;
  return 500;
}
