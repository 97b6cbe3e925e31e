import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layers of the README ("Layout" and "Layers"): imports point downwards only.
 *   rest/ schema/ -> resolvers/ -> infra/ -> ports/ + domain/ <- adapters (clients/<upstream>/, embedded/)
 * (infra/: what operations use that is not an operation: the job worker, throttles, caches.)
 * Every import of src/**.ts (type-only and dynamic ones included, read by the TypeScript compiler's
 * pre-processor) is checked against the rules below. What breaks a rule today is listed in
 * KNOWN_DEBTS with its issue: the test fails on any other break, and on a listed debt that is gone.
 * Two more checks: no import cycle, and transports that reach ports only through operations.
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
/** What the ports and the domain rules may build on: each other, the CRUD semantics and the error classes. */
const isFoundation = (file: string) => ['ports', 'domain', 'crud'].some((folder) => under(file, folder)) || file === 'src/errors.ts';

interface Rule {
  name: string;
  /** Whether the import of `to` (a src/ path, or a package name) by `from` breaks the rule. */
  breaks: (from: string, to: string) => boolean;
}

export const RULES: Rule[] = [
  {
    name: 'ports/ and domain/ import only ports/, domain/, crud/ and errors.ts (no adapter, operation or transport)',
    breaks: (from, to) =>
      (under(from, 'ports') || under(from, 'domain')) && (to.startsWith('src/') ? !isFoundation(to) : TRANSPORT_PACKAGES.test(to)),
  },
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
    name: 'adapters import no operation, infrastructure or transport (resolvers/, infra/, schema/, rest/)',
    breaks: (from, to) => isAdapter(from) && ['resolvers', 'infra', 'schema', 'rest'].some((folder) => under(to, folder)),
  },
  {
    name: 'infra/ imports no operation, transport or adapter (resolvers/, schema/, rest/, clients/, embedded/, graphql, express…)',
    breaks: (from, to) =>
      under(from, 'infra') &&
      (['resolvers', 'schema', 'rest'].some((folder) => under(to, folder)) || isAdapter(to) || TRANSPORT_PACKAGES.test(to)),
  },
  {
    name: 'schema/ and rest/ reach infra/ through resolvers/',
    breaks: (from, to) => (under(from, 'schema') || under(from, 'rest')) && under(to, 'infra'),
  },
  {
    name: 'metrics go through the Metrics port: only observability/prometheus.ts imports prom-client',
    breaks: (from, to) => /^prom-client(?:\/|$)/.test(to) && from !== 'src/observability/prometheus.ts',
  },
  {
    name: 'nothing but deps.ts, its lazily loaded connected half deps-connected.ts (connected adapters only) and the adapters of the same side imports an adapter',
    breaks: (from, to) =>
      isAdapter(to) && !isAdapter(from) && from !== 'src/deps.ts' && !(from === 'src/deps-connected.ts' && side(to) === 'connected'),
  },
];

/** Imports that break a rule today: `from -> to`, with the issue that removes them and why they exist. */
const KNOWN_DEBTS: Record<string, string> = {};

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

/**
 * The import cycles among src/ files: each strongly connected group of two or more files (Tarjan's
 * algorithm), as its files in order. Type-only imports count: a cycle of types is still two
 * modules that cannot be understood, or moved, one without the other.
 */
export function importCycles(edges: { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) if (to.startsWith('src/')) next.set(from, [...(next.get(from) ?? []), to]);
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const visit = (file: string) => {
    order.set(file, order.size);
    low.set(file, order.get(file)!);
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      if (!order.has(to)) visit(to);
      if (stack.includes(to)) low.set(file, Math.min(low.get(file)!, low.get(to)!));
    }
    if (low.get(file) !== order.get(file)) return;
    const group = stack.splice(stack.indexOf(file));
    if (group.length > 1 || next.get(file)?.includes(file)) groups.push(group.sort());
  };
  for (const file of next.keys()) if (!order.has(file)) visit(file);
  return groups;
}

/** What a transport (schema/, rest/) may read of the shared dependencies: settings, not ports. */
const TRANSPORT_DEPS = new Set(['config', 'logger']);

