import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../../src/core/policy/duration.js';
import { SecretRef } from '../../src/connector/index.js';

/**
 * The `entra` section under a tenant in `warden.yaml`: which Entra tenant and
 * app registration Warden acts as, how it authenticates, which cloud, how it
 * listens (Graph change notifications) and polls (directoryAudits, the Office
 * 365 Management Activity API), and which hold group it manages. Rendered
 * into docs/configuration.md; docs/entra.md explains the set-up.
 *
 * @example
 * tenants:
 *   - id: contoso
 *     policy: policies/contoso.yaml
 *     entra:
 *       tenantId: 00000000-0000-0000-0000-000000000000
 *       clientId: 11111111-1111-1111-1111-111111111111
 *       credential: { certificate: { file: /run/secrets/warden-entra.pem } }
 *       holdGroup: { id: 22222222-2222-2222-2222-222222222222 }
 *       subscription:
 *         notificationUrl: https://warden.contoso.com/hooks/entra/contoso/notifications
 *         clientState: { env: CONTOSO_GRAPH_CLIENT_STATE }
 */

const Guid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'a GUID');
const HttpsUrl = z.url({ protocol: /^https$/, error: 'an https:// URL' });

/** National clouds (entra.md §5, graph-docs concepts/deployments.md). */
export const CLOUDS = ['global', 'usgov', 'usgov-dod', 'china'] as const;

/** Entra activities Warden keeps from the audit log (`loggedByService` values). */
export const DEFAULT_AUDIT_SERVICES = [
  'Authentication Methods',
  'Self-service Password Management',
  'Core Directory',
  'Device Registration Service',
  'PIM',
  'Privileged Identity Management',
  'Azure MFA',
];

/** Exchange operations the Management Activity poller keeps (entra.md §7). */
export const DEFAULT_EXCHANGE_OPERATIONS = ['New-InboxRule', 'Set-InboxRule', 'Enable-InboxRule', 'UpdateInboxRules', 'Set-Mailbox'];

/** Directory roles whose holders act as the help desk (channel `helpdesk` rather than `admin`). */
export const DEFAULT_HELPDESK_ROLES = ['Helpdesk Administrator', 'Authentication Administrator', 'Password Administrator'];

const Credential = z
  .object({
    secret: SecretRef.optional().describe('Client secret of the app registration, as a reference (`{ env }` or `{ file }`). Prefer `certificate`'),
    certificate: SecretRef.optional().describe(
      'PEM file (or variable) holding the private key and the certificate uploaded to the app registration, as a reference',
    ),
    sendCertificateChain: z
      .boolean()
      .default(false)
      .describe('Send the certificate chain (x5c) with the assertion, for subject-name/issuer authentication. Default `false`'),
  })
  .strict()
  .refine((c) => (c.secret ? 1 : 0) + (c.certificate ? 1 : 0) === 1, { message: 'give exactly one of `secret` or `certificate`' })
  .describe('How Warden authenticates as its app registration (client credentials): exactly one of `secret` or `certificate`');

const Subscription = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe('Create and keep a `/users` change-notification subscription. Default `true` (needs `notificationUrl` and `clientState`)'),
    notificationUrl: HttpsUrl.optional().describe(
      "Public HTTPS URL of this tenant's notification receiver, `https://<warden>/hooks/entra/<tenant>/notifications`",
    ),
    lifecycleNotificationUrl: HttpsUrl.optional().describe(
      'Public HTTPS URL of the lifecycle receiver. Default: `notificationUrl` with `/notifications` replaced by `/lifecycle`',
    ),
    clientState: SecretRef.optional().describe(
      'Secret Graph echoes in every notification (at most 128 characters), as a reference; notifications without it are dropped and counted',
    ),
    lifetimeMinutes: z
      .number()
      .int()
      .min(45)
      .max(41_760)
      .default(41_000)
      .describe('Requested subscription lifetime. Graph allows at most 41,760 minutes (< 29 days) for users. Default `41000`'),
    renewBeforeMinutes: z
      .number()
      .int()
      .min(10)
      .max(20_000)
      .default(2_880)
      .describe('Renew when the subscription expires within this many minutes. Default `2880` (2 days)'),
    checkIntervalSeconds: z
      .number()
      .int()
      .min(5)
      .max(3_600)
      .default(300)
      .describe('How often the subscription manager checks, renews and self-tests. Default `300`'),
    silenceMinutes: z
      .number()
      .int()
      .min(5)
      .max(1_440)
      .default(30)
      .describe(
        'Self-test: a user change seen in the audit log with no notification within this many minutes marks the subscription silent (reported and recreated). Default `30`',
      ),
  })
  .strict()
  .describe('Graph change notifications on `/users` (an early trigger for the audit poller)');

