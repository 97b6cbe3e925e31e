import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/embedded/db.js';
import { Outbox } from '../../../src/embedded/outbox.js';

/** What src/embedded/outbox.ts keeps (OUTBOX_KEPT). */
const OUTBOX_KEPT = 10_000;

/**
 * Without SMTP_URL every mail is kept in the embedded file, and nothing removed one: a user asking
 * for its own password e-mail at the throttle's pace (5 an hour), every user alike, grew the file
 * for good. The outbox keeps its newest OUTBOX_KEPT messages.
 */
describe('the embedded outbox', () => {
  it('keeps its newest messages, however many were sent', async () => {
    const db = openDatabase(':memory:');
    const outbox = new Outbox(db, pino({ level: 'silent' }));
    const sent = OUTBOX_KEPT + 250;
    for (let index = 0; index < sent; index += 1) {
      await outbox.send({ to: `u${index}@example.com`, subject: `Reset ${index}`, text: `link ${index}` });
    }
    const rows = (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    expect(rows).toBeGreaterThanOrEqual(OUTBOX_KEPT);
    expect(rows).toBeLessThan(OUTBOX_KEPT + 100);
    const [newest] = outbox.list({ limit: 1, offset: 0 });
    expect(newest).toMatchObject({ to: `u${sent - 1}@example.com`, subject: `Reset ${sent - 1}` });
    db.close();
  });
});
