import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { seedGroups, startService, type TestService } from '../helpers/service.js';
import { chromiumMissing, expectAccessible, launch, screenshot } from './browser.js';
import { ensureConsoleBuild } from '../../scripts/console-build.js';

/**
 * The admin console in headless Chromium (issue #22), against a service on the embedded store: log
 * in, search, open and edit a user, a validation error on its field, a CSV import with a bad row
 * and its report, a bulk activation whose progress bar reaches 100%, export and re-import, the
 * session's end, log out; axe-core on every page. In CI a missing Chromium fails the suite.
 */
const inCI = process.env.CI === 'true';
const ADMIN = { username: 'boss', email: 'boss@example.com', password: 'Boss-pass-123' };

describe.skipIf(chromiumMissing && !inCI)('the admin console in a browser', () => {
  let service: TestService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];
  const elsewhere: string[] = [];

  beforeAll(async () => {
    const dir = await ensureConsoleBuild();
    service = await startService({
      store: 'embedded',
      identity: 'embedded',
      env: { RANDOM_PWD_GEN: 'false', CONSOLE_ASSETS_DIR: dir, JOBS_POLL_MS: '100' },
      background: true,
    });
    await seedGroups(service);
    await service.deps.groups.saveGroup(
      { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
      { actorId: 'test', headers: {} },
    );
    await service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'admin', ...ADMIN });
    for (const name of ['e2e-anna', 'e2e-bruno', 'e2e-carla']) {
      await service.call('POST', '/users/?sendResetPwdEmail=false', {
        userGroup: 'customer',
        username: name,
        email: `${name}@example.com`,
        name,
        password: 'Some-pass-123',
      });
    }
    browser = await launch();
    context = await browser.newContext({ acceptDownloads: true });
    context.on('request', (request) => {
      if (!request.url().startsWith(`${service.url}/`) && !/^(blob|data):/.test(request.url())) elsewhere.push(request.url());
    });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  const shotOnFailure = (name: string) => onTestFailed(() => screenshot(page, name));
  const heading = (text: string | RegExp) => page.getByRole('heading', { level: 1, name: text });

  async function logIn(): Promise<void> {
    await page.getByLabel('Username or e-mail').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  it('sends an anonymous visitor to the login page, keeping the page asked for, and logs in', async () => {
    shotOnFailure('login');
    await page.goto(`${service.url}/admin/groups`);
    await heading('Log in to the UMS console').waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/groups');
    await expectAccessible(page, 'login');
    await logIn();
    await heading('Groups').waitFor();
    const cookies = await context.cookies();
    expect(cookies.find((cookie) => cookie.name === 'sid')).toMatchObject({ httpOnly: true });
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toMatch(/ey[A-Za-z0-9_-]{10,}\./);
    await expectAccessible(page, 'groups');
  });

  it('searches the users, chooses columns, and keeps them across visits', async () => {
    shotOnFailure('users');
    await page.getByRole('link', { name: 'Users' }).click();
    await heading('Users').waitFor();
    await expect.poll(() => page.getByRole('row').count()).toBeGreaterThan(3);
    await page.getByLabel('Search username or e-mail').fill('e2e-b');
    await page.getByLabel('Search username or e-mail').press('Enter');
    await expect.poll(() => page.locator('tbody tr').allInnerTexts()).toEqual([expect.stringContaining('e2e-bruno')]);
    await page.getByText('Columns', { exact: true }).click();
    await page.getByRole('checkbox', { name: 'Roles' }).check();
    await expect(page.getByRole('columnheader', { name: 'Roles' }).isVisible()).resolves.toBe(true);
    await expectAccessible(page, 'users');
    await page.reload();
    await page.getByRole('columnheader', { name: 'Roles' }).waitFor();
    expect(await page.getByLabel('Search username or e-mail').inputValue()).toBe('e2e-b');
  });

  it('opens and edits a user, and shows a validation error on its field', async () => {
    shotOnFailure('user');
    await page.getByRole('link', { name: 'e2e-bruno' }).click();
    await heading(/User e2e-bruno/).waitFor();
    await expectAccessible(page, 'user');
    await page.getByLabel('Name (required)').fill('Bruno Renamed');
    await page.getByLabel('Age').fill('-1');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const ageError = page.locator('#error-age');
    await expect.poll(() => ageError.textContent()).toBe('must be >= 0');
    expect(await page.getByLabel('Age').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'user with an error');
    await page.getByLabel('Age').fill('41');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const id = new URL(page.url()).pathname.split('/').at(-1)!;
    expect((await service.call('GET', `/users/${id}`)).body).toMatchObject({ name: 'Bruno Renamed', age: 41 });
  });

  it('imports a CSV with one bad row and shows the report', async () => {
    shotOnFailure('bulk-import');
    await page.getByRole('link', { name: 'Bulk' }).click();
    await heading('Bulk').waitFor();
    const csv =
      'userGroup,username,email,name,age\ncustomer,e2e-imp1,e2e-imp1@example.com,Imp One,20\ncustomer,e2e-imp2,e2e-imp2@example.com,Imp Two,old\ncustomer,e2e-imp3,e2e-imp3@example.com,Imp Three,30\n';
    await page.getByLabel(/CSV file/).setInputFiles({ name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('2 inserted, 0 updated, 1 rows refused.').waitFor();
    const report = page.getByRole('table', { name: 'Rows refused by the import' });
    expect(await report.locator('tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/^2\tage\t.*age/)]);
    await expectAccessible(page, 'bulk with a report');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download the report (CSV)' }).click();
    const text = readFileSync(await (await download).path(), 'utf8');
    expect(text.split('\n')[0]).toBe('row,field,error');
    expect(text).toMatch(/^2,age,/m);
  });

  it('runs a bulk activation from a filter and shows its progress bar reaching 100%', async () => {
    shotOnFailure('bulk-activation');
    await page.getByLabel('Users of the group (empty: every group)').fill('customer');
    await page.getByRole('button', { name: 'Activate (create identities)' }).click();
    const bar = page.getByRole('progressbar');
    await expect.poll(() => bar.getAttribute('value'), { timeout: 15_000 }).toBe('100');
    await page.getByText(/Activation of 2 users: completed/).waitFor();
    await page.getByText('100% — 2 of 2 users done').waitFor();
    const imported = await service.call('GET', `/users/?_q=${encodeURIComponent(JSON.stringify({ username: 'e2e-imp1' }))}`);
    expect(imported.body[0].authUserId).toEqual(expect.any(String));
    await page.getByRole('link', { name: 'Jobs' }).click();
    await heading('Jobs').waitFor();
    await page.getByRole('cell', { name: '2 of 2' }).waitFor();
    await expectAccessible(page, 'jobs');
  });

  it('exports the users as CSV and re-imports the file unchanged', async () => {
    shotOnFailure('export');
    await page.getByRole('link', { name: 'Users' }).click();
    await page.goto(`${service.url}/admin/users?group=customer`);
    await heading('Users').waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export as CSV' }).click();
    const file = await (await download).path();
    const csv = readFileSync(file, 'utf8');
    expect(csv.split('\n').filter(Boolean)).toHaveLength(1 + 5);
    expect(csv).toContain('e2e-imp3');
    await page.getByRole('link', { name: 'Bulk' }).click();
    await page.getByLabel(/CSV file/).setInputFiles({ name: 'export.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('0 inserted, 5 updated, 0 rows refused.').waitFor();
  });

  it('shows the mail outbox', async () => {
    shotOnFailure('outbox');
    await page.getByRole('link', { name: 'Mail outbox' }).click();
    await heading('Mail outbox').waitFor();
    await expectAccessible(page, 'outbox');
  });

  it('sends the user back to the login page when the session ends, then back to the page', async () => {
    shotOnFailure('session-end');
    await context.clearCookies();
    await page.getByRole('link', { name: 'Jobs' }).click();
    await heading('Log in to the UMS console').waitFor();
    await page.getByText('Your session has ended. Log in again to continue.').waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/jobs');
    await logIn();
    await heading('Jobs').waitFor();
  });

  it('logs out', async () => {
    shotOnFailure('logout');
    await page.getByRole('button', { name: 'Log out' }).click();
    await heading('Log in to the UMS console').waitFor();
    await page.getByText('You have logged out.').waitFor();
    expect((await context.cookies()).find((cookie) => cookie.name === 'sid')).toBeUndefined();
    await page.goto(`${service.url}/admin/users`);
    await heading('Log in to the UMS console').waitFor();
  });

  it('broke no CSP rule and asked nothing of another host', () => {
    expect(cspViolations).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
