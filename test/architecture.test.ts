import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layers of docs (README "Layers", /ARCHITECTURE): imports point downwards only.
 *   rest/ schema/ -> resolvers/ -> ports + domain <- adapters (clients/<upstream>/, embedded/)
 * Every import of src/**.ts (type-only and dynamic ones included, read by the TypeScript compiler's
 * pre-processor) is checked against the rules below. What breaks a rule today is listed in
 * KNOWN_DEBTS with its issue: the test fails on any other break, and on a listed debt that is gone.
 */

/** The connected side: HTTP adapters of the upstreams (their folders) and what only they use. */
const CONNECTED = /^src\/clients\/(?:[^/]+\/|http\.ts$|cookie-sessions\.ts$)/;
/** The embedded side: the SQLite and in-process adapters. */
const EMBEDDED = /^src\/embedded\//;
/** Packages of the transports: never in an operation. */
const TRANSPORT_PACKAGES = /^(?:graphql|graphql-[^/]+|@pothos\/[^/]+|@envelop\/[^/]+|@graphql-[^/]+\/[^/]+|express|undici)(?:\/|$)/;

const isAdapter = (file: string) => CONNECTED.test(file) || EMBEDDED.test(file);
const side = (file: string) => (CONNECTED.test(file) ? 'connected' : EMBEDDED.test(file) ? 'embedded' : undefined);
const under = (file: string, folder: string) => file.startsWith(`src/${folder}/`);

interface Rule {
  name: string;
  /** Whether the import of `to` (a src/ path, or a package name) by `from` breaks the rule. */
  breaks: (from: string, to: string) => boolean;
}

export const RULES: Rule[] = [
  {
    name: 'schema/ and rest/ reach the adapters through resolvers/, never directly',
    breaks: (from, to) => (under(from, 'schema') || under(from, 'rest')) && isAdapter(to),
  },
  {
    name: 'resolvers/ import no transport package (graphql, @pothos, express, undici…)',
    breaks: (from, to) => under(from, 'resolvers') && TRANSPORT_PACKAGES.test(to),
  },
  {
    name: 'resolvers/ import no adapter, nor schema/ or rest/',
    breaks: (from, to) => under(from, 'resolvers') && (isAdapter(to) || under(to, 'schema') || under(to, 'rest')),
  },
  {
    name: 'adapters do not cross the embedded/connected line',
    breaks: (from, to) => side(from) !== undefined && side(to) !== undefined && side(from) !== side(to),
  },
  {
    name: 'adapters import no operation or transport (resolvers/, schema/, rest/)',
    breaks: (from, to) => isAdapter(from) && (under(to, 'resolvers') || under(to, 'schema') || under(to, 'rest')),
  },
  {
    name: 'nothing but deps.ts (and the adapters of the same side) imports an adapter',
    breaks: (from, to) => isAdapter(to) && from !== 'src/deps.ts' && !isAdapter(from),
  },
];

/** Imports that break a rule today: `from -> to`, with the issue that removes them and why they exist. */
const KNOWN_DEBTS: Record<string, string> = {
  'src/clients/auth0/authenticator.ts -> src/embedded/sessions.ts':
    '#20: website sessions live in the embedded store even with Auth0; a SessionStore port replaces the class',
  'src/clients/auth0-client/client.ts -> src/embedded/sessions.ts': '#20: the same embedded sessions, for the auth0-client',
  'src/clients/cookie-sessions.ts -> src/embedded/sessions.ts':
    '#20: the sid-cookie claims of the connected providers read embedded sessions',
  'src/startup.ts -> src/embedded/db.ts': '#18: start-up opens the embedded database itself instead of asking deps.ts',
};

/** `from -> to` for every import of src/ (tests excluded); relative imports as src/ paths, packages by name. */
function imports(): { from: string; to: string }[] {
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' })
    .map((file) => `src/${file.split('\\').join('/')}`)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
  return files.flatMap((from) =>
    ts.preProcessFile(readFileSync(from, 'utf8'), true, true).importedFiles.map(({ fileName }) => ({
      from,
      to: fileName.startsWith('.') ? posix.join(posix.dirname(from), fileName).replace(/\.js$/, '.ts') : fileName,
    })),
  );
}

function violations(edges: { from: string; to: string }[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const { from, to } of edges) {
    const broken = RULES.filter((rule) => rule.breaks(from, to)).map((rule) => rule.name);
    if (broken.length > 0) found.set(`${from} -> ${to}`, broken);
  }
  return found;
}

describe('layers: imports point downwards only', () => {
  const edges = imports();
  const found = violations(edges);

  it('reads the imports of src/ (type-only ones included)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'src/clients/auth0/authenticator.ts', to: 'src/embedded/sessions.ts' });
    expect(edges).toContainEqual({ from: 'src/resolvers/groups.ts', to: 'zod' });
  });

  it('has no break of a rule beyond the known debts', () => {
    const fresh = [...found].filter(([edge]) => !(edge in KNOWN_DEBTS)).map(([edge, rules]) => `${edge} (${rules.join('; ')})`);
    expect(fresh).toEqual([]);
  });

  it('lists no debt that is already paid (remove it from KNOWN_DEBTS)', () => {
    expect(Object.keys(KNOWN_DEBTS).filter((edge) => !found.has(edge))).toEqual([]);
  });

  it('tells each kind of break from an allowed import', () => {
    const breaks = (from: string, to: string) => [...violations([{ from, to }]).values()].flat();
    expect(breaks('src/schema/user.ts', 'src/resolvers/users.ts')).toEqual([]);
    expect(breaks('src/rest/routes.ts', 'src/resolvers/users.ts')).toEqual([]);
    expect(breaks('src/deps.ts', 'src/embedded/db.ts')).toEqual([]);
    expect(breaks('src/embedded/identity.ts', 'src/embedded/db.ts')).toEqual([]);
    expect(breaks('src/clients/auth0/identity.ts', 'src/clients/http.ts')).toEqual([]);
    expect(breaks('src/clients/crud/user-store.ts', 'src/ports/user-store.ts')).toEqual([]);
    expect(breaks('src/embedded/user-store.ts', 'src/ports/user-store.ts')).toEqual([]);
    expect(breaks('src/resolvers/users.ts', 'zod')).toEqual([]);
    expect(breaks('src/rest/routes.ts', 'src/clients/crud/user-store.ts')).toHaveLength(2);
    expect(breaks('src/schema/user.ts', 'src/embedded/user-store.ts')).toHaveLength(2);
    expect(breaks('src/resolvers/users.ts', 'graphql')).toHaveLength(1);
    expect(breaks('src/resolvers/users.ts', '@pothos/core')).toHaveLength(1);
    expect(breaks('src/resolvers/users.ts', 'undici')).toHaveLength(1);
    expect(breaks('src/resolvers/users.ts', 'express')).toHaveLength(1);
    expect(breaks('src/resolvers/users.ts', 'src/embedded/user-store.ts')).toHaveLength(2);
    expect(breaks('src/resolvers/users.ts', 'src/schema/user.ts')).toHaveLength(1);
    expect(breaks('src/clients/crud/user-store.ts', 'src/embedded/db.ts')).toEqual(['adapters do not cross the embedded/connected line']);
    expect(breaks('src/embedded/identity.ts', 'src/clients/auth0/api.ts')).toEqual(['adapters do not cross the embedded/connected line']);
    expect(breaks('src/embedded/user-store.ts', 'src/resolvers/users.ts')).toHaveLength(1);
    expect(breaks('src/loaders.ts', 'src/clients/auth0/identity.ts')).toHaveLength(1);
  });
});
