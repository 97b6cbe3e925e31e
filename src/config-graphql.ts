import { z } from 'zod';
import { bool } from './config-values.js';

/** GraphQL (docs/configuration.md): the limits of one request, who may introspect, GraphiQL. */
export const GRAPHQL_VARIABLES = {
  GRAPHQL_INTROSPECTION: z.enum(['authenticated', 'always', 'never']).default('authenticated'),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).default(2000),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).default(10),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).default(15),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(100).default(50_000),
  GRAPHQL_MAX_ROOT_MUTATIONS: z.coerce.number().int().min(1).default(10),
  GRAPHQL_MAX_VARIABLE_DEPTH: z.coerce.number().int().min(1).default(32),
  GRAPHQL_MAX_VARIABLE_NODES: z.coerce.number().int().min(1).default(200_000),
  GRAPHIQL: bool(true),
  /** A test switch: run each document through graphql-js as well and refuse answers that differ (graphql-jit-shadow.ts). */
  GRAPHQL_JIT_SHADOW: bool(false),
};
