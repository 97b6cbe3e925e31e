import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureConsoleBuild } from '../../scripts/console-build.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';
import { launch } from './browser.js';

export const ADMIN = { username: 'boss', email: 'boss@example.com', password: 'Boss-pass-123' };

export interface ConsoleRun {
  service: TestService;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Page errors, console errors and answers of 400 and above the page met: a user sees none. */
  problems: string[];
}

/**
 * One service on the embedded store (the seeded groups and an administrator) and one browser page
 * for a file's cases: the console is built once per run (scripts/console-build.ts).
 */
export async function startConsole(env: Record<string, string> = {}): Promise<ConsoleRun> {
  const dir = await ensureConsoleBuild();
  const service = await startService({
    store: 'embedded',
    identity: 'embedded',
    env: { RANDOM_PWD_GEN: 'false', CONSOLE_ASSETS_DIR: dir, JOBS_POLL_MS: '100', ...env },
    background: true,
  });
  await seedGroups(service);
  await service.deps.groups.saveGroup(
    { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
    { actorId: 'test', headers: {} },
  );
  await service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'admin', ...ADMIN });
  const browser = await launch();
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
  });
  return { service, browser, context, page, problems };
}

export async function stopConsole(run: ConsoleRun | undefined): Promise<void> {
  await run?.browser.close();
  await run?.service.close();
}

/** Logs in from the login page the console shows. */
export async function logIn(page: Page): Promise<void> {
  await page.getByLabel('Username or e-mail').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

export const heading = (page: Page, text: string | RegExp) => page.getByRole('heading', { level: 1, name: text });