const Poller = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe('Poll `auditLogs/directoryAudits`. Default `true`: this is the primary signal, Graph does not notify on authentication methods'),
    intervalSeconds: z.number().int().min(10).max(3_600).default(60).describe('Seconds between polls. Default `60`'),
    overlapMinutes: z
      .number()
      .int()
      .min(5)
      .max(1_440)
      .default(10)
      .describe(
        'Each poll re-reads this many minutes before the previous one (audit latency is up to 5 minutes at the 99th percentile); duplicates are dropped by record id. At least 5. Default `10`',
      ),
    overlap: z
      .string()
      .regex(DURATION_PATTERN)
      .refine((v) => parseDuration(v) >= 300, 'at least 5m')
      .optional()
      .describe('The overlap as a duration (`10m`, `1h`), the unit every poller uses; takes the place of `overlapMinutes` when set'),
    pageSize: z.number().int().min(10).max(1_000).default(500).describe('`$top` per page. Default `500`'),
    initialLookbackMinutes: z
      .number()
      .int()
      .min(5)
      .max(10_080)
      .default(60)
      .describe('How far back the first poll of a tenant reads. Default `60` (use `warden entra backfill` for more)'),
    minGapSeconds: z
      .number()
      .int()
      .min(1)
      .max(600)
      .default(5)
      .describe('Least time between an early poll (after a notification) and the previous poll. Default `5`'),
    services: z
      .array(z.string().min(1))
      .default(DEFAULT_AUDIT_SERVICES)
      .describe(
        `Audit records of these \`loggedByService\` values are stored and normalized; others are counted and skipped (empty list: keep all). Default ${DEFAULT_AUDIT_SERVICES.map((s) => `\`${s}\``).join(', ')}`,
      ),
  })
  .strict()
  .describe('The directoryAudits poller');

const ManagementActivity = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Poll the Office 365 Management Activity API (`Audit.Exchange`) for inbox rules and forwarding. Default `false` (needs the ActivityFeed.Read permission and unified audit logging)',
      ),
    baseUrl: HttpsUrl.optional().describe(
      'API root. Default by cloud: `https://manage.office.com` (global), `https://manage.office365.us` (usgov), `https://manage.protection.apps.mil` (usgov-dod); set it for china',
    ),
    publisherId: Guid.optional().describe('`PublisherIdentifier` for the throttling quota. Default: `tenantId`'),
    intervalSeconds: z.number().int().min(60).max(86_400).default(300).describe('Seconds between polls. Default `300`'),
    overlapMinutes: z
      .number()
      .int()
      .min(5)
      .max(1_440)
      .default(60)
      .describe('Each poll re-lists content this many minutes before the previous one (blobs appear late and out of order). Default `60`'),
    overlap: z
      .string()
      .regex(DURATION_PATTERN)
      .refine((v) => parseDuration(v) >= 300, 'at least 5m')
      .optional()
      .describe('The overlap as a duration (`10m`, `1h`), the unit every poller uses; takes the place of `overlapMinutes` when set'),
    operations: z
      .array(z.string().min(1))
      .default(DEFAULT_EXCHANGE_OPERATIONS)
      .describe(`Exchange operations kept; others are counted and skipped. Default ${DEFAULT_EXCHANGE_OPERATIONS.map((s) => `\`${s}\``).join(', ')}`),
  })
  .strict()
  .describe('Office 365 Management Activity API poller (Exchange mailbox rules and forwarding, so detection sees the whole chain)');

const HoldGroup = z
  .object({
    id: Guid.optional().describe(
      'Object id of the security group Warden adds held users to. `warden entra provision` creates it and prints the id. Without it, `hold_group` actions fail with a message saying so',
    ),
    displayName: z.string().min(1).max(256).default('Warden hold').describe('Name `warden entra provision` gives the group. Default `Warden hold`'),
  })
  .strict()
  .describe('The hold group a Conditional Access policy on "Register security information" blocks (docs/entra.md)');

const ServiceIdentity = z
  .object({
    appIds: z
      .array(z.string().min(1))
      .default([])
      .describe("Further application ids whose changes are Warden's own (e.g. a second registration per cloud). `clientId` always counts"),
    servicePrincipalIds: z.array(z.string().min(1)).default([]).describe("Service principal object ids whose changes are Warden's own"),
    userIds: z.array(z.string().min(1)).default([]).describe('User object ids acting for Warden (rare: a delegated service account)'),
  })
  .strict()
  .describe('Who Warden acts as, so it recognises its own changes in the audit log and never re-judges them');

/** The `entra` tenant section. */
export const EntraTenantConfig = z
  .object({
    tenantId: Guid.describe('Directory (tenant) id of the Entra tenant'),
    clientId: z.string().min(1).describe("Application (client) id of Warden's app registration"),
    credential: Credential,
    cloud: z
      .enum(CLOUDS)
      .default('global')
      .describe('National cloud: `global` (also GCC), `usgov` (GCC High), `usgov-dod`, `china` (21Vianet). Default `global`'),
    authorityHost: HttpsUrl.optional().describe(
      "Overrides the cloud's sign-in host, e.g. the simulator. Default by cloud (`https://login.microsoftonline.com`, …)",
    ),
    graphBaseUrl: HttpsUrl.optional().describe(
      "Overrides the cloud's Microsoft Graph root, e.g. the simulator. Default by cloud (`https://graph.microsoft.com`, …)",
    ),
    requestTimeoutSeconds: z.number().int().min(5).max(300).default(30).describe('Timeout of one Graph call including its retries. Default `30`'),
    maxInlineRetrySeconds: z
      .number()
      .int()
      .min(0)
      .max(180)
      .default(10)
      .describe(
        'The Graph client retries a 429/503/504 in place when `Retry-After` is at most this; longer waits go back to the outbox or poller, which retry no sooner than asked. Default `10`',
      ),
    subscription: Subscription.prefault({}),
    poller: Poller.prefault({}),
    managementActivity: ManagementActivity.prefault({}),
    holdGroup: HoldGroup.prefault({}),
    serviceIdentity: ServiceIdentity.prefault({}),
    helpdeskRoles: z
      .array(z.string().min(1))
      .default(DEFAULT_HELPDESK_ROLES)
      .describe(
        `Directory roles that make an administrator the help desk (channel \`helpdesk\`). Default ${DEFAULT_HELPDESK_ROLES.map((s) => `\`${s}\``).join(', ')}`,
      ),
    directoryCacheSeconds: z
      .number()
      .int()
      .min(0)
      .max(3_600)
      .default(60)
      .describe('How long user look-ups (groups, roles, profile) are cached for enrichment. Default `60`'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.subscription.enabled && !cfg.subscription.notificationUrl)
      ctx.addIssue({
        code: 'custom',
        path: ['subscription', 'notificationUrl'],
        message: 'required while subscription.enabled is true (or set subscription.enabled: false)',
      });
    if (cfg.subscription.enabled && !cfg.subscription.clientState)
      ctx.addIssue({ code: 'custom', path: ['subscription', 'clientState'], message: 'required while subscription.enabled is true: a secret reference' });
    if (cfg.subscription.renewBeforeMinutes >= cfg.subscription.lifetimeMinutes)
      ctx.addIssue({ code: 'custom', path: ['subscription', 'renewBeforeMinutes'], message: 'must be shorter than lifetimeMinutes' });
    if (cfg.managementActivity.enabled && cfg.cloud === 'china' && !cfg.managementActivity.baseUrl)
      ctx.addIssue({ code: 'custom', path: ['managementActivity', 'baseUrl'], message: 'set it for the china cloud' });
  })
  .describe('Microsoft Entra ID connector (docs/entra.md)');
export type EntraTenantConfig = z.infer<typeof EntraTenantConfig>;
