import { useEffect, useState } from 'preact/hooks';
import { request } from '../lib/client.js';
import { graphql, type ResultOf } from '../lib/graphql.js';

const OUTBOX = graphql(`
  query Outbox($offset: Int) {
    mailOutbox(first: 25, offset: $offset) {
      id
      to
      subject
      text
      createdAt
    }
  }
`);

/**
 * Whether a URL of a mail is the service's own (a reset link). A mail's text holds what users chose
 * (a username of `https://evil.example/password-reset?ticket=…` is in the greeting): only this
 * service's links are made clickable, any other URL stays text.
 */
function isOwnLink(text: string): boolean {
  try {
    return new URL(text).origin === location.origin;
  } catch {
    return false;
  }
}

/** The text of a mail with the service's links clickable (a reset link, for a local administrator to follow). */
function MailText({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/[^\s<>"]+)/g);
  return (
    <pre>
      {parts.map((part, index) =>
        index % 2 === 1 && isOwnLink(part) ? (
          <a key={index} href={part}>
            {part}
          </a>
        ) : (
          part
        ),
      )}
    </pre>
  );
}

/** Embedded mode: the mail the service would have sent (no SMTP_URL), newest first. */
export function Outbox() {
  const [offset, setOffset] = useState(0);
  const [mails, setMails] = useState<ResultOf<typeof OUTBOX>['mailOutbox']>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    request(OUTBOX, { offset }).then(
      ({ mailOutbox }) => setMails(mailOutbox),
      (caught: Error) => setError(caught.message),
    );
  }, [offset]);
  return (
    <>
      <h1 tabIndex={-1}>Mail outbox</h1>
      <p>Mail kept by the embedded mode instead of being sent. With SMTP_URL set, mail goes out and this list stays empty.</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {mails?.length === 0 && <p>No mail.</p>}
      {mails?.map((mail) => (
        <article key={mail.id} class="mail" aria-labelledby={`mail-${mail.id}`}>
          <h2 id={`mail-${mail.id}`}>{mail.subject}</h2>
          <p>
            To {mail.to}, {new Date(mail.createdAt).toLocaleString()}
          </p>
          <MailText text={mail.text} />
        </article>
      ))}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 25))}>
          Newer mail
        </button>
        <button type="button" disabled={(mails?.length ?? 0) < 25} onClick={() => setOffset(offset + 25)}>
          Older mail
        </button>
      </nav>
    </>
  );
}
