import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { inRequest } from '../../src/deadline.js';
import { createLogger } from '../../src/observability/logger.js';

/** The logger main.ts uses: secrets under the names they travel by are redacted, wherever a line is logged from. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination: sink }), lines };
}

describe('createLogger', () => {
  it('redacts passwords, tokens, tickets, API keys, cookies and authorization headers, at the top and one level down', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        password: 'p1',
        input: { password: 'p2', newPassword: 'p3', ticket: 't1', refreshToken: 'r1' },
        tokens: { accessToken: 'a1', refreshToken: 'r2', sessionCookie: 'c1' },
        headers: { authorization: 'Bearer a2', cookie: 'sid=c2', 'x-api-key': 'k1', 'set-cookie': 'sid=c3' },
        req: { headers: { authorization: 'Bearer a3', cookie: 'sid=c4', 'x-api-key': 'k2' } },
        client_secret: 's1',
        username: 'kept',
      },
      'line',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['p1', 'p2', 'p3', 't1', 'r1', 'r2', 'a1', 'a2', 'a3', 'c1', 'c2', 'c3', 'c4', 'k1', 'k2', 's1']) {
      expect(text).not.toContain(`"${secret}"`);
      expect(text).not.toContain(` ${secret}`);
    }
    expect(lines[0]).toMatchObject({ password: '[Redacted]', input: { ticket: '[Redacted]' }, username: 'kept' });
  });

  it('writes the request id on every line written while a request is served, and none outside', () => {
    const { logger, lines } = capture();
    inRequest({ at: Date.now() + 1000, id: 'req-9' }, () => logger.warn({ detail: 1 }, 'inside'));
    logger.info('outside');
    expect(lines[0]).toMatchObject({ reqId: 'req-9', detail: 1, msg: 'inside' });
    expect(lines[1]).not.toHaveProperty('reqId');
  });
});