/**
 * What a transport file reaches around the operations: a port reached through `deps.<port>` (or a
 * destructured `deps`), the per-request `loaders`, or a value imported from ports/ (a type is fine).
 */
export function bypasses(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const isDeps = (node: ts.Node) =>
    (ts.isIdentifier(node) && node.text === 'deps') || (ts.isPropertyAccessExpression(node) && node.name.text === 'deps');
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node) && isDeps(node.expression) && !TRANSPORT_DEPS.has(node.name.text)) {
      found.push(`deps.${node.name.text}`);
    }
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'loaders') found.push('loaders');
    if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name) && node.initializer && isDeps(node.initializer)) {
      for (const element of node.name.elements) {
        const name = (element.propertyName ?? element.name).getText(source);
        if (!TRANSPORT_DEPS.has(name)) found.push(`deps.${name}`);
      }
    }
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const target = posix.join(posix.dirname(file), node.moduleSpecifier.text);
      const clause = node.importClause;
      const values = clause && !clause.isTypeOnly ? importedValues(clause) : [];
      if (target.startsWith('src/ports/') && values.length > 0) found.push(`value ${values.join(', ')} of ${target}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function importedValues(clause: ts.ImportClause): string[] {
  const names = clause.name ? [clause.name.text] : [];
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) names.push(`* as ${bindings.name.text}`);
  if (bindings && ts.isNamedImports(bindings)) names.push(...bindings.elements.filter((e) => !e.isTypeOnly).map((e) => e.name.text));
  return names;
}

/** Every file of the transports (schema/ and rest/). */
function transportFiles(): string[] {
  return ['schema', 'rest'].flatMap((folder) =>
    readdirSync(`src/${folder}`, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => `src/${folder}/${file.split('\\').join('/')}`),
  );
}

describe('transports call operations: schema/ and rest/ reach no port but through resolvers/', () => {
  it('reads no port from deps, no loader, and imports only types from ports/', () => {
    const found = transportFiles().flatMap((file) => bypasses(file, readFileSync(file, 'utf8')).map((what) => `${file}: ${what}`));
    expect(found).toEqual([]);
  });

  it('tells a bypass from what a transport may do', () => {
    const file = 'src/schema/x.ts';
    expect(bypasses(file, 'const [p] = await ctx.deps.users.find({}, {});')).toEqual(['deps.users']);
    expect(bypasses(file, 'const { users, config } = ctx.deps;')).toEqual(['deps.users']);
    expect(bypasses(file, 'deps.roleAdmin?.listRoles();')).toEqual(['deps.roleAdmin']);
    expect(bypasses(file, 'ctx.loaders.identities(fields).byId.load(id);')).toEqual(['loaders']);
    expect(bypasses(file, "import { JsonText, type UserDoc } from '../ports/user-store.js';")).toEqual([
      'value JsonText of src/ports/user-store.js',
    ]);
    expect(bypasses(file, "import type { UserDoc } from '../ports/user-store.js';")).toEqual([]);
    expect(bypasses(file, "import { type UserDoc } from '../ports/user-store.js';")).toEqual([]);
    expect(bypasses(file, 'ctx.deps.config.BODY_LIMIT_BYTES; deps.logger.error("x"); const { config } = deps;')).toEqual([]);
  });
});

describe('layers: imports point downwards only', () => {
  const edges = imports();
  const found = violations(edges);

  it('reads the imports of src/ (type-only ones included)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'src/clients/auth0/authenticator.ts', to: 'src/ports/session-store.ts' });
    expect(edges).toContainEqual({ from: 'src/deps.ts', to: 'src/embedded/sessions.ts' });
    expect(edges).toContainEqual({ from: 'src/resolvers/groups.ts', to: 'zod' });
  });

  it('has no break of a rule beyond the known debts', () => {
    const fresh = [...found].filter(([edge]) => !(edge in KNOWN_DEBTS)).map(([edge, rules]) => `${edge} (${rules.join('; ')})`);
    expect(fresh).toEqual([]);
  });

  it('lists no debt that is already paid (remove it from KNOWN_DEBTS)', () => {
    expect(Object.keys(KNOWN_DEBTS).filter((edge) => !found.has(edge))).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(importCycles(edges)).toEqual([]);
  });

  it('finds a cycle however long, and only a cycle', () => {
    const edge = (from: string, to: string) => ({ from: `src/${from}.ts`, to: `src/${to}.ts` });
    const ring = [edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('c', 'd'), edge('d', 'e')];
    expect(importCycles(ring)).toEqual([['src/a.ts', 'src/b.ts', 'src/c.ts']]);
    expect(importCycles([edge('a', 'a')])).toEqual([['src/a.ts']]);
    expect(importCycles([edge('a', 'b'), edge('b', 'c'), edge('a', 'c'), { from: 'src/c.ts', to: 'zod' }])).toEqual([]);
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
    expect(breaks('src/clients/cookie-sessions.ts', 'src/embedded/sessions.ts')).toEqual([
      'adapters do not cross the embedded/connected line',
    ]);
    expect(breaks('src/clients/crud/session-store.ts', 'src/ports/session-store.ts')).toEqual([]);
    expect(breaks('src/embedded/user-store.ts', 'src/resolvers/users.ts')).toHaveLength(1);
    expect(breaks('src/loaders.ts', 'src/clients/auth0/identity.ts')).toHaveLength(1);
    expect(breaks('src/ports/user-store.ts', 'src/crud/filter.ts')).toEqual([]);
    expect(breaks('src/ports/user-store.ts', 'src/ports/call-scope.ts')).toEqual([]);
    expect(breaks('src/domain/password-policy.ts', 'src/errors.ts')).toEqual([]);
    expect(breaks('src/domain/interval.ts', 'cron-parser')).toEqual([]);
    expect(breaks('src/ports/user-store.ts', 'src/embedded/db.ts')).toHaveLength(2);
    expect(breaks('src/ports/user-store.ts', 'src/clients/http.ts')).toHaveLength(2);
    expect(breaks('src/domain/html.ts', 'src/resolvers/users.ts')).toHaveLength(1);
    expect(breaks('src/domain/html.ts', 'src/schema/user.ts')).toHaveLength(1);
    expect(breaks('src/ports/mailer.ts', 'src/context.ts')).toHaveLength(1);
    expect(breaks('src/resolvers/auth.ts', 'src/infra/login-throttle.ts')).toEqual([]);
    expect(breaks('src/deps.ts', 'src/infra/group-schemas.ts')).toEqual([]);
    expect(breaks('src/infra/caller-profiles.ts', 'src/ports/user-store.ts')).toEqual([]);
    expect(breaks('src/infra/job-worker.ts', 'src/context.ts')).toEqual([]);
    expect(breaks('src/infra/job-worker.ts', 'src/resolvers/activation.ts')).toHaveLength(1);
    expect(breaks('src/infra/group-schemas.ts', 'src/embedded/db.ts')).toHaveLength(2);
    expect(breaks('src/infra/login-throttle.ts', 'express')).toHaveLength(1);
    expect(breaks('src/schema/user.ts', 'src/infra/group-schemas.ts')).toHaveLength(1);
    expect(breaks('src/embedded/user-store.ts', 'src/infra/group-schemas.ts')).toHaveLength(1);
    expect(breaks('src/ports/user-store.ts', 'src/infra/group-schemas.ts')).toHaveLength(1);
    expect(breaks('src/domain/html.ts', 'express')).toHaveLength(1);
    expect(breaks('src/ports/job-store.ts', 'undici')).toHaveLength(1);
    expect(breaks('src/observability/prometheus.ts', 'prom-client')).toEqual([]);
    expect(breaks('src/resolvers/auth.ts', 'prom-client')).toHaveLength(1);
    expect(breaks('src/clients/http.ts', 'prom-client')).toHaveLength(1);
    expect(breaks('src/resolvers/auth.ts', 'src/ports/metrics.ts')).toEqual([]);
    expect(breaks('src/clients/http.ts', 'src/ports/metrics.ts')).toEqual([]);
  });
});
