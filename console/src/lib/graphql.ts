import { initGraphQLTada } from 'gql.tada';
import type { introspection } from '../graphql-env.js';

/**
 * Every document of the console is written with this tag: gql.tada types its result and variables
 * from graphql-env.d.ts (generated from schema.graphql by `npm run codegen`).
 */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; JSON: unknown; JSONObject: Record<string, unknown>; Upload: File };
}>();

export type { ResultOf, VariablesOf } from 'gql.tada';
