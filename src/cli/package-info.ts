import { readFileSync } from 'node:fs';

/**
 * The service's name and version, from package.json: one level above this file both in src/cli/
 * (under tsx) and in dist/cli/ (compiled), and shipped in the container image next to dist/.
 */
export const SERVICE: { name: string; version: string } = (() => {
  const { name, version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    name: string;
    version: string;
  };
  return { name, version };
})();
