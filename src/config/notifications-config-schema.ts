import { z } from 'zod';
import { DURATION_PATTERN } from '../core/policy/duration.js';

/**
 * The `notifications` section of a tenant in `warden.yaml` (docs/notifications.md):
 * chat and e-mail channels, which events go to which channel for which role,
 * and the affected user's "this wasn't me" notice. Rendered into
 * docs/configuration.md with the rest of the file.
 */

const Duration = (text: string) => z.string().regex(DURATION_PATTERN, 'a duration such as 90s, 30m, 1h, 7d').describe(text);
const SecretName = (text: string) =>
  z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'the name of a tenant secret (tenants[].secrets)')
    .describe(text);
const ChannelName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/);

/** The events chat and e-mail channels carry (docs/notifications.md, "Events"). */
export const NOTIFICATION_EVENTS = [
  'request.pending_approval',
  'hold.placed',
  'alert.raised',
  'alert.break_glass',
  'alert.review_overdue',
  'delivery.stopped',
  'person.not_me',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

export const SlackChannelConfig = z
  .object({
    name: ChannelName.describe('Channel name, used by `routes` and shown by `warden notify list`'),
    type: z.literal('slack'),
    token: SecretName('Tenant secret with the Slack bot token (`xoxb-…`) of an app with the `chat:write` scope, invited to the conversation'),
    conversation: z.string().min(1).describe("Slack conversation id to post to (`C…` for a channel, found in the channel's details)"),
    slackApiUrl: z
      .url()
      .optional()
      .describe(
        'Base URL of the Slack Web API (`@slack/web-api` `slackApiUrl`). Default `https://slack.com/api/`; change it only for a proxy or a test double',
      ),
  })
  .strict();

export const TeamsChannelConfig = z
  .object({
    name: ChannelName.describe('Channel name, used by `routes` and shown by `warden notify list`'),
    type: z.literal('teams'),
    webhookUrl: SecretName(
      'Tenant secret with the URL of a Teams Workflows webhook ("When a Teams webhook request is received" trigger, posting an Adaptive Card). The URL carries its own signature (`sig=`), so it is a secret',
    ),
  })
  .strict();

export const EmailChannelConfig = z
  .object({
    name: ChannelName.describe('Channel name, used by `routes` and `notMe.channel`'),
    type: z.literal('email'),
    host: z.string().min(1).describe('SMTP server host'),
    port: z.number().int().min(1).max(65535).default(587).describe('SMTP port. Default `587` (STARTTLS)'),
    secure: z.boolean().default(false).describe('`true`: TLS from the first byte (port 465). `false` (default): STARTTLS when the server offers it'),
    requireTls: z
      .boolean()
      .default(true)
      .describe('Refuse to send unless the connection is encrypted (STARTTLS or `secure`). Default `true`; `false` only for a local relay'),
    user: z.string().min(1).optional().describe('SMTP user, when the server asks for authentication'),
    password: SecretName('Tenant secret with the SMTP password (with `user`)').optional(),
    from: z.string().min(3).describe('Sender address, e.g. `Warden <warden@acme.com>`'),
  })
  .strict();

export const NotificationChannel = z.discriminatedUnion('type', [SlackChannelConfig, TeamsChannelConfig, EmailChannelConfig]);
export type NotificationChannel = z.infer<typeof NotificationChannel>;

export const NotificationRoute = z
  .object({
    role: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,62}$/)
      .describe('Who the route is for, e.g. `approvers`, `security`, `helpdesk`: shown in the message ("for approvers") and in `warden notify list`'),
    events: z
      .array(z.enum(NOTIFICATION_EVENTS))
      .min(1)
      .describe(`Events sent to this role: ${NOTIFICATION_EVENTS.map((e) => `\`${e}\``).join(', ')}`),
    channel: ChannelName.describe('Name of the channel (in `channels`) the messages go to'),
    to: z
      .array(z.string().min(3))
      .min(1)
      .optional()
      .describe('E-mail channels: the addresses (a team list, the on-call alias). Required for an e-mail channel, refused for chat'),
  })
  .strict();
export type NotificationRoute = z.infer<typeof NotificationRoute>;

export const NotMeConfig = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'Tell the affected person when a help-desk request is filed for them or someone else changes their factors or password. Default `true` when the section is present',
      ),
    secret: SecretName('Tenant secret that signs the links (HMAC-SHA256): at least 32 random bytes. Rotating it voids every link not yet used'),
    channel: ChannelName.describe(
      'E-mail channel (in `channels`) the notice is sent through, to the address the IdP directory has on file: never the factor being changed',
    ),
    linkTtl: Duration('How long a link works. Default `30m`').default('30m'),
    perPersonPerHour: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(5)
      .describe('Notices sent to one person in an hour at most (more are recorded, not sent). Default `5`'),
    oktaVerifyPush: z
      .boolean()
      .default(false)
      .describe(
        'Also send a "was this you?" Okta Verify push through the Okta proofer (the tenant needs the `okta` connector). Okta\'s push carries no text or link: rejecting it counts as "this wasn\'t me", approving it as "it was me" (evidence, never proofing); unanswered, the e-mail link still works. Not sent (e-mail only) when the change or request is to a factor that may be the push factor (`factor.reset_all`, a factor change of type `push` or of unknown type), or the person\'s push factor changed within `workflow.proofing.minFactorAgeDays`. Default `false`',
      ),
  })
  .strict();
export type NotMeConfig = z.infer<typeof NotMeConfig>;

export const NotificationsConfig = z
  .object({
    publicUrl: z.url().describe('Where people reach this Warden (`https://warden.acme.com`): deep links and "this wasn\'t me" links are built on it'),
    channels: z.array(NotificationChannel).default([]).describe('Slack, Microsoft Teams and e-mail channels'),
    routes: z.array(NotificationRoute).default([]).describe('Which events go to which channel, for which role'),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(50)
      .default(10)
      .describe('Attempts at one message (5 s doubling, at most 1 h apart) before it is marked failed, listed by `warden notify list --failed`. Default `10`'),
    notMe: NotMeConfig.optional().describe('The affected person\'s "this wasn\'t me" notice (docs/notifications.md)'),
  })
  .strict()
  .superRefine((n, ctx) => {
    const byName = new Map<string, NotificationChannel>();
    n.channels.forEach((c, i) => {
      if (byName.has(c.name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `channel "${c.name}" is configured twice` });
      byName.set(c.name, c);
    });
    n.routes.forEach((r, i) => {
      const channel = byName.get(r.channel);
      if (!channel) ctx.addIssue({ code: 'custom', path: ['routes', i, 'channel'], message: `no channel "${r.channel}" in notifications.channels` });
      else if (channel.type === 'email' && !r.to)
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'to'], message: `channel "${r.channel}" is e-mail: give the addresses in \`to\`` });
      else if (channel.type !== 'email' && r.to)
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'to'], message: `channel "${r.channel}" is ${channel.type}: \`to\` is for e-mail channels` });
    });
    if (n.notMe) {
      const channel = byName.get(n.notMe.channel);
      if (channel?.type !== 'email')
        ctx.addIssue({ code: 'custom', path: ['notMe', 'channel'], message: `notMe.channel must name an e-mail channel in notifications.channels` });
    }
  })
  .describe('Chat and e-mail notifications, and the "this wasn\'t me" notice (docs/notifications.md)');
export type NotificationsConfig = z.infer<typeof NotificationsConfig>;

/** The secret names the section refers to, with where (for "secret X is not in tenants[].secrets"). */
export function notificationSecretNames(n: NotificationsConfig): Array<[string, string]> {
  const names: Array<[string, string]> = [];
  for (const c of n.channels) {
    if (c.type === 'slack') names.push([`notifications.channels ${c.name} token`, c.token]);
    if (c.type === 'teams') names.push([`notifications.channels ${c.name} webhookUrl`, c.webhookUrl]);
    if (c.type === 'email' && c.password) names.push([`notifications.channels ${c.name} password`, c.password]);
  }
  if (n.notMe) names.push(['notifications.notMe secret', n.notMe.secret]);
  return names;
}
