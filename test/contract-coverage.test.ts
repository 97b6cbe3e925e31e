import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSdl } from '../src/schema/index.js';
import { routes } from '../src/rest/routes.js';

/** The documented paths, from the usage page of the original service (a copy in docs/spec). */
function documentedPaths(section: string): string[] {
  const page = readFileSync(new URL('../docs/spec/ums-usage.md', import.meta.url), 'utf8');
  const body = page.split(/^## /m).find((part) => part.startsWith(section))!;
  return [...body.matchAll(/^### (GET|POST|PATCH|DELETE) (\S+)/gm)].map((m) => `${m[1]} ${m[2]!.replace(/\/$/, '')}`);
}

/** Paths of the User Management section that later issues bring (auth, import, activation). */
const LATER = new Set(['GET /userinfo', 'PATCH /users/import', 'GET /jobs/bulk-activation/:id', 'POST /jobs/bulk-activation']);

describe('REST route table', () => {
  it('covers every path of the User Management section', () => {
    const served = new Set(routes.map((route) => `${route.method.toUpperCase()} ${route.path.replace(/\/$/, '')}`));
    const documented = documentedPaths('User Management');
    expect(documented.length).toBeGreaterThanOrEqual(10);
    const missing = documented.filter((path) => !served.has(path) && !LATER.has(path));
    expect(missing).toEqual([]);
    expect(served.has('POST /users/register')).toBe(true);
  });
});

describe('schema.graphql', () => {
  it('matches the schema built from the code (run `npm run codegen` after changing it)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSdl());
  });
});
