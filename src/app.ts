import { createServer, type Server } from 'node:http';
import express, { type Express, type Request, type Response, type Router } from 'express';
import { graphqlUploadExpress } from 'graphql-upload-ts';
import type { Deps } from './context.js';
import { createGraphQLServer } from './graphql.js';
import { createTextPlans } from './graphql-text-plans.js';
import { type GraphQLHandler, takeHandedOverError, withGraphQLFastPath } from './graphql-http.js';
import { cookieJar } from './cookies.js';
import { withFastPath } from './rest/fast-path.js';
import { decodeJsonQueryParams } from './rest/query-encoding.js';
import { createRestRouter, errorHandler, notFoundHandler } from './rest/router.js';
import { documentationRouter } from './rest/documentation.js';
import { graphqlGate } from './rest/graphql-gate.js';
import { consoleRouter } from './rest/console.js';
import { JSON_TYPES } from './rest/body.js';
import { assertSameOriginOperation } from './rest/origin.js';
import { withDeadline } from './deadline.js';
import { markRoute, requestObserver } from './observability/requests.js';
import { SERVICE } from './cli/package-info.js';

/**
 * The HTTP server (not listening yet): the fast paths read first (two REST reads, then GraphQL
 * over JSON POST), then the Express app.
 */
export function buildServer(deps: Deps): Server {
  const textPlans = createTextPlans();
  const yoga = createGraphQLServer(deps, textPlans);
  const app = buildApp(deps, yoga);
  const trustProxy = app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  const graphql = withGraphQLFastPath({ deps, yoga: yoga as unknown as GraphQLHandler, fallback: app, trustProxy, textPlans });
  const handle = withFastPath(deps, graphql, trustProxy);
  // Each request's scope starts when it arrives (deadline.ts): its deadline and id reach the
  // upstream calls made for it; its access-log line and duration are written when it ends.
  const observe = requestObserver(deps);
  return createServer((req, res) =>
    observe(req, res, () => {
      decodeJsonQueryParams(req);
      handle(req, res);
    }),
  );
}

/** The whole HTTP surface, with no side effects (no listen), so tests can build it with any adapters. */
export function buildApp(deps: Deps, yoga = createGraphQLServer(deps)): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', deps.config.TRUST_PROXY);
  // The request's deadline, unless buildServer set it already (an app mounted on its own).
  app.use((_req, _res, next) => withDeadline(deps.config.REQUEST_TIMEOUT_MS, next));

  // Mia-Platform's probe routes and their shape `{status, name, version}`: liveness, readiness and
  // check-up (the backends answer).
  app.get('/-/healthz', (_req, res) => {
    res.json({ status: 'OK', name: SERVICE.name, version: SERVICE.version });
  });
  const ready = async (_req: Request, res: Response) => {
    const checks = await deps.readiness();
    const ok = checks.every((check) => check.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'OK' : 'KO', name: SERVICE.name, version: SERVICE.version, checks });
  };
  app.get('/-/ready', ready);
  app.get('/-/check-up', ready);

  // Prometheus' scrape, unauthenticated on the service port as Mia-Platform services expose it (docs/security.md).
  if (deps.config.METRICS_ENABLED) {
    app.get('/-/metrics', async (_req, res) => {
      const { contentType, text } = await deps.metrics.scrape();
      res.type(contentType).send(text);
    });
  }

  app.use(yoga.graphqlEndpoint, graphqlRouter(deps, yoga as unknown as GraphQLHandler));

  app.use(documentationRouter());
  // The admin console (console/, built by Vite into dist/console): static files, no operation.
  app.use(consoleRouter(deps.config.CONSOLE_ASSETS_DIR));
  app.use(createRestRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps));
  return app;
}

/**
 * GraphQL on its path and nowhere else: yoga runs any URL that ends in its endpoint, so a chain
 * mounted with `app.use` would also run `/graphql/x/graphql`, which the method guards below
 * (`get`, `post`) do not match. Each step is a route of `/` in a router mounted at the endpoint;
 * any longer path goes on to the 404.
 */
function graphqlRouter(deps: Deps, handleGraphQL: GraphQLHandler): Router {
  const graphql = express.Router();
  graphql.all('/', (req, res, next) => {
    markRoute(handleGraphQL.graphqlEndpoint);
    // Answers hold users' data (and a login's cookie): no browser or shared cache keeps one, for
    // the back button or the next user of the machine to find after a logout.
    res.set('Cache-Control', 'no-store');
    // GraphiQL (a GET) runs with the sid cookie: framed by a page of a sibling site (whose frames
    // get the Lax cookie), a click on its Run button could be stolen for a document that page wrote.
    if (req.method === 'GET') res.set({ 'Content-Security-Policy': "frame-ancestors 'none'", 'X-Frame-Options': 'DENY' });
    // A request graphql-http.ts read and refused: answered by errorHandler, as if refused here.
    next(takeHandedOverError(req));
  });
  graphql.get('/', (req, _res, next) => {
    try {
      assertSameOriginOperation(req.headers, deps.config);
      next();
    } catch (error) {
      next(error);
    }
  });
  // GraphQL over POST: JSON (any caller: login is a mutation), or multipart uploads (the `Upload`
  // scalar) from administrators only, checked before a byte of the file is spooled to disk.
  graphql.post('/', graphqlGate(deps));
  // Bodies are read for POST only: yoga answers any other method 405, and an upload sent with
  // PUT would otherwise be read before that, past the gate above.
  graphql.post('/', express.json({ limit: deps.config.BODY_LIMIT_BYTES, strict: false, type: JSON_TYPES }));
  graphql.post('/', graphqlUploadExpress({ maxFileSize: deps.config.USER_IMPORT_MAX_FILE_BYTES, maxFiles: 1 }));
  // A typed yoga handler matches none of Express 5's overloads (tsc TS2769); the call itself is yoga's documented one.
  graphql.all('/', (req: Request, res: Response) => handleGraphQL(req, res, { transport: { ip: req.ip, cookies: cookieJar(res, deps) } }));
  return graphql;
}
