import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ErrorBody } from './openapi-schemas.js';
import type { BodyDoc, ResponseDoc } from './route-doc.js';
import type { Route } from './route.js';
import { routes } from './routes.js';

type Json = Record<string, unknown>;

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  description: string;
};

/** The failures routes share, by what they have: an input, an access check, a body. */
const SHARED_ERRORS = {
  400: 'Invalid input: the message names each field that is wrong.',
  401: 'No credentials, or credentials that are not valid (an unknown API key, an expired token, a session that ended).',
  403: 'The caller may not do this (not an administrator), or a request authenticated by the `sid` cookie came from another site.',
  413: 'The body is larger than BODY_LIMIT_BYTES (BULK_BODY_LIMIT_BYTES for the bulk jobs).',
  415: 'The body is not JSON.',
  500: 'An upstream failed, or an unexpected error (logged with the request).',
  503: 'An upstream cannot be reached (its circuit is open, or the request ran out of time): try again later.',
} as const;

const SECURITY: Record<Route['access'], Json[]> = {
  public: [],
  authenticated: [{ bearer: [] }, { sid: [] }],
  admin: [{ apiKey: [] }, { bearer: [] }, { sid: [] }],
  timer: [{ timerSecret: [] }, { apiKey: [] }, { bearer: [] }],
};

/**
 * The OpenAPI 3.1 document of the REST table: one operation per route, its schemas converted from
 * zod (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as it is). Schemas named with
 * `.meta({ id })` become components. Built once: the table does not change at run time.
 */
export function buildOpenApi(table: readonly Route[] = routes): Json {
  const components: Record<string, Json> = {};
  const toSchema = (schema: z.ZodType, io: 'input' | 'output') => jsonSchema(schema, io, components);
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of table) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const operations = (paths[path] ??= {});
    if (operations[route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is in the table twice`);
    operations[route.method] = operation(route, toSchema);
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'User Manager Service',
      version: PACKAGE.version,
      description: `${PACKAGE.description}. The same operations are served as GraphQL at \`/graphql\` (GraphiQL in a browser).`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'Authentication', description: 'Log in, refresh, log out, and passwords.' },
      { name: 'Users', description: 'Profiles in the `users` collection and their identities.' },
      { name: 'Jobs', description: 'Bulk work that runs in the background: start a job, then poll it.' },
      { name: 'Internal', description: 'Called by the platform, not by clients.' },
    ],
    paths,
    components: { schemas: components, securitySchemes: SECURITY_SCHEMES },
  };
}

const SECURITY_SCHEMES = {
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'One of API_KEYS: an administrator.' },
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The `accessToken` of `POST /oauth/token`.' },
  sid: {
    type: 'apiKey',
    in: 'cookie',
    name: 'sid',
    description: 'The session cookie of a website client (`client-type` header at login).',
  },
  timerSecret: { type: 'apiKey', in: 'header', name: 'x-ums-timer-secret', description: 'The secret the service gives the Timer Service.' },
};

function operation(route: Route, toSchema: (schema: z.ZodType, io: 'input' | 'output') => Json): Json {
  const { doc } = route;
  if (!doc.responses[route.status]) throw new Error(`${route.method.toUpperCase()} ${route.path}: no doc of its ${route.status} answer`);
  const pathParams = [...route.path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
  const parameters = [
    ...pathParams.map((name) => ({ name, in: 'path', required: true, description: doc.params?.[name], schema: { type: 'string' } })),
    ...queryParameters(doc.query, toSchema),
    ...Object.entries(doc.headers ?? {}).map(([name, description]) => ({ name, in: 'header', description, schema: { type: 'string' } })),
  ];
  const errors = { ...sharedErrors(route), ...doc.errors };
  const responses: Record<string, Json> = {};
  for (const [status, answer] of Object.entries(doc.responses)) responses[status] = response(answer, toSchema);
  for (const [status, error] of Object.entries(errors)) {
    if (error === null || responses[status]) continue;
    responses[status] = response(typeof error === 'string' ? { description: error, json: ErrorBody } : error, toSchema);
  }
  return {
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description && { description: doc.description }),
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(\w)?/g, (_, next: string | undefined) => next?.toUpperCase() ?? '')}`,
    ...(parameters.length > 0 && { parameters }),
    ...(doc.body && { requestBody: requestBody(doc.body, toSchema) }),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))),
    security: SECURITY[route.access],
  };
}

function sharedErrors(route: Route): Record<number, string | null> {
  const { doc } = route;
  const shared: number[] = [500, 503];
  // A path parameter that is no text once decoded (`%E0`) is a 400 too.
  if (doc.query !== undefined || doc.body !== undefined || doc.params !== undefined) shared.push(400);
  if (route.access !== 'public') shared.push(401);
  if (route.access === 'admin' || route.access === 'authenticated') shared.push(403);
  if (doc.body?.json || doc.body?.form) shared.push(413, 415);
  return Object.fromEntries(shared.map((status) => [status, SHARED_ERRORS[status as keyof typeof SHARED_ERRORS]]));
}

function queryParameters(query: z.ZodObject | undefined, toSchema: (schema: z.ZodType, io: 'input') => Json): Json[] {
  if (!query) return [];
  const object = toSchema(query, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, { description, ...schema }]) => ({
    name,
    in: 'query',
    required: object.required?.includes(name) ?? false,
    ...(description !== undefined && { description }),
    schema,
  }));
}

function requestBody(body: BodyDoc, toSchema: (schema: z.ZodType, io: 'input') => Json): Json {
  const content: Record<string, Json> = {};
  if (body.json) content['application/json'] = { schema: toSchema(body.json, 'input') };
  if (body.form) content['application/x-www-form-urlencoded'] = { schema: toSchema(body.form, 'input') };
  if (body.multipart) content['multipart/form-data'] = { schema: toSchema(body.multipart, 'input') };
  return { required: !body.optional, ...(body.description && { description: body.description }), content };
}

function response(answer: ResponseDoc, toSchema: (schema: z.ZodType, io: 'output') => Json): Json {
  const content: Record<string, Json> = {};
  if (answer.json) content['application/json'] = { schema: toSchema(answer.json, 'output') };
  if (answer.html) content['text/html'] = { schema: { type: 'string' } };
  for (const type of answer.files ?? []) content[type] = { schema: { type: 'string' } };
  const headers = Object.entries(answer.headers ?? {}).map(([name, description]) => [name, { description, schema: { type: 'string' } }]);
  return {
    description: answer.description,
    ...(headers.length > 0 && { headers: Object.fromEntries(headers) }),
    ...(Object.keys(content).length > 0 && { content }),
  };
}

/**
 * One zod schema as JSON Schema: the named schemas it holds (zod puts them in `$defs`) move to the
 * document's components, and references to them follow. The same name twice must be one schema.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Record<string, Json>): Json {
  const {
    $schema: _dialect,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json & { $defs?: Record<string, Json> };
  for (const [name, definition] of Object.entries($defs ?? {})) {
    const moved = relink(definition) as Json;
    if (components[name] && JSON.stringify(components[name]) !== JSON.stringify(moved)) throw new Error(`two schemas are named ${name}`);
    components[name] = moved;
  }
  return relink(rest) as Json;
}

function relink(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relink);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string' ? inner.replace('#/$defs/', '#/components/schemas/') : relink(inner),
    ]),
  );
}

let built: Json | undefined;

/** The document of the service's table, built on first use. */
export function openApiDocument(): Json {
  return (built ??= buildOpenApi());
}
