import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/** One REST request and its answer, as a test sent and received it. */
export interface Exchange {
  method: string;
  /** Path and query string. */
  url: string;
  /** The JSON body sent (an object, or the raw text of a body that is not JSON); undefined: none. */
  requestBody?: unknown;
  status: number;
  /** The Content-Type of the answer. */
  responseType: string | null;
  /** The answer's body: parsed JSON, or undefined when empty. */
  responseBody?: unknown;
}

type Json = Record<string, any>;
interface Operation {
  template: string;
  pointer: string;
  operation: Json;
}

// ajv-formats is CommonJS with a default export that ESM sees under `default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

/**
 * Checks exchanges against an OpenAPI 3.1 document: the answer's status must be documented for the
 * operation, and its body must match the schema of its content type; a request the service accepted
 * (2xx) must match the documented parameters and body (the document may not be stricter than the
 * service). Paths the document does not describe (GraphQL, probes) are not checked.
 */
export function createOpenApiValidator(document: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  ajv.addSchema(document, 'openapi.json');
  const compiled = new Map<string, ValidateFunction>();
  const schemaAt = (pointer: string) => {
    let validate = compiled.get(pointer);
    if (!validate) compiled.set(pointer, (validate = ajv.compile({ $ref: `openapi.json#${pointer}` })));
    return validate;
  };
  const matchers = Object.keys(document.paths as Json)
    .map((template) => ({
      template,
      params: (template.match(/\{/g) ?? []).length,
      pattern: new RegExp(`^${template.replace(/\/$/, '').replace(/\{\w+\}/g, '[^/]+')}/?$`),
    }))
    .sort((a, b) => a.params - b.params);

  function find(method: string, path: string): Operation | undefined {
    const match = matchers.find((candidate) => candidate.pattern.test(path));
    const operation = match && (document.paths[match.template] as Json)[method.toLowerCase()];
    return operation && { template: match.template, pointer: `/paths/${escape(match.template)}/${method.toLowerCase()}`, operation };
  }

  function check(pointer: string, value: unknown, what: string): string[] {
    const validate = schemaAt(pointer);
    if (validate(value)) return [];
    return [`${what} does not match the document: ${ajv.errorsText(validate.errors, { dataVar: what })}`];
  }

  return {
    find,
    /** What is wrong with the exchange; empty when it matches the document. */
    validate(exchange: Exchange): string[] {
      const url = new URL(exchange.url, 'http://service');
      const found = find(exchange.method, url.pathname);
      if (!found) return [];
      const name = `${exchange.method.toUpperCase()} ${found.template} (${exchange.status})`;
      const problems = [...checkResponse(found, exchange), ...(exchange.status < 300 ? checkRequest(found, exchange, url) : [])];
      return problems.map((problem) => `${name}: ${problem}`);
    },
  };

  function checkResponse({ operation, pointer }: Operation, exchange: Exchange): string[] {
    const response = operation.responses[String(exchange.status)] as Json | undefined;
    if (!response) return [`status ${exchange.status} is not documented (body: ${JSON.stringify(exchange.responseBody)?.slice(0, 200)})`];
    const content = response.content as Json | undefined;
    // A documented body may still be left out (a website client's login answers only a cookie).
    if (exchange.responseBody === undefined) return [];
    const type = exchange.responseType?.split(';')[0]?.trim() ?? '';
    if (!content?.[type]) return [`answered ${type || 'a body'}, which the document does not describe for this status`];
    if (type !== 'application/json') return [];
    return check(`${pointer}/responses/${exchange.status}/content/${escape(type)}/schema`, exchange.responseBody, 'response');
  }

  function checkRequest({ operation, pointer }: Operation, exchange: Exchange, url: URL): string[] {
    const problems: string[] = [];
    const parameters = (operation.parameters ?? []) as Json[];
    parameters.forEach((parameter, index) => {
      if (parameter.in !== 'query') return;
      const values = url.searchParams.getAll(parameter.name);
      if (values.length === 0) {
        if (parameter.required) problems.push(`query parameter ${parameter.name} is required`);
        return;
      }
      problems.push(...check(`${pointer}/parameters/${index}/schema`, values.length === 1 ? values[0] : values, parameter.name));
    });
    if (exchange.requestBody === undefined) return problems;
    const body = operation.requestBody as Json | undefined;
    if (!body?.content?.['application/json']) return [...problems, 'sent a JSON body the document does not describe'];
    return [...problems, ...check(`${pointer}/requestBody/content/application~1json/schema`, parsed(exchange.requestBody), 'request body')];
  }
}

/** A JSON pointer segment, as a URI fragment. */
function escape(segment: string): string {
  return encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function parsed(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
