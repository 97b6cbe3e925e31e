import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * The password-reset page: its URL holds a ticket that sets a password, so nothing may cache,
 * frame or leak it, and a dead link must not look like a working form.
 */
const anonymous = { 'x-api-key': '' };
let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false', PASSWORD_RESET_IP_MAX_ATTEMPTS: '1000' } });
  await seedGroups(service);
});
afterAll(() => service.close());

async function liveTicket(): Promise<string> {
  counter += 1;
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: `page${counter}`,
    email: `page${counter}@example.com`,
    name: 'P',
    password: 'Old-password-1',
  });
  const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
  expect((await service.call('POST', '/users/change-password', { authUserId })).status).toBe(204);
  const outbox = (await service.graphql('{ mailOutbox { text } }')).data.mailOutbox as { text: string }[];
  return /\/password-reset\?ticket=([\w-]+)/.exec(outbox[0]!.text)![1]!;
}

const page = (ticket: string) => fetch(`${service.url}/password-reset?ticket=${encodeURIComponent(ticket)}`);
const postForm = (fields: Record<string, string>, url = service.url) =>
  fetch(`${url}/password-reset`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });

function expectPageHeaders(res: Response): void {
  expect(res.headers.get('content-type')).toContain('text/html');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("default-src 'none'");
  expect(csp).not.toContain('unsafe-inline');
}

describe('the reset page', () => {
  it('shows the form for a live ticket, with headers that keep the ticket from caches, frames and referrers', async () => {
    const res = await page(await liveTicket());
    expect(res.status).toBe(200);
    expectPageHeaders(res);
    expect(await res.text()).toContain('<form method="post" action="/password-reset">');
  });

  it('shows an error page, not the form, for a forged, a missing or a used ticket', async () => {
    const used = await liveTicket();
    expect((await service.call('POST', '/password-reset', { ticket: used, password: 'New-password-2' }, anonymous)).status).toBe(204);
    for (const res of [await page('forged-ticket'), await page(used), await fetch(`${service.url}/password-reset`)]) {
      expect([400, 404]).toContain(res.status);
      expectPageHeaders(res);
      const html = await res.text();
      expect(html).not.toContain('<form');
      expect(html).toContain('role="alert"');
    }
  });

  it('answers a form post in HTML: a dead ticket without the form, a weak password with it', async () => {
    const forged = await postForm({ ticket: 'forged-ticket', password: 'New-password-2' });
    expect(forged.status).toBe(400);
    expectPageHeaders(forged);
    expect(await forged.text()).not.toContain('<form');

    const weak = await postForm({ ticket: await liveTicket(), password: 'short' });
    expect(weak.status).toBe(400);
    expectPageHeaders(weak);
    const html = await weak.text();
    expect(html).toContain('<form');
    expect(html).toContain('at least 8');

    const missing = await postForm({ password: 'New-password-2' });
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toContain('text/html');
  });

  it('keeps JSON answers for JSON posts', async () => {
    const res = await service.call('POST', '/password-reset', { ticket: 'forged-ticket', password: 'New-password-2' }, anonymous);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('answers a throttled form post with an HTML 429 and Retry-After', async () => {
    const throttled = await startService({ env: { PASSWORD_RESET_IP_MAX_ATTEMPTS: '2' } });
    try {
      const answers = [];
      for (let round = 0; round < 3; round += 1)
        answers.push(await postForm({ ticket: `forged-${round}`, password: 'New-password-2' }, throttled.url));
      expect(answers.map((res) => res.status)).toEqual([400, 400, 429]);
      expectPageHeaders(answers[2]!);
      expect(Number(answers[2]!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await answers[2]!.text()).toContain('Too many password-reset attempts');
    } finally {
      await throttled.close();
    }
  });
});
