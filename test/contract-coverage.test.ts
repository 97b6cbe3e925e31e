import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSdl } from '../src/schema/index.js';
import { routes } from '../src/rest/routes.js';
import { consoleTypes } from '../scripts/console-types.js';

/** The documented paths, from the usage page of the original service (a copy in docs/spec). */
function documentedPaths(section: string): string[] {
  const page = readFileSync(new URL('../docs/spec/ums-usage.md', import.meta.url), 'utf8');
  const body = page.split(/^## /m).find((part) => part.startsWith(section))!;
  return [...body.matchAll(/^### (GET|POST|PATCH|DELETE) (\S+)/gm)].map((m) => `${m[1]} ${m[2]!.replace(/\/$/, '')}`);
}

describe('REST route table', () => {
  const served = new Set(routes.map((route) => `${route.method.toUpperCase()} ${route.path.replace(/\/$/, '')}`));

  it.each(['User Management', 'Authentication Management'])('covers every path of the %s section', (section) => {
    const documented = documentedPaths(section);
    expect(documented.length).toBeGreaterThanOrEqual(5);
    const missing = documented.filter((path) => !served.has(path));
    expect(missing).toEqual([]);
  });
});

describe('schema.graphql', () => {
  it('matches the schema built from the code (run `npm run codegen` after changing it)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSdl());
  });

  it("types the console's documents: console/src/graphql-env.d.ts is generated from it (npm run codegen)", () => {
    const committed = readFileSync(new URL('../console/src/graphql-env.d.ts', import.meta.url), 'utf8');
    expect(committed).toBe(consoleTypes(printSdl()));
  });
});
