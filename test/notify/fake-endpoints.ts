import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * Local stand-ins for Slack's Web API, a Teams Workflows webhook and an SMTP
 * server, on 127.0.0.1 with ephemeral ports. No vitest import: the fakes
 * record what arrived and answer what the test queued.
 */

const fixture = (name: string) => readFileSync(new URL(`../fixtures/slack/${name}`, import.meta.url), 'utf8');

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An answer a fake gives: status, headers and body (default: success). */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** An HTTP server that records requests and answers from a queue (then `fallback`). */
export class FakeHttp {
  readonly received: Received[] = [];
  readonly answers: Answer[] = [];
  #server?: http.Server;
  url = '';

  constructor(private readonly fallback: () => Answer) {}

  async start(): Promise<this> {
    this.#server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        this.received.push({ path: req.url ?? '', headers: req.headers, body });
        const a = this.answers.shift() ?? this.fallback();
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/** Slack's Web API: `chat.postMessage` answered with the documented success payload unless told otherwise. */
export function fakeSlack(): FakeHttp {
  return new FakeHttp(() => ({ status: 200, body: fixture('chat-postMessage-ok.json') }));
}

/** Slack answers: an error payload, or rate limiting. */
export const slackAnswers = {
  invalidAuth: (): Answer => ({ status: 200, body: fixture('chat-postMessage-error-invalid_auth.json') }),
  rateLimited: (seconds: number): Answer => ({
    status: 429,
    headers: { 'retry-after': String(seconds) },
    body: JSON.stringify({ ok: false, error: 'ratelimited' }),
  }),
};

/** A Teams Workflows webhook: 202 Accepted with no body, as the Workflows trigger answers. */
export function fakeTeams(): FakeHttp {
  return new FakeHttp(() => ({ status: 202 }));
}

/** A form-encoded Slack call's fields (the SDK posts `application/x-www-form-urlencoded`, objects as JSON). */
export function slackFields(r: Received): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(r.body));
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** Decodes quoted-printable soft breaks and escapes, enough to read a text part. */
export function readableMail(raw: string): string {
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** An SMTP sink (`smtp-server`): accepts every message, no TLS, no auth; `reject` makes it answer 451 (try later) to the next messages. */
export class SmtpSink {
  readonly mails: Mail[] = [];
  reject = 0;
  #server?: SMTPServer;
  port = 0;

  async start(): Promise<this> {
    this.#server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, callback) => {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          if (this.reject > 0) {
            this.reject--;
            const err = Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 });
            return callback(err);
          }
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: readableMail(raw),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.#server.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
