import type { Mail } from '../ports/mailer.js';
import { escapeHtml } from '../domain/html.js';

/** The password-reset e-mail: a link to this service's reset page, carrying the ticket. */
export function resetMail(input: { to: string; username: string; ticket: string; baseUrl: string; ttlSeconds: number }): Mail {
  const link = `${input.baseUrl.replace(/\/$/, '')}/password-reset?ticket=${encodeURIComponent(input.ticket)}`;
  const minutes = Math.round(input.ttlSeconds / 60);
  return {
    to: input.to,
    subject: 'Set your password',
    text: [
      `Hello ${input.username},`,
      '',
      'Choose a new password by opening this link:',
      link,
      '',
      `The link works once and expires in ${minutes} minutes.`,
    ].join('\n'),
    html: `<p>Hello ${escapeHtml(input.username)},</p><p><a href="${escapeHtml(link)}">Choose a new password</a>.</p><p>The link works once and expires in ${minutes} minutes.</p>`,
  };
}
