import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { Mail, Mailer } from '../../ports/mailer.js';
import { UpstreamError } from '../../errors.js';
import type { UpstreamMetrics, UpstreamOutcome } from '../../ports/metrics.js';

interface SmtpOptions {
  url: string;
  from: string;
  logger: Logger;
  metrics?: UpstreamMetrics;
}

/** Real e-mail through the SMTP server of `SMTP_URL` (e.g. smtp://user:pass@mail.example.com:587). */
export function createSmtpMailer({ url, from, logger, metrics }: SmtpOptions): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    async send(mail: Mail) {
      const started = performance.now();
      const observe = (outcome: UpstreamOutcome) => metrics?.upstreamCall('SMTP', outcome, (performance.now() - started) / 1000);
      try {
        const info = await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
        observe('success');
        logger.info({ to: mail.to, subject: mail.subject, messageId: info.messageId }, 'mail sent');
      } catch (error) {
        // The SMTP server's reply text stays in the log (with the cause); the answer names its code only.
        const code = (error as { responseCode?: number; code?: string }).responseCode ?? (error as { code?: string }).code;
        // A reply code is a refusal by a server that answered; anything else, one that could not be reached.
        observe(typeof code === 'number' ? 'server_error' : 'unreachable');
        throw new UpstreamError('SMTP', 'sendMail', 0, { cause: error, message: `SMTP sendMail failed${code ? ` (${code})` : ''}` });
      }
    },
  };
}
