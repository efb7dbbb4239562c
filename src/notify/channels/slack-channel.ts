import { ErrorCode, WebClient, type WebAPICallError } from '@slack/web-api';
import type { ChannelSender } from './channel-sender.js';
import { channelError, settingPath } from './channel-sender.js';
import type { NotificationMessage } from './message.js';

/** Slack's answers that no retry fixes: the token or the conversation is wrong. */
const PERMANENT: Readonly<Record<string, string>> = {
  invalid_auth: 'token',
  not_authed: 'token',
  account_inactive: 'token',
  token_revoked: 'token',
  token_expired: 'token',
  missing_scope: 'token',
  channel_not_found: 'conversation',
  not_in_channel: 'conversation',
  is_archived: 'conversation',
};

const EMOJI: Record<NotificationMessage['severity'], string> = {
  info: ':information_source:',
  low: ':large_blue_circle:',
  medium: ':large_yellow_circle:',
  high: ':red_circle:',
  critical: ':rotating_light:',
};

/** Escapes Slack's control characters in mrkdwn text (`&`, `<`, `>`), so event data cannot inject links or mentions. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The Block Kit blocks of a message: a header, the who / what / tier / why
 * fields, and a link button. No button acts: approval happens only in
 * Warden after IdP sign-in with step-up (docs/notifications.md).
 *
 * @see https://docs.slack.dev/reference/block-kit/blocks
 */
export function slackBlocks(m: NotificationMessage): unknown[] {
  const field = (label: string, value: string) => ({ type: 'mrkdwn', text: `*${label}*\n${slackEscape(value)}` });
  return [
    { type: 'header', text: { type: 'plain_text', text: m.title.slice(0, 150), emoji: false } },
    {
      type: 'section',
      fields: [field('Who', m.who), field('What', m.what), field('Tier', m.tier ?? 'not classified'), field('Severity', `${EMOJI[m.severity]} ${m.severity}`)],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Why*\n${slackEscape(m.why || '—')}` } },
    { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: m.linkText.slice(0, 75) }, url: m.link }] },
    { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(`For ${m.role} · ${m.type} · ${m.at} · Warden`) }] },
  ];
}

export interface SlackChannelOptions {
  tenant: string;
  name: string;
  token: () => string;
  conversation: string;
  /** `@slack/web-api`'s `slackApiUrl` (tests point it at a local fake). */
  slackApiUrl?: string;
  timeoutMs?: number;
}

/**
 * Posts Block Kit messages with `chat.postMessage` (`@slack/web-api`). The
 * client's own retries are off: the channel worker retries from the outbox,
 * so a crash between attempts loses nothing.
 *
 * @see https://docs.slack.dev/reference/methods/chat.postMessage
 */
export class SlackChannel implements ChannelSender {
  readonly type = 'slack';
  readonly name: string;
  readonly #client: WebClient;

  constructor(private readonly options: SlackChannelOptions) {
    this.name = options.name;
    this.#client = new WebClient(options.token(), {
      ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs ?? 10_000,
      logger: { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error' as never, setName() {} },
    });
  }

  async send(message: NotificationMessage): Promise<void> {
    const { tenant, name, conversation } = this.options;
    try {
      await this.#client.chat.postMessage({
        channel: conversation,
        text: `${slackEscape(message.title)}: ${message.link}`,
        blocks: slackBlocks(message) as never,
        unfurl_links: false,
      });
    } catch (err) {
      const e = err as WebAPICallError;
      switch (e.code) {
        case ErrorCode.PlatformError: {
          const key = PERMANENT[e.data.error];
          if (key)
            throw channelError(
              `Slack refused chat.postMessage (${e.data.error}): check ${settingPath(tenant, name, key)}`,
              { permanent: true, setting: settingPath(tenant, name, key) },
              err,
            );
          throw channelError(`Slack refused chat.postMessage (${e.data.error})`, { permanent: false }, err);
        }
        case ErrorCode.RateLimitedError:
          throw channelError(
            `Slack rate-limited chat.postMessage; retry after ${e.retryAfter} s`,
            { permanent: false, retryAfterMs: e.retryAfter * 1000 },
            err,
          );
        case ErrorCode.HTTPError:
          throw channelError(
            `Slack answered HTTP ${e.statusCode} to chat.postMessage`,
            { permanent: e.statusCode === 404, ...(e.statusCode === 404 ? { setting: settingPath(tenant, name, 'slackApiUrl') } : {}) },
            err,
          );
        case ErrorCode.RequestError:
          throw channelError(`cannot reach Slack: ${e.original?.message ?? e.message}`, { permanent: false }, err);
        default:
          throw channelError(`Slack chat.postMessage failed: ${(err as Error).message}`, { permanent: false }, err);
      }
    }
  }
}
