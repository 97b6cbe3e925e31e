import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DIST_MAIN, missingBuild } from './helpers/compiled.js';
import { freePort, spawnService } from './helpers/process.js';

/**
 * An embedded service never loads what only the connected mode uses (undici, nodemailer, the
 * upstream clients): about 10 MiB of its idle memory (README, "Start and idle memory"). The
 * compiled service runs in a child process whose every loaded module is recorded.
 */
const RECORDER = pathToFileURL(join(import.meta.dirname, 'helpers', 'record-loads.mjs')).href;
const CONNECTED_ONLY = /\/node_modules\/(?:undici|nodemailer)\/|\/dist\/(?:deps-connected\.js|clients\/(?!records\.js))/;

const started: { child: ChildProcess; dir: string }[] = [];
afterEach(() => {
  for (const { child, dir } of started.splice(0)) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The modules a compiled service loaded by the time it listens, with `env` added. */
async function modulesLoaded(env: Record<string, string>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ums-modules-'));
  const list = join(dir, 'modules.txt');
  const service = await spawnService(
    {
      HTTP_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      EMBEDDED_DB_PATH: join(dir, 'ums.sqlite'),
      BOOTSTRAP_ADMIN_PASSWORD: 'Bootstrap-Passw0rd',
      LOG_LEVEL: 'info',
      TMPDIR: dir,
      LOADED_MODULES_FILE: list,
      ...env,
    },
    { args: ['--import', RECORDER, DIST_MAIN] },
  );
  started.push({ child: service.child, dir });
  return readFileSync(list, 'utf8').split('\n').filter(Boolean);
}

describe.skipIf(missingBuild())('modules of the compiled service', () => {
  it('in embedded mode: none of undici, nodemailer and the upstream clients', async () => {
    const loaded = await modulesLoaded({});
    // The recording sees what the service does load (the embedded store, the wiring).
    expect(loaded.some((url) => url.includes('/node_modules/better-sqlite3/'))).toBe(true);
    expect(loaded.some((url) => url.endsWith('/dist/deps.js'))).toBe(true);
    expect(loaded.filter((url) => CONNECTED_ONLY.test(url))).toEqual([]);
  });

  // mingo's expression, pipeline and projection operators (about 9 MB once loaded) serve `_rawp`
  // expressions only: loaded with raw-evaluation.js when one is first evaluated.
  it('at start: not the evaluation of _rawp expressions', async () => {
    const loaded = await modulesLoaded({});
    const evaluation =
      /\/dist\/crud\/(?:raw-evaluation|expression-operators)\.js$|\/node_modules\/mingo\/(?:cjs|esm)\/operators\/(?:expression|pipeline|projection)\//;
    expect(loaded.some((url) => url.includes('/node_modules/mingo/'))).toBe(true);
    expect(loaded.filter((url) => evaluation.test(url))).toEqual([]);
  });

  it('with an upstream configured: its client and package, loaded at start', async () => {
    // An SMTP server is reached only when a mail is sent: the service starts without one.
    const loaded = await modulesLoaded({ SMTP_URL: 'smtp://127.0.0.1:9', MAIL_FROM: 'ums@example.com' });
    expect(loaded.filter((url) => /\/node_modules\/nodemailer\/|\/dist\/clients\/smtp\//.test(url)).length).toBeGreaterThan(0);
  });
});
