import { useGraphQlJit } from '@envelop/graphql-jit';
import { BREAK, type DocumentNode, GraphQLError, Kind, visit } from 'graphql';
import { createGraphQLError, createYoga, maskError } from 'graphql-yoga';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { type Context, type CookieJar, createContext, type Deps, headersToBag } from './context.js';
import { renderLocalGraphiQL } from './graphql-graphiql.js';
import { parserCaches } from './graphql-cache.js';
import { introspectionPolicy } from './graphql-introspection.js';
import { useJitShadow } from './graphql-jit-shadow.js';
import { graphqlLimits } from './graphql-limits.js';
import { operationMetrics } from './graphql-metrics.js';
import type { TextPlans } from './graphql-text-plans.js';

import { shownText } from './domain/shown-text.js';
import { DomainError } from './errors.js';
import { schema } from './schema/index.js';

/** What the HTTP layer in front of yoga (Express, or graphql-http.ts) knows of the request. */
export interface GraphQLTransport {
  /** The client address, through TRUST_PROXY. */
  ip?: string;
  cookies?: CookieJar;
}

/** Yoga's server context: the node request, and the transport's facts (none through `yoga.fetch` in tests). */
interface ServerContext {
  req?: IncomingMessage;
  transport?: GraphQLTransport;
  /** The request's context, when graphql-http.ts made it first (a document it tried to answer as text). */
  ctx?: Context;
}

/**
 * The GraphQL server (yoga). Queries are compiled with graphql-jit: a page of 100 users with their
 * identities runs about twice as fast as with graphql-js's interpreter. graphql-jit parses a
 * custom scalar's literal without the request's variables, so `users(filter: {name: $n})` would
 * lose `$n` and list everyone: a document with an object literal runs on graphql-js instead.
 * Limits (graphql-limits.ts) and the introspection policy run before any resolver.
 */
export function createGraphQLServer(deps: Deps, textPlans?: TextPlans) {
  // One context per request, built when the parameters arrive: the introspection policy needs the
  // caller before validation, and the resolvers then reuse it (and the caller it resolved).
  const contexts = new WeakMap<Request, Context>();
  const contextOf = (request: Request, { req, transport, ctx: made }: ServerContext): Context => {
    let ctx = contexts.get(request);
    if (!ctx) {
      ctx =
        made ??
        createContext({ headers: req?.headers ?? headersToBag(request.headers), ip: transport?.ip, cookies: transport?.cookies }, deps);
      contexts.set(request, ctx);
    }
    return ctx;
  };
  return createYoga({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: deps.config.GRAPHIQL,
    renderGraphiQL: renderLocalGraphiQL,
    landingPage: false,
    // Yoga's default CORS reflects any Origin with credentials allowed; REST sends no CORS headers
    // either, so cross-origin browser access is the gateway's to grant (docs/decisions.md).
    cors: false,
    // Bounded by the memory parsed documents take, not only by their number (graphql-cache.ts).
    parserAndValidationCache: { ...parserCaches(), validationCache: true },
    logging: yogaLogger(deps.logger),
    plugins: [
      shownErrors(),
      operationMetrics(deps.metrics),
      ...graphqlLimits(deps.config),
      introspectionPolicy(deps.config, contextOf),
      useGraphQlJit({}, { enableIf: (args) => withoutObjectLiterals(args.document) }),
      // After the jit plugin: the shadow receives its executor and compares it with graphql-js.
      ...(deps.config.GRAPHQL_JIT_SHADOW
        ? [useJitShadow({ schema, enableIf: (args) => withoutObjectLiterals(args.document), logger: deps.logger })]
        : []),
      ...(textPlans ? [textPlans.learn] : []),
    ],
    // Over HTTP the server context carries the node request and the transport (client address,
    // cookies); through yoga.fetch in tests it does not.
    context: (serverContext: ServerContext & { request: Request }) => contextOf(serverContext.request, serverContext),
    maskedErrors: {
      maskError: (error, message, isDev) => {
        const original = (error as { originalError?: unknown }).originalError;
        if (original instanceof DomainError) {
          return createGraphQLError(original.message, { extensions: { code: original.code, http: { status: original.status } } });
        }
        return maskError(error, message, isDev);
      },
    },
  });
}

/**
 * graphql-js words a bad enum value, a variable it cannot coerce or an unknown argument with the
 * caller's text whole, up to the body limit (a state of 100,000 characters came back whole in its
 * "does not exist in "UserState" enum" message): every error message of an answer is cut as a
 * domain error's is (`shownText`).
 */
function shownErrors() {
  return {
    onResultProcess({ result, setResult }: { result: unknown; setResult: (result: never) => void }) {
      if (Array.isArray(result) || typeof result !== 'object' || result === null) return;
      const errors = (result as { errors?: unknown }).errors;
      if (!Array.isArray(errors)) return;
      const shown = errors.map(shownError);
      if (shown.some((error, index) => error !== errors[index])) setResult({ ...result, errors: shown } as never);
    },
  };
}

/** The error with its message cut, or the same error when nothing needed cutting. */
function shownError(error: unknown): unknown {
  if (!(error instanceof GraphQLError)) return error;
  const message = shownText(error.message);
  if (message === error.message) return error;
  const { nodes, source, positions, path, originalError, extensions } = error;
  return new GraphQLError(message, { nodes, source, positions, path, originalError, extensions });
}

type LogMethod = (...args: unknown[]) => void;

/**
 * Yoga logs at error level every error it masks, clients' mistakes included: each anonymous
 * `{ usersCount }` (401), bad token or bad cursor wrote a stack trace to the error log, so anyone
 * could fill it. A DomainError under 500 is the client's: debug. Anything else stays an error,
 * logged as the error that caused it (a GraphQLError does not serialize its originalError).
 */
function yogaLogger(logger: Logger): Record<'debug' | 'info' | 'warn' | 'error', LogMethod> {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error'): LogMethod =>
    (...args) =>
      (logger[level] as LogMethod).apply(logger, args);
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: (...args) => {
      const [error] = args;
      if (!(error instanceof Error)) return at('error')(...args);
      const cause = error instanceof GraphQLError && error.originalError ? error.originalError : error;
      const level = cause instanceof DomainError && cause.status < 500 ? 'debug' : 'error';
      const path = error instanceof GraphQLError ? error.path?.join('.') : undefined;
      logger[level]({ err: cause, ...(path ? { path } : {}) }, cause.message);
    },
  };
}

const jitUnsafe = new WeakMap<DocumentNode, boolean>();

/**
 * Whether graphql-jit may run the document (yoga reuses parsed documents): not when an argument is
 * written as an object literal, and not when it holds several operations (its compiled query is
 * kept per document, so the first operation run would answer for the others).
 */
function withoutObjectLiterals(document: DocumentNode): boolean {
  let found = jitUnsafe.get(document);
  if (found === undefined) {
    found = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION).length > 1;
    if (!found) {
      visit(document, {
        [Kind.OBJECT]() {
          found = true;
          return BREAK;
        },
      });
    }
    jitUnsafe.set(document, found);
  }
  return !found;
}
