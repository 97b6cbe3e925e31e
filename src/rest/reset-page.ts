import { createHash } from 'node:crypto';
import { PASSWORD_POLICY } from '../domain/password-policy.js';
import { escapeHtml } from '../domain/html.js';

/** An HTML answer (the password-reset page) instead of JSON. */
export class HtmlPage {
  constructor(
    readonly html: string,
    readonly status = 200,
    readonly headers?: Readonly<Record<string, string>>,
  ) {}
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:1rem 0}
input[type=password]{display:block;width:100%;padding:.5rem;margin-top:.25rem}.hint{color:#555;font-size:.9rem}.error{color:#b00020}
button{padding:.5rem 1rem}`;

/**
 * The reset page's URL holds a ticket that sets the password: nothing may keep it (caches, the
 * Referer of a later request), frame it, or run on it. The page's one inline style is allowed by
 * its hash; no script, no other origin, and the form posts only to this service.
 */
export const RESET_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': [
    "default-src 'none'",
    `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; '),
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

/** What a dead reset link shows instead of the form. */
export const INVALID_RESET_LINK = 'This reset link is invalid, expired or already used. Ask for a new password e-mail.';

/** The page the reset e-mail links to: a form posting the ticket and the new password. */
export function resetForm(ticket: string, error?: string): HtmlPage {
  return new HtmlPage(
    page(
      'Choose a new password',
      `${alert(error)}
      <form method="post" action="/password-reset">
        <input type="hidden" name="ticket" value="${escapeHtml(ticket)}">
        <label>New password <input type="password" name="password" autocomplete="new-password" required minlength="8" maxlength="128"></label>
        <p class="hint">The password needs ${escapeHtml(PASSWORD_POLICY)}.</p>
        <button type="submit">Set password</button>
      </form>`,
    ),
    error ? 400 : 200,
  );
}

export function resetDone(): HtmlPage {
  return new HtmlPage(page('Password changed', '<p>Your password has been changed. You can now log in with it.</p>'));
}

/** A problem with no form to show again (a dead link, too many attempts, an outage). */
export function resetError(status: number, message: string, headers?: Record<string, string>): HtmlPage {
  return new HtmlPage(page('Password not changed', alert(message)), status, headers);
}

function alert(message: string | undefined): string {
  return message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '';
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}
