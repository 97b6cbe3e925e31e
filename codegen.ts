/**
 * Prints the in-process Pothos schema to schema.graphql (committed). `npm run codegen` runs it;
 * test/schema.test.ts fails when the committed file drifts from the code.
 */
import { writeFileSync } from 'node:fs';
import { printSdl } from './src/schema/index.js';

writeFileSync(new URL('./schema.graphql', import.meta.url), printSdl());
console.log('schema.graphql written');
