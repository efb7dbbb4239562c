import type { ResolvedTenant } from '../../config/load-config.js';
import type { NotificationChannel, NotificationRoute, NotificationsConfig } from '../../config/notifications-config-schema.js';
import { WardenError } from '../../core/errors.js';
import type { EventRoutes } from '../publish-event.js';
import type { ChannelSender } from './channel-sender.js';
import { EmailChannel } from './email-channel.js';
import { SlackChannel } from './slack-channel.js';
import { TeamsChannel } from './teams-channel.js';

/** Delivery endpoint names of chat and e-mail channels: `channel:<name>` (webhook names cannot hold a colon). */
export const CHANNEL_PREFIX = 'channel:';
/** Delivery endpoint names of the affected person's notice: `notme:<e-mail channel>`. */
export const NOT_ME_PREFIX = 'notme:';
/** The events that tell the affected person ("this wasn't me"). */
export const NOT_ME_TRIGGERS: readonly string[] = ['request.created', 'change.by_other'];

/** Routes of several kinds as one: what `publishEvent` is given, so one event reaches webhooks, channels and the affected person. */
export function combineRoutes(...routes: readonly EventRoutes[]): EventRoutes {
  return { endpointsFor: (tenant, type) => routes.flatMap((r) => r.endpointsFor(tenant, type)) };
}

function checkUrl(url: string, where: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WardenError('ERR_CONFIG_INVALID', `${where} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname)))
    throw new WardenError('ERR_CONFIG_INVALID', `${where} must be an https URL (http only to localhost)`);
}

/**
 * The tenants' chat and e-mail channels and their routes: which events queue a
 * message (one delivery per event and channel, in the event's transaction), and
 * the senders the channel worker uses. Senders are built on first use, so a
 * config loaded without secrets (the CLI) can still route and list.
 */
export class ChannelRoutes implements EventRoutes {
  readonly #tenants = new Map<string, { config: NotificationsConfig; tenant: ResolvedTenant }>();
  readonly #senders = new Map<string, ChannelSender>();
  readonly #overrides: (c: NotificationChannel, tenant: string) => Partial<Record<string, unknown>>;

  /** `overrides` lets tests add transport options (e.g. trust a test SMTP sink's certificate). */
  constructor(tenants: readonly ResolvedTenant[], overrides: (c: NotificationChannel, tenant: string) => Partial<Record<string, unknown>> = () => ({})) {
    this.#overrides = overrides;
    for (const t of tenants) {
      if (!t.notifications) continue;
      for (const c of t.notifications.channels)
        if (c.type === 'slack' && c.slackApiUrl) checkUrl(c.slackApiUrl, `tenants[${t.id}].notifications.channels[${c.name}].slackApiUrl`);
      checkUrl(t.notifications.publicUrl, `tenants[${t.id}].notifications.publicUrl`);
      this.#tenants.set(t.id, { config: t.notifications, tenant: t });
    }
  }

  endpointsFor(tenant: string, type: string): string[] {
    const n = this.#tenants.get(tenant)?.config;
    if (!n) return [];
    const channels = new Set(n.routes.filter((r) => (r.events as readonly string[]).includes(type)).map((r) => `${CHANNEL_PREFIX}${r.channel}`));
    if (n.notMe?.enabled && NOT_ME_TRIGGERS.includes(type)) channels.add(`${NOT_ME_PREFIX}${n.notMe.channel}`);
    return [...channels];
  }

  /** The tenant's notification settings. */
  settings(tenant: string): NotificationsConfig | undefined {
    return this.#tenants.get(tenant)?.config;
  }

  /** Whether the tenant's people sign in to the web console (`tenants[].oidc.console`): deep links then open console pages. */
  offersConsole(tenant: string): boolean {
    return this.#tenants.get(tenant)?.tenant.oidc?.console !== undefined;
  }

  /** The routes that send `type` through `channel`: the roles, and the addresses for e-mail. */
  routesFor(tenant: string, channel: string, type: string): NotificationRoute[] {
    return (this.#tenants.get(tenant)?.config.routes ?? []).filter((r) => r.channel === channel && (r.events as readonly string[]).includes(type));
  }

  /** The sender of a channel, built on first use. @throws WardenError `ERR_CONFIG_INVALID` when a secret or URL is wrong */
  sender(tenant: string, name: string): ChannelSender | undefined {
    const key = `${tenant}\u0000${name}`;
    const cached = this.#senders.get(key);
    if (cached) return cached;
    const entry = this.#tenants.get(tenant);
    const c = entry?.config.channels.find((x) => x.name === name);
    if (!entry || !c) return undefined;
    const secret = (secretName: string, setting: string) => () => {
      const s = entry.tenant.secrets[secretName];
      if (!s)
        throw new WardenError('ERR_CONFIG_INVALID', `tenants[${tenant}].notifications.channels[${name}].${setting}: secret ${secretName} is not resolved`);
      return s.reveal();
    };
    const extra = this.#overrides(c, tenant);
    let sender: ChannelSender;
    if (c.type === 'slack')
      sender = new SlackChannel({
        tenant,
        name,
        token: secret(c.token, 'token'),
        conversation: c.conversation,
        ...(c.slackApiUrl ? { slackApiUrl: c.slackApiUrl } : {}),
        ...extra,
      });
    else if (c.type === 'teams') {
      const url = secret(c.webhookUrl, 'webhookUrl');
      sender = new TeamsChannel({
        tenant,
        name,
        webhookUrl: () => {
          const u = url();
          checkUrl(u, `tenants[${tenant}].notifications.channels[${name}].webhookUrl (secret ${c.webhookUrl})`);
          return u;
        },
        ...extra,
      });
    } else
      sender = new EmailChannel({
        tenant,
        name,
        host: c.host,
        port: c.port,
        secure: c.secure,
        requireTls: c.requireTls,
        ...(c.user ? { user: c.user } : {}),
        ...(c.password ? { password: secret(c.password, 'password') } : {}),
        from: c.from,
        ...extra,
      });
    this.#senders.set(key, sender);
    return sender;
  }

  /** Closes the senders' connections (SMTP pools). */
  close(): void {
    for (const s of this.#senders.values()) s.close?.();
    this.#senders.clear();
  }
}
