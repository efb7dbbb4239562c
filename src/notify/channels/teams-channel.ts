import type { ChannelSender } from './channel-sender.js';
import { channelError, settingPath } from './channel-sender.js';
import type { NotificationMessage } from './message.js';

const COLOR: Record<NotificationMessage['severity'], string> = { info: 'Default', low: 'Accent', medium: 'Warning', high: 'Attention', critical: 'Attention' };

/**
 * The Adaptive Card of a message, wrapped as the message a Teams Workflows
 * webhook ("When a Teams webhook request is received" → "Post card in a chat
 * or channel") takes: `{ type: 'message', attachments: [{ contentType, content }] }`.
 * The only action opens Warden: approval is never given from chat.
 *
 * @see https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
 * @see https://adaptivecards.io/explorer/
 */
export function teamsCard(m: NotificationMessage): Record<string, unknown> {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: m.title, weight: 'Bolder', size: 'Medium', wrap: true, color: COLOR[m.severity] },
            {
              type: 'FactSet',
              facts: [
                { title: 'Who', value: m.who },
                { title: 'What', value: m.what },
                { title: 'Tier', value: m.tier ?? 'not classified' },
                { title: 'Why', value: m.why || '—' },
                { title: 'Severity', value: m.severity },
              ],
            },
            { type: 'TextBlock', text: `For ${m.role} · ${m.type} · ${m.at}`, isSubtle: true, size: 'Small', wrap: true },
          ],
          actions: [{ type: 'Action.OpenUrl', title: m.linkText, url: m.link }],
        },
      },
    ],
  };
}

export interface TeamsChannelOptions {
  tenant: string;
  name: string;
  /** Reveals the Workflows webhook URL (a secret: it carries its signature). */
  webhookUrl: () => string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Posts Adaptive Cards to a Teams Workflows webhook. A 4xx other than 408 and
 * 429 means the URL or the flow is wrong (the flow was deleted, the signature
 * changed): the message fails at once, naming the setting to fix. The URL
 * itself never appears in errors (it is a credential).
 */
export class TeamsChannel implements ChannelSender {
  readonly type = 'teams';
  readonly name: string;

  constructor(private readonly options: TeamsChannelOptions) {
    this.name = options.name;
  }

  async send(message: NotificationMessage): Promise<void> {
    const { tenant, name } = this.options;
    const setting = settingPath(tenant, name, 'webhookUrl');
    // Outside the try: a URL refused by the config check fails for good, it is not a network error.
    const url = this.options.webhookUrl();
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Warden-Notify/1' },
        body: JSON.stringify(teamsCard(message)),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      const why = (err as Error).name === 'TimeoutError' ? 'no answer in time' : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
      throw channelError(`cannot reach the Teams webhook of ${setting}: ${why}`, { permanent: false }, err);
    }
    const text = await response.text().catch(() => '');
    if (response.ok) return;
    const status = response.status;
    if (status === 429 || status === 408 || status >= 500) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw channelError(`the Teams webhook answered HTTP ${status}`, {
        permanent: false,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      });
    }
    throw channelError(
      `the Teams webhook answered HTTP ${status}${text ? ` (${text.slice(0, 200)})` : ''}: check ${setting} (a Workflows URL from "When a Teams webhook request is received")`,
      { permanent: true, setting },
    );
  }
}
