import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { openApiDocument } from '../../src/rest/openapi.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/**
 * The service in a real browser: Debian's Chromium driven by playwright-core (no browser download).
 * In CI (CI=true) a missing Chromium fails the suite; elsewhere the suite is skipped, saying why.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const missing = !existsSync(CHROMIUM);
const inCI = process.env.CI === 'true';
if (missing && !inCI) {
  console.warn(
    `\n*** test/e2e SKIPPED: no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH). ***\n`,
  );
}

const anonymous = { 'x-api-key': '' };
const ADMIN = { username: 'boss', email: 'boss@example.com', password: 'Boss-pass-123' };

describe.skipIf(missing && !inCI)('in a real browser (headless Chromium)', () => {
  let service: TestService;
  let browser: Browser;
  let context: BrowserContext;
  /** Every URL the pages asked for that is not the service's own (a CDN, a validator, a font host). */
  const elsewhere: string[] = [];

  beforeAll(async () => {
    if (missing) throw new Error(`Chromium is required in CI and there is none at ${CHROMIUM}: .ci/run installs it with apt-get`);
    service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
    await seedGroups(service);
    await service.deps.groups.saveGroup(
      { userGroup: 'admin', label: 'Admins', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
      { actorId: 'test', headers: {} },
    );
    await service.call('POST', '/users/?sendResetPwdEmail=false', { userGroup: 'admin', ...ADMIN });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    context = await browser.newContext();
    // Pasting into GraphiQL's editors: typed brackets would be closed a second time by the editor.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: service.url });
    context.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${service.url}/`) && !url.startsWith('blob:') && !url.startsWith('data:')) elsewhere.push(url);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  /** A new page; a screenshot of it lands in test/artifacts/ if the test fails. */
  async function open(name: string, url: string): Promise<Page> {
    const page = await context.newPage();
    onTestFailed(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true });
    });
    await page.goto(url);
    return page;
  }

  async function paste(page: Page, text: string): Promise<void> {
    await page.evaluate((value) => navigator.clipboard.writeText(value), text);
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('ControlOrMeta+v');
  }

  it('sets a new password through the reset link of the outbox, then logs in with it', async () => {
    const created = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'reader',
      email: 'reader@example.com',
      name: 'R',
    });
    expect(created.status).toBe(200);
    const mail = service.deps.outbox!.list({ limit: 10, offset: 0 }).find((candidate) => candidate.to === 'reader@example.com')!;
    const link = /http:\/\/\S+\/password-reset\?ticket=[\w%-]+/.exec(mail.text)![0];

    const page = await open('password-reset', link);
    await expect.poll(() => page.locator('h1').innerText()).toBe('Choose a new password');
    // A password the policy refuses: the form comes back with the reason.
    await page.getByLabel('New password').fill('alllowercase');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toContain('at least three of');
    await page.getByLabel('New password').fill('Reader-pass-42');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.locator('h1').innerText()).toBe('Password changed');

    const login = await service.call('POST', '/oauth/token', { username: 'reader', password: 'Reader-pass-42' }, anonymous);
    expect(login.status).toBe(200);
    expect(login.body.accessToken).toEqual(expect.any(String));
  });

  it('runs a users query in GraphiQL with an Authorization header, and shows the result', async () => {
    const login = await service.call('POST', '/oauth/token', { username: ADMIN.username, password: ADMIN.password }, anonymous);
    const page = await open('graphiql', `${service.url}/graphql`);
    const queryEditor = page.locator('.graphiql-query-editor .monaco-editor');
    await queryEditor.waitFor();
    await page.getByRole('button', { name: 'Headers' }).click();
    await page.locator('.graphiql-editor-tool .monaco-editor').last().click();
    await paste(page, JSON.stringify({ Authorization: `Bearer ${login.body.accessToken}` }));
    await queryEditor.click();
    await paste(page, '{ users(sort: ["username"]) { totalCount nodes { username email } } }');
    await page.getByRole('button', { name: /Execute query/ }).click();

    const result = page.locator('.graphiql-response');
    await result.getByText('reader@example.com').waitFor();
    // The editor renders indentation as non-breaking spaces.
    const shown = JSON.parse((await result.innerText()).replaceAll('\u00a0', ' '));
    expect(shown).toEqual({
      data: {
        users: {
          totalCount: 2,
          nodes: [
            { username: 'boss', email: 'boss@example.com' },
            { username: 'reader', email: 'reader@example.com' },
          ],
        },
      },
    });
  });

  it('renders every route of the OpenAPI document at /documentation', async () => {
    const page = await open('documentation', `${service.url}/documentation`);
    const summaries = page.locator('.opblock-summary');
    await expect.poll(() => summaries.count()).toBeGreaterThan(0);
    const rendered = await summaries.evaluateAll((blocks) =>
      blocks.map((block) => {
        const method = block.querySelector('.opblock-summary-method')?.textContent ?? '';
        return `${method.toUpperCase()} ${block.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`;
      }),
    );
    const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
    const documented = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(rendered.sort()).toEqual(documented.sort());
    await expect.poll(() => page.locator('.info .title').innerText()).toContain('User Manager Service');
  });

  it('loaded nothing from anywhere but the service', () => {
    expect(elsewhere).toEqual([]);
  });
});
