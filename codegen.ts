/**
 * Prints the in-process Pothos schema to schema.graphql (committed), and the console's GraphQL types
 * (console/src/graphql-env.d.ts, committed) from it: gql.tada types every document of the console
 * against that file, so a schema change that breaks the console fails `tsc -p console`.
 * `npm run codegen` runs it; tests fail when either file drifts from the code.
 */
import { writeFileSync } from 'node:fs';
import { consoleTypes } from './scripts/console-types.js';
import { printSdl } from './src/schema/index.js';

const sdl = printSdl();
writeFileSync(new URL('./schema.graphql', import.meta.url), sdl);
writeFileSync(new URL('./console/src/graphql-env.d.ts', import.meta.url), consoleTypes(sdl));
console.log('schema.graphql and console/src/graphql-env.d.ts written');
