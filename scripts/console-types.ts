import { minifyIntrospection, outputIntrospectionFile } from '@gql.tada/internal';
import { buildSchema, introspectionFromSchema } from 'graphql';

/**
 * The console's gql.tada introspection types (console/src/graphql-env.d.ts), from the SDL of
 * schema.graphql: the console's documents are typed against exactly what the service serves.
 */
export function consoleTypes(sdl: string): string {
  const introspection = minifyIntrospection(introspectionFromSchema(buildSchema(sdl)));
  return outputIntrospectionFile(introspection, { fileType: 'graphql-env.d.ts', shouldPreprocess: true });
}
