import { afterEach, expect } from 'vitest';
import { openApiDocument } from '../../src/rest/openapi.js';
import { takeExchanges } from './exchanges.js';
import { createOpenApiValidator } from './openapi-validator.js';

let validator: ReturnType<typeof createOpenApiValidator> | undefined;

/**
 * Every REST request a test sends through `TestService.call`, and its answer, must match the
 * OpenAPI document the service serves at /documentation/json: a status the document does not list,
 * a body that does not match its schema, or an accepted request it would call invalid fails the test.
 */
afterEach(() => {
  const exchanges = takeExchanges();
  if (exchanges.length === 0) return;
  validator ??= createOpenApiValidator(openApiDocument());
  const problems = exchanges.flatMap((exchange) => validator!.validate(exchange));
  expect(problems, 'REST exchanges that do not match the OpenAPI document (src/rest/openapi.ts)').toEqual([]);
});
