import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelSender } from './channel-sender.js';
import { channelError, settingPath } from './channel-sender.js';
import type { NotificationMessage } from './message.js';

/** HTML-escapes text for an e-mail body. */
export function htmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A message as a plain-text e-mail body. */
export function emailText(m: NotificationMessage): string {
  return [
    m.title,
    '',
    `Who:      ${m.who}`,
    `What:     ${m.what}`,
    `Tier:     ${m.tier ?? 'not classified'}`,
    `Why:      ${m.why || '-'}`,
    `Severity: ${m.severity}`,
    '',
    `${m.linkText}: ${m.link}`,
    '',
    `Sent by Warden to ${m.role} (${m.type}, ${m.at}). Approvals are given only in Warden after signing in, never by replying to this e-mail.`,
  ].join('\n');
}

function emailHtml(m: NotificationMessage): string {
  const row = (k: string, v: string) => `<tr><th align="left">${htmlEscape(k)}</th><td>${htmlEscape(v)}</td></tr>`;
  return `<p><strong>${htmlEscape(m.title)}</strong></p><table>${row('Who', m.who)}${row('What', m.what)}${row('Tier', m.tier ?? 'not classified')}${row('Why', m.why || '-')}${row('Severity', m.severity)}</table><p><a href="${htmlEscape(m.link)}">${htmlEscape(m.linkText)}</a></p><p><small>Sent by Warden to ${htmlEscape(m.role)}. Approvals are given only in Warden after signing in, never by replying to this e-mail.</small></p>`;
}

export interface EmailChannelOptions {
  tenant: string;
  name: string;
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  user?: string;
  password?: () => string;
  from: string;
  timeoutMs?: number;
  /** Extra TLS options (tests trust their sink's certificate). */
  tls?: Record<string, unknown>;
}

/** An e-mail to send: subject, plain text and optional HTML. */
export interface EmailContent {
  subject: string;
  text: string;
  html?: string;
}

/**
 * Sends e-mail over SMTP with `nodemailer`. A 5xx reply to a recipient or an
 * authentication failure is permanent (the address or the credentials are
 * wrong); connection problems and 4xx replies are retried.
 *
 * @see https://nodemailer.com/smtp/
 */
export class EmailChannel implements ChannelSender {
  readonly type = 'email';
  readonly name: string;
  readonly #transport: Transporter;

  constructor(private readonly options: EmailChannelOptions) {
    this.name = options.name;
    const timeout = options.timeoutMs ?? 15_000;
    this.#transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: options.requireTls && !options.secure,
      ignoreTLS: !options.requireTls && !options.secure,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      ...(options.user ? { auth: { user: options.user, pass: options.password?.() ?? '' } } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    });
  }

  async send(message: NotificationMessage, to: readonly string[]): Promise<void> {
    await this.sendEmail(to, { subject: `[Warden] ${message.title}`, text: emailText(message), html: emailHtml(message) });
  }

  /** Sends any e-mail through this channel (the "this wasn't me" notice uses it). */
  async sendEmail(to: readonly string[], content: EmailContent): Promise<void> {
    const { tenant, name } = this.options;
    if (to.length === 0)
      throw channelError(`e-mail channel ${name} has no recipient`, { permanent: true, setting: `tenants[${tenant}].notifications.routes[].to` });
    try {
      await this.#transport.sendMail({
        from: this.options.from,
        to: [...to],
        subject: content.subject,
        text: content.text,
        ...(content.html ? { html: content.html } : {}),
      });
    } catch (err) {
      const e = err as Error & { code?: string; responseCode?: number };
      if (e.code === 'EAUTH')
        throw channelError(
          `the SMTP server refused the credentials: check ${settingPath(tenant, name, 'user')} and ${settingPath(tenant, name, 'password')}`,
          { permanent: true, setting: settingPath(tenant, name, 'password') },
          err,
        );
      if (e.code === 'ETLS' || (e.code === 'ESOCKET' && /tls|ssl|certificate/i.test(e.message)))
        throw channelError(
          `TLS with the SMTP server failed (${e.message}): check ${settingPath(tenant, name, 'secure')} and ${settingPath(tenant, name, 'requireTls')}`,
          { permanent: false, setting: settingPath(tenant, name, 'secure') },
          err,
        );
      if (typeof e.responseCode === 'number' && e.responseCode >= 500)
        throw channelError(`the SMTP server refused the message (${e.responseCode}): ${e.message}`, { permanent: true }, err);
      throw channelError(`cannot send through ${settingPath(tenant, name, 'host')}: ${e.message}`, { permanent: false }, err);
    }
  }

  close(): void {
    this.#transport.close();
  }
}
