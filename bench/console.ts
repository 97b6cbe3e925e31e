/**
 * The admin console: the gzip size of the JavaScript and CSS its first page loads (budget 200 KB),
 * and the time from navigation to the first users page rendered in headless Chromium (on this
 * machine, against the service on the embedded store with 10,000 users), with an empty cache and
 * with the hashed assets cached.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { buildServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDeps } from '../src/deps.js';
import { ensureConsoleBuild } from '../scripts/console-build.js';
import { launch } from '../test/e2e/browser.js';
import { publish } from './lib.js';
import { seedUsers } from './seed.js';

const USERS = 10_000;
const ROUNDS = Number(process.env.BENCH_CONSOLE_ROUNDS ?? 15);
const BUDGET_KB = 200;

/** Every script and stylesheet index.html loads, gzipped (level 9, as a server or CDN would send it). */
function firstPageSizes(dir: string): { jsKb: number; cssKb: number; files: string[] } {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="\/admin\/(assets\/[^"]+\.(?:js|css))"/g)].map((match) => match[1]!);
  const kb = (ext: string) =>
    files
      .filter((file) => file.endsWith(ext))
      .reduce((sum, file) => sum + gzipSync(readFileSync(join(dir, file)), { level: 9 }).length, 0) / 1024;
  return { jsKb: Math.round(kb('.js') * 10) / 10, cssKb: Math.round(kb('.css') * 10) / 10, files };
}

/** Milliseconds from the navigation's start to the users table showing its first row. */
async function timeToUsers(page: Page, url: string): Promise<number> {
  await page.goto(`${url}/admin/users`);
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length > 0);
  return page.evaluate(() => performance.now());
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (value: number) => Math.round(value * 10) / 10;

async function logIn(browser: Browser, url: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/admin/login`);
  await page.getByLabel('Username or e-mail').fill('user1');
  await page.getByLabel('Password').fill('Bench-password-1');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page
    .waitForFunction(() => document.querySelectorAll('tbody tr').length > 0, undefined, { timeout: 10_000 })
    .catch(async (error: Error) => {
      await page.screenshot({ path: '/tmp/bench-console.png' });
      throw error;
    });
  return { context, page };
}

export async function runConsole(): Promise<void> {
  const dir = await ensureConsoleBuild();
  const sizes = firstPageSizes(dir);
  const config = loadConfig({
    EMBEDDED_DB_PATH: join(mkdtempSync(join(tmpdir(), 'ums-bench-console-')), 'ums.sqlite'),
    LOG_LEVEL: 'silent',
    CONSOLE_ASSETS_DIR: dir,
    COOKIE_SECURE: 'false',
    ADMIN_GROUPS: 'customer',
  });
  const deps = await createDeps(config, pino({ level: 'silent' }));
  await seedUsers(deps.db, USERS);
  const server = buildServer(deps);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const browser = await launch();
  try {
    const { context, page } = await logIn(browser, url);
    const cookies = await context.cookies();
    const warm: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) warm.push(await timeToUsers(page, url));
    const cold: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      // A new context: an empty cache, the same session.
      const fresh = await browser.newContext();
      await fresh.addCookies(cookies);
      cold.push(await timeToUsers(await fresh.newPage(), url));
      await fresh.close();
    }
    const summary = {
      date: new Date().toISOString(),
      node: process.version,
      users: USERS,
      rounds: ROUNDS,
      sizes,
      budgetKb: BUDGET_KB,
      coldMs: cold.map(round),
      warmMs: warm.map(round),
    };
    const total = round(sizes.jsKb + sizes.cssKb);
    publish(
      'console',
      summary,
      [
        `The admin console (${new Date().toISOString().slice(0, 10)}, ${process.version}, headless Chromium on the same 2-core machine, embedded store with ${USERS.toLocaleString('en')} users):`,
        '',
        '| measure | value |',
        '|---|---|',
        `| first page's JavaScript + CSS, gzip | ${sizes.jsKb} KB + ${sizes.cssKb} KB = **${total} KB** (budget ${BUDGET_KB} KB: ${total <= BUDGET_KB ? 'met' : 'NOT met'}) |`,
        `| navigation to the first users page rendered, empty cache (p50 of ${ROUNDS}) | ${round(median(cold))} ms (max ${round(Math.max(...cold))}) |`,
        `| the same with the hashed assets cached (p50 of ${ROUNDS}) | ${round(median(warm))} ms (max ${round(Math.max(...warm))}) |`,
      ].join('\n'),
    );
  } finally {
    await browser.close();
    server.close();
    deps.db.close();
  }
}
