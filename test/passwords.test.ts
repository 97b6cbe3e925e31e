import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from './helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from './helpers/service.js';

const anonymous = { 'x-api-key': '' };

/** A real SMTP server on 127.0.0.1 that keeps what it receives. */
async function startSmtp() {
  const received: { to: string; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { received, url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The reset link of a message (quoted-printable soft breaks undone). */
function resetLink(raw: string): string {
  const text = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  return /http:\/\/[^\s"<]+\/password-reset\?ticket=[\w%-]+/.exec(text)![0];
}

describe('password reset by e-mail (SMTP)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let service: TestService;

  beforeAll(async () => {
    smtp = await startSmtp();
    service = await startService({ env: { SMTP_URL: smtp.url, MAIL_FROM: 'UMS <ums@example.com>' } });
    await seedGroups(service);
  });
  afterAll(async () => {
    await service.close();
    await smtp.close();
  });

  it('sends the e-mail on creation, and the link sets a password that logs in (once)', async () => {
    const created = await service.call('POST', '/users/', {
      userGroup: 'customer',
      username: 'mailed',
      email: 'mailed@example.com',
      name: 'M',
    });
    expect(created.status).toBe(200);
    await expect.poll(() => smtp.received.length).toBe(1);
    expect(smtp.received[0]!.to).toBe('mailed@example.com');
    const link = resetLink(smtp.received[0]!.raw);
    const url = new URL(link);
    expect(url.origin).toBe(service.deps.config.UMS_BASE_URL);

    const page = await fetch(`${service.url}${url.pathname}${url.search}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/password-reset">');
    const ticket = url.searchParams.get('ticket')!;

    const post = (password: string) =>
      fetch(`${service.url}/password-reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ticket, password }),
      });
    const weak = await post('short');
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain('at least 8');

    const done = await post('New-Passw0rd!');
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Password changed');

    const login = (password: string) => service.call('POST', '/oauth/token', { username: 'mailed', password }, anonymous);
    expect((await login('New-Passw0rd!')).status).toBe(200);
    expect((await login('Other-Passw0rd!')).status).toBe(401);
    expect((await post('Again-Passw0rd!')).status).toBe(400);
    expect((await login('Again-Passw0rd!')).status).toBe(401);
  });

  it('does not send it when sendResetPwdEmail=false', async () => {
    const before = smtp.received.length;
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'quiet',
      email: 'quiet@example.com',
      name: 'Q',
    });
    // A user created after it gets its e-mail: once that one arrived, the first one would have too.
    await service.call('POST', '/users/', { userGroup: 'customer', username: 'loud', email: 'loud@example.com', name: 'L' });
    await expect.poll(() => smtp.received.some((mail) => mail.to === 'loud@example.com')).toBe(true);
    expect(smtp.received.slice(before).map((mail) => mail.to)).toEqual(['loud@example.com']);
  });
});

describe('POST /users/change-password and the outbox', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
    await seedGroups(service);
  });
  afterAll(() => service.close());

  const outbox = async () =>
    (await service.graphql('{ mailOutbox { to subject text } }')).data.mailOutbox as { to: string; text: string }[];

  it('answers 204 and keeps the e-mail in the outbox (no SMTP_URL); JSON reset works too', async () => {
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'cp',
      email: 'cp@example.com',
      name: 'C',
      password: 'First-pass-1',
    });
    const { authUserId } = (await service.call('GET', `/users/${created.body._id}`)).body;
    const res = await service.call('POST', '/users/change-password', { authUserId });
    expect(res.status).toBe(204);
    const [mail] = await outbox();
    expect(mail).toMatchObject({ to: 'cp@example.com', subject: 'Set your password' });
    const ticket = new URL(resetLink(mail!.text)).searchParams.get('ticket')!;
    expect((await service.call('POST', '/password-reset', { ticket, password: 'alllowercase' }, anonymous)).status).toBe(400);
    expect((await service.call('POST', '/password-reset', { ticket, password: 'Second-pass-2' }, anonymous)).status).toBe(204);
    expect((await service.call('POST', '/oauth/token', { username: 'cp', password: 'Second-pass-2' }, anonymous)).status).toBe(200);
  });

  it('lets users ask for themselves only; unknown users are 404', async () => {
    await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'self',
      email: 'self@example.com',
      name: 'S',
      password: 'Self-pass-1',
    });
    const other = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'other',
      email: 'other@example.com',
      name: 'O',
    });
    const otherAuth = (await service.call('GET', `/users/${other.body._id}`)).body.authUserId;
    const token = (await service.call('POST', '/oauth/token', { username: 'self', password: 'Self-pass-1' }, anonymous)).body.accessToken;
    const self = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub;
    const asSelf = { ...anonymous, authorization: `Bearer ${token}` };
    expect((await service.call('POST', '/users/change-password', { authUserId: self }, asSelf)).status).toBe(204);
    expect((await service.call('POST', '/users/change-password', { authUserId: otherAuth }, asSelf)).status).toBe(403);
    expect((await service.call('POST', '/users/change-password', { authUserId: self }, anonymous)).status).toBe(401);
    expect((await service.call('POST', '/users/change-password', { authUserId: 'ums|nobody' })).status).toBe(404);
    expect((await service.call('POST', '/users/change-password', {})).status).toBe(400);
  });

  it('refuses an expired ticket', async () => {
    const clock = new FakeClock();
    const short = await startService({ clock, env: { RESET_TICKET_TTL: '1' } });
    try {
      await seedGroups(short);
      await short.call('POST', '/users/', { userGroup: 'customer', username: 'late', email: 'late@example.com', name: 'L' });
      const [mail] = (await short.graphql('{ mailOutbox { to text } }')).data.mailOutbox as { text: string }[];
      const ticket = new URL(resetLink(mail!.text)).searchParams.get('ticket')!;
      expect((await fetch(`${short.url}/password-reset?ticket=${ticket}`)).status).toBe(200);
      // The ticket (1 s) runs out: 1 s later on the service's clock, no sleep.
      await clock.advance(1000);
      const res = await short.call('POST', '/password-reset', { ticket, password: 'Late-pass-11' }, anonymous);
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('expired');
    } finally {
      await short.close();
    }
  });

  it('sends the e-mail when a postponed user is registered, unless sendResetPwdEmail=false', async () => {
    const later = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'reg-mail',
      email: 'reg-mail@example.com',
      name: 'R',
    });
    expect((await service.call('POST', '/users/register', { _id: later.body._id })).status).toBe(204);
    expect((await outbox()).some((m) => m.to === 'reg-mail@example.com')).toBe(true);
    const quiet = await service.call('POST', '/users/?postponeAuthUserCreation=true', {
      userGroup: 'customer',
      username: 'reg-quiet',
      email: 'reg-quiet@example.com',
      name: 'Q',
    });
    expect((await service.call('POST', '/users/register?sendResetPwdEmail=false', { _id: quiet.body._id })).status).toBe(204);
    expect((await outbox()).some((m) => m.to === 'reg-quiet@example.com')).toBe(false);
  });

  it('the outbox is for administrators only', async () => {
    const res = await service.graphql('{ mailOutbox { to } }', undefined, anonymous);
    expect(res.errors?.[0].extensions.code).toBe('UNAUTHORIZED');
  });
});
