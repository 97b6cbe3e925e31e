import { PASSWORD_POLICY } from '../domain/password-policy.js';
import { escapeHtml } from '../domain/html.js';

/** An HTML answer (the password-reset page) instead of JSON. */
export class HtmlPage {
  constructor(
    readonly html: string,
    readonly status = 200,
  ) {}
}

/** The page the reset e-mail links to: a form posting the ticket and the new password. */
export function resetForm(ticket: string, error?: string): HtmlPage {
  const message = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';
  return new HtmlPage(
    page(
      'Choose a new password',
      `${message}
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

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:1rem 0}
input[type=password]{display:block;width:100%;padding:.5rem;margin-top:.25rem}.hint{color:#555;font-size:.9rem}.error{color:#b00020}
button{padding:.5rem 1rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}
