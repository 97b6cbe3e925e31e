import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBuild } from './helpers/compiled.js';
import { runtimeStage } from './helpers/dockerfile.js';
import { freePort, type SpawnedService, spawnService } from './helpers/process.js';

/**
 * No Docker engine runs here: this assembles the tree the Dockerfile's runtime stage holds (what
 * its COPY lines take, with the production dependencies from `npm ci --omit=dev`) in a temporary
 * folder, and starts it with the stage's ENV and CMD, as `docker run` would.
 */
const run = promisify(execFile);
const skipped = missingBuild();
const stage = runtimeStage('Dockerfile');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> };
const APP = '/app/';

/**
 * The production dependencies as `npm ci --omit=dev` lays them out, from npm's cache. Install
 * scripts are skipped: the only one, better-sqlite3's, compiles for about 70 s, so its binary is
 * taken from the project's own install (built for this Node.js), as the build stage's would be.
 */
async function productionModules(tree: string): Promise<void> {
  cpSync('package.json', join(tree, 'package.json'));
  cpSync('package-lock.json', join(tree, 'package-lock.json'));
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: tree });
  const binary = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');
  const target = join(tree, 'node_modules/better-sqlite3/build/Release');
  mkdirSync(target, { recursive: true });
  cpSync(binary, join(target, 'better_sqlite3.node'));
}

/** The runtime stage's files: each COPY, from the build stage (its /app is this project, built) or the context. */
async function assemble(tree: string): Promise<void> {
  for (const { from, sources, destination } of stage.copies) {
    for (const source of sources) {
      const path = from ? posix.relative(APP, source) : source;
      if (path === 'node_modules') await productionModules(tree);
      else
        cpSync(path, posix.join(tree, destination.endsWith('/') ? posix.join(destination, posix.basename(path)) : destination), {
          recursive: true,
        });
    }
  }
}

describe.skipIf(skipped)(`the container image's tree${skipped ? ` (skipped: ${skipped})` : ''}`, { timeout: 60_000 }, () => {
  const tree = mkdtempSync(join(tmpdir(), 'ums-image-'));
  const data = mkdtempSync(join(tmpdir(), 'ums-image-data-'));
  let service: SpawnedService | undefined;
  let port = 0;
  beforeAll(async () => {
    await assemble(tree);
    port = await freePort();
    const env = { ...stage.env, HTTP_PORT: String(port), EMBEDDED_DB_PATH: join(data, posix.basename(stage.env.EMBEDDED_DB_PATH!)) };
    // `stage.cmd` is ["node", "dist/main.js"]: run by this Node.js, in the tree.
    service = await spawnService({ ...env, LOG_LEVEL: 'info', TMPDIR: data }, { args: stage.cmd.slice(1), cwd: tree });
  }, 120_000);
  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await service?.exit;
    for (const folder of [tree, data]) rmSync(folder, { recursive: true, force: true });
  });

  it('is built on the official Node.js 24 slim image in two stages, and runs as a user with its store on a volume', () => {
    expect(stage.bases.length).toBeGreaterThanOrEqual(2);
    for (const base of stage.bases) expect(base).toMatch(/^node:24(?:\.\d+)*-(?:\w+-)?slim$/);
    expect(stage.cmd[0]).toBe('node');
    expect(stage.user).toBeDefined();
    expect(['root', '0']).not.toContain(stage.user);
    expect(stage.volumes).toContain(posix.dirname(stage.env.EMBEDDED_DB_PATH!));
    expect(stage.env.HOST).toBe('0.0.0.0');
  });

  it('holds no development dependency and no source', () => {
    for (const name of Object.keys(pkg.devDependencies)) expect(existsSync(join(tree, 'node_modules', name)), name).toBe(false);
    expect(existsSync(join(tree, 'src'))).toBe(false);
    expect(existsSync(join(tree, 'dist/main.js'))).toBe(true);
  });

  it('starts with plain node: the HEALTHCHECK passes, and the printed administrator logs in', async () => {
    const [command, ...args] = stage.healthcheck;
    expect(command).toBe('node');
    await run(process.execPath, args, { env: { ...process.env, HTTP_PORT: String(port) } });
    const healthz = await fetch(`http://127.0.0.1:${port}/-/healthz`);
    expect(await healthz.json()).toMatchObject({ status: 'OK', name: 'user-manager-service' });
    const password = /password "([^"]+)"/.exec(service!.output())![1];
    const login = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(login.status).toBe(200);
    expect(await login.json()).toMatchObject({ accessToken: expect.any(String) });
    expect(existsSync(join(data, 'ums.sqlite'))).toBe(true);
  });

  it('--help reads its reference from the tree', async () => {
    const { stdout } = await run(process.execPath, ['dist/main.js', '--help'], { cwd: tree });
    expect(stdout).toContain('EMBEDDED_DB_PATH');
  });
});
