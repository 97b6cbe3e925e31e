import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Locator, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { chromiumMissing, expectAccessible, screenshot } from './browser.js';
import { type ConsoleRun, heading, logIn, startConsole, stopConsole } from './console-service.js';

/**
 * The console as an outside browser check walks it (headless Chromium, embedded store): the pages
 * a reload, the back button or a link must come back to, the messages shown for bad input, the
 * narrow screen. One service and one page for every case.
 */
const inCI = process.env.CI === 'true';
const NO_ANSWER_WORDS = 'The service is not answering: try again in a moment.';
const USER_BUSY_WORDS = 'Another change to this user is still running: nothing was changed. Try again in a moment.';

describe.skipIf(chromiumMissing && !inCI)('the console, walked as a user', () => {
  let run: ConsoleRun;
  const page = () => run.page;
  const url = (path: string) => `${run.service.url}/admin${path}`;
  const rows = () => page().locator('tbody tr td:nth-child(2)').allInnerTexts();

  beforeAll(async () => {
    run = await startConsole();
    for (let index = 1; index <= 30; index++) {
      const name = `walk${String(index).padStart(2, '0')}`;
      await run.service.call('POST', '/users/?postponeAuthUserCreation=true', {
        userGroup: 'customer',
        username: name,
        email: `${name}@example.com`,
        name,
      });
    }
    await run.page.goto(url('/users'));
    await logIn(run.page);
    await heading(run.page, 'Users').waitFor();
  });
  afterAll(() => stopConsole(run));
  const shotOnFailure = (name: string) => onTestFailed(() => screenshot(page(), name));

  it('keeps the page of users across a reload, a user opened and the back button', async () => {
    shotOnFailure('walk-pages');
    await page().getByRole('button', { name: 'Next page' }).click();
    await expect.poll(rows).toContain('walk30');
    const second = await rows();
    await page().reload();
    await expect.poll(rows).toEqual(second);
    expect(await page().locator('caption').innerText()).toBe('Users, page 2');
    await page().getByRole('link', { name: 'walk27' }).click();
    await heading(page(), /User walk27/).waitFor();
    await page().goBack();
    await expect.poll(rows).toEqual(second);
    expect(await page().locator('caption').innerText()).toBe('Users, page 2');
    await page().getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(rows).toContain('walk01');
    await page().goBack();
    await expect.poll(rows).toEqual(second);
  });

  it('keeps the focus in a filter the keyboard changes', async () => {
    shotOnFailure('walk-filter-focus');
    const search = page().getByLabel('Search username or e-mail');
    await search.focus();
    await page().keyboard.type('walk1');
    await page().keyboard.press('Enter');
    await expect.poll(rows).toEqual(['walk10', 'walk11', 'walk12', 'walk13', 'walk14', 'walk15', 'walk16', 'walk17', 'walk18', 'walk19']);
    expect(await search.evaluate((element) => element === document.activeElement)).toBe(true);
    await search.fill('');
    await search.press('Enter');
    await expect.poll(rows).toContain('walk01');
  });

  it('shows bad input next to its field, in words, never as the API field path', async () => {
    shotOnFailure('walk-bad-input');
    await page().goto(url('/users/new'));
    await heading(page(), 'New user').waitFor();
    await page().getByRole('combobox', { name: 'Group' }).selectOption('customer');
    await page().getByRole('textbox', { name: 'Username' }).fill('walk-new');
    await page().getByRole('textbox', { name: 'E-mail' }).fill('not-an-address');
    await page().getByRole('textbox', { name: 'Name (required)' }).fill('Walk New');
    await page().getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => page().locator('#error-email').textContent()).toBe('Invalid email address');
    const summary = page().locator('main > p.error');
    expect(await summary.innerText()).toBe('Some fields need a fix: see the messages next to them.');
    await page().getByRole('textbox', { name: 'E-mail' }).fill('walk-new@example.com');
    await page().getByRole('spinbutton', { name: 'Age' }).fill('-1');
    await page().getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => page().locator('#error-age').textContent()).toBe('must be >= 0');
    expect(await summary.innerText()).toBe('Some fields need a fix: see the messages next to them.');
    expect(await page().locator('main').innerText()).not.toMatch(/body\/|input\/|user group "/);
  });

  it('blocks and unblocks a user, its effect stated first', async () => {
    shotOnFailure('walk-block');
    const created = await run.service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'walk-block',
      email: 'walk-block@example.com',
      name: 'Walk Block',
      password: 'Some-pass-123',
    });
    const login = () => run.service.call('POST', '/oauth/token', { username: 'walk-block', password: 'Some-pass-123' });
    await page().goto(url(`/users/${created.body._id}`));
    await heading(page(), 'User walk-block').waitFor();
    await page().getByRole('button', { name: 'Block…' }).click();
    const dialog = page().getByRole('dialog');
    expect(await dialog.innerText()).toMatch(/cannot log in/);
    await expectAccessible(page(), 'block dialog');
    await dialog.getByRole('button', { name: 'Block', exact: true }).click();
    await page().getByRole('status').filter({ hasText: 'Block: done.' }).waitFor();
    expect((await page().locator('dl').innerText()).replace(/\s+/g, ' ')).toContain('Blocked yes');
    expect((await login()).status).toBe(401);
    await page().getByRole('button', { name: 'Unblock…' }).click();
    await dialog.getByRole('button', { name: 'Unblock', exact: true }).click();
    await page().getByRole('status').filter({ hasText: 'Unblock: done.' }).waitFor();
    expect((await page().locator('dl').innerText()).replace(/\s+/g, ' ')).toContain('Blocked no');
    expect((await login()).status).toBe(200);
  });

  it('says in words why a user whose profile its group now refuses cannot be blocked, and what to do', async () => {
    shotOnFailure('walk-block-refused');
    const loose = (crudSchema: Record<string, unknown>) =>
      run.service.deps.groups.saveGroup(
        { userGroup: 'walk-loose', label: 'Loose', crudSchema, authUserCreationDisabled: false },
        { actorId: 'test', headers: {} },
      );
    await loose({ type: 'object' });
    const created = await run.service.call('POST', '/users/', {
      userGroup: 'walk-loose',
      username: 'walk-loose',
      email: 'walk-loose@example.com',
    });
    // The group's schema asks for more after the user was created: blocking saves the whole profile.
    await loose({ type: 'object', properties: { company: { type: 'string' } }, required: ['company'] });
    await page().goto(url(`/users/${created.body._id}`));
    await heading(page(), 'User walk-loose').waitFor();
    await page().getByRole('button', { name: 'Block…' }).click();
    await page().getByRole('dialog').getByRole('button', { name: 'Block', exact: true }).click();
    const alert = page().locator('section').getByRole('alert');
    await alert.waitFor();
    const said = await alert.innerText();
    expect(said).toContain("Block saves the profile, which its group refuses: company must have required property 'company'.");
    expect(said).toContain('Move to draft');
    expect(said).not.toMatch(/body\/|user group "/);
    // The way out it names works: a state change does not save the profile.
    await page().getByRole('button', { name: 'Move to draft…' }).click();
    await page().getByRole('dialog').getByRole('button', { name: 'Move to draft', exact: true }).click();
    await page().getByRole('status').filter({ hasText: 'Move to draft: done.' }).waitFor();
  });

  it('moves a user to another group, whose fields the form then shows', async () => {
    shotOnFailure('walk-group');
    const [walk02] = (await run.service.call('GET', `/users/?_q=${encodeURIComponent(JSON.stringify({ username: 'walk02' }))}`)).body;
    await page().goto(url(`/users/${walk02._id}`));
    await heading(page(), 'User walk02').waitFor();
    const group = page().getByRole('combobox', { name: 'Group' });
    expect(await group.isEnabled()).toBe(true);
    await group.selectOption('guest');
    await page()
      .getByText(/sessions end/)
      .waitFor();
    expect(await page().getByRole('spinbutton', { name: 'Age' }).count()).toBe(0);
    await page().getByRole('button', { name: 'Save changes' }).click();
    await page().getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect((await run.service.call('GET', `/users/${walk02._id}`)).body.userGroup).toBe('guest');
  });

  it('fits a narrow screen: no page scrolls sideways, wide tables scroll in their own box', async () => {
    shotOnFailure('walk-narrow');
    // A user whose identity id and password e-mail (a long link) are on its pages.
    const created = await run.service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'walk-narrow',
      email: 'walk-narrow-with-a-long-address@example.com',
      name: 'Walk Narrow',
      password: 'Some-pass-123',
    });
    await page().setViewportSize({ width: 360, height: 740 });
    try {
      for (const [path, title, shown] of [
        ['/users', 'Users', 'tbody tr'],
        [`/users/${created.body._id}`, 'User walk-narrow', 'dd'],
        ['/jobs', 'Jobs', 'caption'],
        ['/outbox', 'Mail outbox', 'pre'],
        ['/groups', 'Groups', 'tbody tr'],
        ['/bulk', 'Bulk', 'form'],
        ['/roles', 'Roles', 'form'],
      ] as const) {
        await page().goto(url(path));
        await heading(page(), title).waitFor();
        await page().locator(shown).first().waitFor();
        const width = await page().evaluate(() => document.documentElement.scrollWidth);
        expect(width, path).toBeLessThanOrEqual(360);
      }
    } finally {
      await page().setViewportSize({ width: 1280, height: 720 });
    }
  });

  it('answers a link it cannot read with its own page, never a blank screen or the server error', async () => {
    shotOnFailure('walk-bad-link');
    const before = run.problems.length;
    for (const path of ['/users/%E0', '/groups/%', '/nowhere']) {
      await page().goto(url(path));
      await heading(page(), 'Page not found').waitFor();
      await page().getByRole('link', { name: 'Go to the users' }).waitFor();
    }
    expect(run.problems.slice(before)).toEqual([]);
  });

  it('answers a list link with a page the service refuses with the first page, never the service error', async () => {
    shotOnFailure('walk-bad-page');
    const before = run.problems.length;
    for (const [path, title, want] of [
      ['/users?state=ANY&after=garbage', 'Users', '?state=ANY'],
      ['/jobs?status=completed&after=garbage', 'Jobs', '?status=completed'],
    ]) {
      await page().goto(url(path!));
      await heading(page(), title!).waitFor();
      await expect.poll(() => new URL(page().url()).search).toBe(want);
      await page().getByText('The page of the link is not one the service knows: here is the first page.').waitFor();
      // The notice comes before the first page has loaded: "Loading" may still show for a moment.
      await expect.poll(() => page().locator('main').innerText()).not.toMatch(/cursor|Loading/);
      expect(
        await page()
          .getByRole('button', { name: /Previous page|Newer jobs/ })
          .isDisabled(),
      ).toBe(true);
    }
    // The service's refusal of each link (a 400 the browser logs) and nothing else.
    expect(run.problems.splice(before).filter((problem) => !/400|status of 400/.test(problem))).toEqual([]);
  });

  it('says a file without rows imported nothing, rather than that every row was imported', async () => {
    shotOnFailure('walk-empty-import');
    await page().goto(url('/bulk'));
    await heading(page(), 'Bulk').waitFor();
    const file = page().getByLabel(/CSV file/);
    await file.setInputFiles({ name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from('userGroup,username,email\n') });
    await page().getByRole('button', { name: 'Import', exact: true }).click();
    await page().getByRole('alert').filter({ hasText: 'empty.csv holds no rows: nothing was imported.' }).waitFor();
    expect(await page().getByText('Every row was imported.').count()).toBe(0);
    expect(
      await page()
        .getByText(/0 inserted/)
        .count(),
    ).toBe(0);
  });

  it('creates a user once when Create user is double-clicked, and says it was created', async () => {
    shotOnFailure('walk-double-create');
    await page().goto(url('/users/new'));
    await heading(page(), 'New user').waitFor();
    await page().getByRole('combobox', { name: 'Group' }).selectOption('customer');
    await page().getByRole('textbox', { name: 'Username' }).fill('walk-twice');
    await page().getByRole('textbox', { name: 'E-mail' }).fill('walk-twice@example.com');
    await page().getByRole('textbox', { name: 'Name (required)' }).fill('Walk Twice');
    await page().getByRole('button', { name: 'Create user' }).dblclick();
    await heading(page(), 'User walk-twice').waitFor();
    await page().getByRole('status').filter({ hasText: 'User created.' }).waitFor();
    expect(await page().locator('main').getByRole('alert').count()).toBe(0);
    const found = await run.service.call('GET', `/users/?_q=${encodeURIComponent(JSON.stringify({ username: 'walk-twice' }))}`);
    expect(found.body).toHaveLength(1);
  });

  it('runs Register and Send password e-mail once each when double-clicked', async () => {
    shotOnFailure('walk-double-register');
    const made = await run.service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'walk-register',
      email: 'walk-register@example.com',
      name: 'Walk Register',
    });
    await page().goto(url(`/users/${made.body._id}`));
    await heading(page(), 'User walk-register').waitFor();
    const sent: string[] = [];
    const note = (request: { postData(): string | null }) => {
      const name = /mutation (\w+)/.exec(request.postData() ?? '')?.[1];
      if (name) sent.push(name);
    };
    page().on('request', note);
    await page().getByRole('button', { name: 'Register (create its identity)' }).dblclick();
    await page().getByRole('status').filter({ hasText: 'Identity created' }).waitFor();
    await page().getByRole('button', { name: 'Send password e-mail' }).dblclick();
    await page().getByRole('status').filter({ hasText: 'Password e-mail sent.' }).waitFor();
    page().off('request', note);
    // A second run of either answered "job user-creation:… exists already" or sent a second e-mail.
    expect(sent).toEqual(['Register', 'PasswordMail']);
    expect(await page().locator('main').getByRole('alert').count()).toBe(0);
    const { authUserId } = (await run.service.call('GET', `/users/${made.body._id}`)).body;
    // One with the identity, one asked for.
    expect(run.service.backend.passwordMails({ authUserId, email: 'walk-register@example.com' })).toBe(2);
  });

  it('says when a bulk filter matches no user, rather than that none lacks an identity', async () => {
    shotOnFailure('walk-bulk-none');
    await page().goto(url('/bulk'));
    await heading(page(), 'Bulk').waitFor();
    await page().getByLabel('Users of the group (empty: every group)').fill('custmer');
    await page().getByRole('button', { name: 'Activate (create identities)' }).click();
    await page().getByRole('alert').filter({ hasText: 'No user of the group custmer is PUBLIC: nothing to activate.' }).waitFor();
    await page().getByRole('button', { name: 'Send password e-mails' }).click();
    await page().getByRole('alert').filter({ hasText: 'No user of the group custmer is PUBLIC: no password e-mail to send.' }).waitFor();
  });

  it('marks the page the user is on in the menu, the users list at /admin too', async () => {
    shotOnFailure('walk-current');
    const current = () => page().getByRole('navigation', { name: 'Console' }).locator('[aria-current="page"]').allInnerTexts();
    await page().goto(url('/'));
    await heading(page(), 'Users').waitFor();
    expect(await current()).toEqual(['Users']);
    await page().goto(url('/jobs'));
    await heading(page(), 'Jobs').waitFor();
    expect(await current()).toEqual(['Jobs']);
  });

  it('never replaces a group from the New group form, and says what a new group lacks', async () => {
    shotOnFailure('walk-new-group');
    await page().goto(url('/groups/new'));
    await heading(page(), 'New group').waitFor();
    await page().getByRole('button', { name: 'Save group' }).click();
    await expect.poll(() => page().locator('#error-group-name').textContent()).toBe("Enter the group's name.");
    expect(await page().locator('#error-group-label').textContent()).toBe('Enter a label.');
    await page().getByRole('textbox', { name: 'Group name' }).fill('customer');
    await page().getByRole('textbox', { name: 'Label' }).fill('Replaced');
    await page().getByRole('button', { name: 'Save group' }).click();
    await expect
      .poll(() => page().locator('#error-group-name').textContent())
      .toBe('A group named customer exists already: open it from the groups to edit it.');
    const customer = await run.service.deps.groups.getGroup('customer');
    expect(customer).toMatchObject({ label: 'Customer', crudSchema: { properties: { age: { minimum: 0 } } } });
  });

  it('ties each label, hint and error to its control', async () => {
    shotOnFailure('walk-labels');
    const described = (locator: Locator) =>
      locator.evaluate((element) =>
        (element.getAttribute('aria-describedby') ?? '')
          .split(' ')
          .map((id) => document.getElementById(id)?.textContent ?? '')
          .join(' ')
          .trim(),
      );
    await page().goto(url('/users'));
    await heading(page(), 'Users').waitFor();
    const filters = page().getByRole('search');
    for (const label of ['Group', 'State', 'Sort by']) {
      expect(await filters.getByLabel(label, { exact: true }).evaluate((element) => element.tagName), label).toBe('SELECT');
    }
    await page().goto(url('/users/new'));
    await heading(page(), 'New user').waitFor();
    await page().getByRole('combobox', { name: 'Group' }).selectOption('customer');
    expect(await described(page().getByLabel('Tags', { exact: true }))).toBe('One item per line.');
    const email = page().getByLabel('E-mail', { exact: true });
    await email.fill('nobody-at-all');
    await page().getByRole('textbox', { name: 'Name (required)' }).fill('Labels');
    await page().getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => email.getAttribute('aria-invalid')).toBe('true');
    expect(await described(email)).toBe('Invalid email address');
  });

  it('deletes an unused group after a dialog that says what goes', async () => {
    shotOnFailure('walk-delete-group');
    await run.service.deps.groups.saveGroup(
      { userGroup: 'walk-empty', label: 'Empty', crudSchema: { type: 'object' }, authUserCreationDisabled: false },
      { actorId: 'test', headers: {} },
    );
    await page().goto(url('/groups/walk-empty'));
    await heading(page(), 'Group walk-empty').waitFor();
    await page().getByRole('button', { name: 'Delete group…' }).click();
    const dialog = page().getByRole('dialog');
    expect(await dialog.innerText()).toMatch(/configuration and JSON Schema are removed/);
    await expectAccessible(page(), 'group deletion dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await dialog.isVisible()).toBe(false);
    await page().getByRole('button', { name: 'Delete group…' }).click();
    await dialog.getByRole('button', { name: 'Delete group', exact: true }).click();
    await heading(page(), 'Groups').waitFor();
    expect(await run.service.deps.groups.getGroup('walk-empty')).toBeUndefined();
  });

  it('creates a role, gives it to a user, and deletes it', async () => {
    shotOnFailure('walk-roles');
    await page().goto(url('/users'));
    await page().getByRole('link', { name: 'Roles', exact: true }).click();
    await heading(page(), 'Roles').waitFor();
    await page().getByRole('button', { name: 'Add role' }).click();
    await expect.poll(() => page().locator('#error-role-id').textContent()).toBe("Enter the role's id.");
    await page().getByRole('textbox', { name: 'Role id' }).fill('walk-editor');
    await page().getByRole('textbox', { name: 'Name' }).fill('Walk editor');
    await page().getByRole('textbox', { name: 'Permissions' }).fill('users.read\nusers.write');
    await page().getByRole('button', { name: 'Add role' }).click();
    await page().getByRole('cell', { name: 'users.read, users.write' }).waitFor();
    await expectAccessible(page(), 'roles');
    const [walk04] = (await run.service.call('GET', `/users/?_q=${encodeURIComponent(JSON.stringify({ username: 'walk04' }))}`)).body;
    await page().goto(url(`/users/${walk04._id}`));
    await heading(page(), 'User walk04').waitFor();
    await page().getByRole('checkbox', { name: 'Walk editor' }).check();
    await page().getByRole('button', { name: 'Save changes' }).click();
    await page().getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect((await run.service.call('GET', `/users/${walk04._id}`)).body.roles).toEqual(['walk-editor']);
    await page().goto(url('/roles'));
    await page().getByRole('button', { name: 'Delete walk-editor…' }).click();
    await page().getByRole('dialog').getByRole('button', { name: 'Delete role', exact: true }).click();
    await expect.poll(() => page().getByRole('cell', { name: 'walk-editor', exact: true }).count()).toBe(0);
  });

  it('keeps the jobs filter across a reload and the back button', async () => {
    shotOnFailure('walk-jobs');
    const mail = await run.service.call('POST', '/jobs/change-password/bulk', { authUsersIds: ['nobody'] });
    await page().goto(url('/jobs'));
    await heading(page(), 'Jobs').waitFor();
    const status = page().getByRole('combobox', { name: 'Status' });
    await status.selectOption('completed');
    await expect.poll(() => new URL(page().url()).searchParams.get('status')).toBe('completed');
    await page()
      .getByRole('cell', { name: mail.body.jobId })
      .waitFor({ timeout: 5000 })
      .catch(() => page().reload());
    await page().reload();
    await heading(page(), 'Jobs').waitFor();
    expect(await status.inputValue()).toBe('completed');
    await page().goto(url('/users'));
    await page().goBack();
    await heading(page(), 'Jobs').waitFor();
    expect(await status.inputValue()).toBe('completed');
  });

  it('shows a username or e-mail another user has next to its field', async () => {
    shotOnFailure('walk-taken');
    await page().goto(url('/users/new'));
    await heading(page(), 'New user').waitFor();
    await page().getByRole('combobox', { name: 'Group' }).selectOption('customer');
    await page().getByRole('textbox', { name: 'Username' }).fill('walk05');
    await page().getByRole('textbox', { name: 'E-mail' }).fill('walk-taken@example.com');
    await page().getByRole('textbox', { name: 'Name (required)' }).fill('Taken');
    await page().getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => page().locator('#error-username').textContent()).toBe('Another user has this username.');
    expect(await page().getByRole('textbox', { name: 'Username' }).getAttribute('aria-invalid')).toBe('true');
    await page().getByRole('textbox', { name: 'Username' }).fill('walk-taken');
    await page().getByRole('textbox', { name: 'E-mail' }).fill('walk05@example.com');
    await page().getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => page().locator('#error-email').textContent()).toBe('Another user has this e-mail.');
    expect(await page().locator('#error-username').count()).toBe(0);
  });

  it('sends a logged-in administrator who opens the login page on to the console', async () => {
    shotOnFailure('walk-login-again');
    await page().goto(url('/login?next=%2Fjobs'));
    await heading(page(), 'Jobs').waitFor();
    expect(new URL(page().url()).pathname).toBe('/admin/jobs');
    await page().goto(url('/login'));
    await heading(page(), 'Users').waitFor();
  });

  it('says the service is not answering when a login gets no answer, never the browser error', async () => {
    shotOnFailure('walk-login-no-answer');
    const other = await run.context.browser()!.newContext();
    const login = await other.newPage();
    try {
      await login.goto(url('/login'));
      await heading(login, 'Log in to the UMS console').waitFor();
      await login.route('**/graphql', (route) => route.abort('connectionrefused'));
      await login.getByLabel('Username or e-mail').fill('boss');
      await login.getByLabel('Password').fill('Boss-pass-123');
      await login.getByRole('button', { name: 'Log in' }).click();
      await expect.poll(() => login.locator('#login-error').innerText()).toBe(NO_ANSWER_WORDS);
    } finally {
      await other.close();
    }
  });

  it('says in words that another change holds a user, never the service text with its id', async () => {
    shotOnFailure('walk-user-busy');
    const seen = run.problems.length;
    await page().goto(url('/users?q=walk02'));
    await page().getByRole('link', { name: 'walk02' }).click();
    await heading(page(), /User walk02/).waitFor();
    const id = new URL(page().url()).pathname.split('/').pop()!;
    // What the service answers while another write holds the user (a typed ConflictError).
    const busy = { __typename: 'ConflictError', code: 'USER_BUSY', message: `user ${id} is being changed by another request: try again` };
    await page().route('**/graphql', (route) => {
      const body = route.request().postData() ?? '';
      if (body.includes('mutation UpdateUser')) return route.fulfill({ json: { data: { updateUser: busy } } });
      if (body.includes('mutation Register')) return route.fulfill({ json: { data: { registerUser: busy } } });
      return route.fallback();
    });
    const alert = page().locator('main [role="alert"]');
    try {
      await page().getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => alert.first().innerText()).toBe(USER_BUSY_WORDS);
      expect(await page().getByRole('textbox', { name: 'Username' }).inputValue()).toBe('walk02');
      await page().getByRole('button', { name: 'Register (create its identity)' }).click();
      // The form's message stays; the actions' own says the same.
      await expect.poll(async () => (await alert.allInnerTexts()).filter((text) => text === USER_BUSY_WORDS)).toHaveLength(2);
      expect(await page().locator('main').innerText()).not.toContain(id);
    } finally {
      await page().unroute('**/graphql');
    }
    run.problems.length = seen;
  });

  it('says the service is not answering when it is down at a page load, never that the session ended', async () => {
    shotOnFailure('walk-service-down');
    const seen = run.problems.length;
    // What a proxy answers while the service is down: its own text, which the console never shows.
    await page().route('**/graphql', (route) =>
      route.fulfill({ status: 503, contentType: 'text/plain', body: 'upstream connect error or disconnect/reset before headers' }),
    );
    try {
      await page().goto(url('/groups'));
      await expect.poll(() => page().locator('main h1').innerText(), { timeout: 3000 }).toBe('The service is not answering');
      expect(new URL(page().url()).pathname).toBe('/admin/groups');
      expect(await page().locator('main').innerText()).not.toMatch(/upstream|Log in/);
      await expectAccessible(page(), 'service down');
    } finally {
      await page().unroute('**/graphql');
    }
    await page().getByRole('button', { name: 'Try again' }).click();
    await heading(page(), 'Groups').waitFor();
    // The 503s were this case's own.
    run.problems.length = seen;
  });

  it('makes no link in the outbox of a URL a user planted in a mail, only of the service itself', async () => {
    shotOnFailure('walk-outbox-links');
    const planted = 'https://evil.example/password-reset?ticket=planted';
    const created = await run.service.call('POST', '/users/?sendResetPwdEmail=true', {
      userGroup: 'customer',
      username: planted,
      email: 'walk-planted@example.com',
      name: 'Planted',
    });
    expect(created.status).toBe(200);
    await page().goto(url('/outbox'));
    const mail = page().locator('article.mail').first();
    await expect.poll(() => mail.innerText()).toContain(planted);
    const links = await mail.locator('a').evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute('href')));
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(new RegExp(`^${run.service.url}/password-reset\\?ticket=`));
  });

  it('lets no cache keep an API answer, and shows no user after a logout and the back button', async () => {
    shotOnFailure('walk-logout-back');
    const cacheControl: string[] = [];
    const listener = (response: Response) => {
      if (new URL(response.url()).pathname === '/graphql') cacheControl.push(response.headers()['cache-control'] ?? 'none');
    };
    page().on('response', listener);
    await page().goto(url('/users'));
    await expect.poll(rows).toContain('walk01');
    page().off('response', listener);
    expect(cacheControl.length).toBeGreaterThan(0);
    expect(new Set(cacheControl)).toEqual(new Set(['no-store']));
    await page().getByRole('link', { name: 'walk01' }).click();
    await heading(page(), /User walk01/).waitFor();
    await page().getByRole('button', { name: 'Log out' }).click();
    await heading(page(), 'Log in to the UMS console').waitFor();
    await page().goBack();
    await heading(page(), 'Log in to the UMS console').waitFor();
    expect(await page().locator('body').innerText()).not.toContain('walk01');
    await logIn(page());
    await heading(page(), 'Users').waitFor();
  });

  it('is framed by no page of another origin, and refuses its forms and fetches with the cookie', async () => {
    shotOnFailure('walk-other-origin');
    // Another port of the same host: same-site, so the Lax sid cookie goes with its requests.
    const mutation = (roleId: string) => `mutation { saveRole(input: { roleId: "${roleId}", name: "x", permissions: [] }) { __typename } }`;
    const html = `<!doctype html><title>elsewhere</title>
      <iframe id="console" src="${url('/users')}"></iframe>
      <iframe id="graphiql" src="${run.service.url}/graphql"></iframe>
      <iframe name="sink"></iframe>
      <form id="form" method="post" action="${run.service.url}/graphql" enctype="text/plain" target="sink">
        <input name='${JSON.stringify({ query: mutation('csrf-form'), x: '' }).slice(0, -2)}' value='"}'>
      </form>
      <script>
        fetch(${JSON.stringify(`${run.service.url}/graphql`)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
          headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(JSON.stringify({ query: mutation('csrf-fetch') }))} });
        document.getElementById('form').submit();
      </script>`;
    const elsewhere = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const attacker = await run.context.newPage();
    const posts: number[] = [];
    attacker.on('response', (response) => {
      if (response.request().method() === 'POST' && response.url() === `${run.service.url}/graphql`) posts.push(response.status());
    });
    try {
      await attacker.goto(`http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/`);
      await expect.poll(() => posts.length).toBe(2);
      expect(posts).toEqual([403, 403]);
      // The console and GraphiQL: neither is shown inside the other origin's page.
      const framed = attacker.frames().filter((frame) => frame.name() !== 'sink' && frame.url().startsWith(run.service.url));
      expect(framed.map((frame) => frame.url())).toEqual([]);
      const { data } = await run.service.graphql('{ roles { roleId } }');
      expect(data.roles.map((role: { roleId: string }) => role.roleId)).not.toContain('csrf-form');
      expect(data.roles.map((role: { roleId: string }) => role.roleId)).not.toContain('csrf-fetch');
    } finally {
      await attacker.close();
      elsewhere.close();
    }
  });

  it('shows markup in users, groups, roles and mail as text, never as elements', async () => {
    shotOnFailure('walk-hostile-data');
    const hostile = '<img src=x id=pwn-img onerror="window.pwned=1">"><svg id=pwn-svg onload="window.pwned=2">';
    const context = { actorId: 'test', headers: {} };
    await run.service.deps.groups.saveGroup(
      {
        userGroup: 'walk-hostile',
        label: hostile,
        crudSchema: { type: 'object', properties: { name: { type: 'string', title: hostile, description: hostile } } },
        authUserCreationDisabled: false,
      },
      context,
    );
    const created = await run.service.call('POST', '/users/?sendResetPwdEmail=true', {
      userGroup: 'walk-hostile',
      username: `walk-${hostile}`,
      email: 'walk-hostile@example.com',
      name: hostile,
    });
    expect(created.status).toBe(200);
    const role = await run.service.graphql('mutation($input: RoleInput!) { saveRole(input: $input) { __typename } }', {
      input: { roleId: 'walk-hostile', name: hostile, permissions: ['javascript:alert(1)'] },
    });
    expect(role.errors).toBeUndefined();
    await run.service.deps.mailer.send({
      to: 'walk-hostile@example.com',
      subject: hostile,
      text: `${hostile} javascript:alert(1)`,
      html: hostile,
    });
    for (const [path, shown] of [
      ['/users?q=walk-%3C', `walk-${hostile}`],
      [`/users/${created.body._id}`, hostile],
      ['/groups', hostile],
      ['/groups/walk-hostile', hostile],
      ['/roles', hostile],
      ['/outbox', hostile],
    ] as const) {
      await page().goto(url(path));
      // What the page shows, its fields' values too (a group's label is edited in one).
      const shownText = () =>
        page()
          .locator('main')
          .evaluate((main) =>
            [
              (main as HTMLElement).innerText,
              ...[...main.querySelectorAll('input, textarea')].map((field) => (field as HTMLInputElement).value),
            ].join('\n'),
          );
      await expect.poll(shownText, { message: path }).toContain(shown);
      expect(await page().locator('#pwn-img, #pwn-svg, [onerror], [onload]').count(), path).toBe(0);
      expect(await page().evaluate(() => (window as { pwned?: number }).pwned), path).toBeUndefined();
      const links = await page()
        .locator('a')
        .evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute('href') ?? ''));
      expect(
        links.filter((href) => /^\s*(javascript|data|vbscript):/i.test(href)),
        path,
      ).toEqual([]);
    }
  });

  it.each([
    ['blocked', (id: string) => run.service.call('PATCH', `/users/${id}`, { blocked: true })],
    [
      'moved out of the administrators',
      (id: string) => run.service.call('PATCH', `/users/${id}`, { userGroup: 'customer', name: 'Demoted' }),
    ],
    // Its password changed from another client: every other session of the account ends.
    [
      'given a new password',
      async (id: string) => {
        const { username } = (await run.service.call('GET', `/users/${id}`)).body as { username: string };
        const login = await run.service.call('POST', '/oauth/token', { username, password: 'Admin-pass-123' }, { 'x-api-key': '' });
        const bearer = { 'x-api-key': '', authorization: `Bearer ${login.body.accessToken}` };
        const changed = await run.service.graphql(
          'mutation { changeOwnPassword(currentPassword: "Admin-pass-123", newPassword: "Another-pass-456") { __typename } }',
          undefined,
          bearer,
        );
        expect(changed.data.changeOwnPassword.__typename).toBe('MutationChangeOwnPasswordSuccess');
        return { status: 200 };
      },
    ],
  ])('shows no data to an administrator whose session the service ended: %s', async (change, end) => {
    shotOnFailure(`walk-session-${change.replace(/ /g, '-')}`);
    const name = `walk-admin-${change.split(' ')[0]}`;
    const created = await run.service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'admin',
      username: name,
      email: `${name}@example.com`,
      password: 'Admin-pass-123',
    });
    expect(created.status).toBe(200);
    const other = await run.context.browser()!.newContext();
    const second = await other.newPage();
    try {
      await second.goto(url('/users'));
      await second.getByLabel('Username or e-mail').fill(name);
      await second.getByLabel('Password').fill('Admin-pass-123');
      await second.getByRole('button', { name: 'Log in' }).click();
      await heading(second, 'Users').waitFor();
      expect((await end(created.body._id)).status).toBeLessThan(300);
      await second.getByRole('link', { name: 'Groups' }).click();
      await expect.poll(() => second.locator('h1').innerText()).toBe('Log in to the UMS console');
      expect(await second.locator('body').innerText()).not.toContain('walk01');
    } finally {
      await other.close();
    }
  });

  it('goes nowhere outside the console after a login, whatever its next', async () => {
    shotOnFailure('walk-login-next');
    for (const next of [
      'https://evil.example/',
      '//evil.example/',
      '/\\evil.example/',
      '/%2F/evil.example/',
      'javascript:alert(1)',
      '/../../evil',
    ]) {
      await page().goto(url(`/login?next=${encodeURIComponent(next)}`));
      await expect.poll(() => new URL(page().url()).pathname, { message: next }).not.toBe('/admin/login');
      expect(new URL(page().url()).origin, next).toBe(run.service.url);
      expect(new URL(page().url()).pathname.startsWith('/admin/'), next).toBe(true);
    }
  });

  it('met no script error, console error or failed request on any page walked', () => {
    expect(run.problems).toEqual([]);
  });
});
