import type { Exchange } from './openapi-validator.js';

/**
 * The REST exchanges made through `TestService.call` in the current test; the setup file
 * test/helpers/openapi-check.ts checks them against the OpenAPI document after each test.
 */
const recorded: Exchange[] = [];

export function recordExchange(exchange: Exchange): void {
  recorded.push(exchange);
}

/** The exchanges since the last call, and forgets them. */
export function takeExchanges(): Exchange[] {
  return recorded.splice(0, recorded.length);
}
