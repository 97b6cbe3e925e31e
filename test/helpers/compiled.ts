import { existsSync } from 'node:fs';

/**
 * The compiled entry point, as production runs it. `npm test` builds it first; a test file run on
 * its own after a change of src/ needs `npm run build` (the tests of dist/ test what was built).
 */
export const DIST_MAIN = 'dist/main.js';

/** Why the tests of the compiled service cannot run (no build), or undefined when they can. */
export function missingBuild(): string | undefined {
  return existsSync(DIST_MAIN) ? undefined : `${DIST_MAIN} is missing: run \`npm run build\` (npm test does)`;
}
