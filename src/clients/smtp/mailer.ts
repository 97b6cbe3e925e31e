import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { Mail, Mailer } from '../../ports/mailer.js';
import { UpstreamError } from '../../errors.js';

/** Real e-mail through the SMTP server of `SMTP_URL` (e.g. smtp://user:pass@mail.example.com:587). */
export function createSmtpMailer({ url, from, logger }: { url: string; from: string; logger: Logger }): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    async send(mail: Mail) {
      try {
        const info = await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
        logger.info({ to: mail.to, subject: mail.subject, messageId: info.messageId }, 'mail sent');
      } catch (error) {
        // The SMTP server's reply text stays in the log (with the cause); the answer names its code only.
        const code = (error as { responseCode?: number; code?: string }).responseCode ?? (error as { code?: string }).code;
        throw new UpstreamError('SMTP', 'sendMail', 0, { cause: error, message: `SMTP sendMail failed${code ? ` (${code})` : ''}` });
      }
    },
  };
}
