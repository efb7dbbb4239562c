import { z } from 'zod';

/**
 * The `itsm` section of a tenant in warden.yaml: where the tenant's tickets
 * live and how Warden reads them. Credentials are names of tenant secrets
 * (`tenants[].secrets`), never values.
 */

const SecretName = (text: string) =>
  z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'the name of a tenant secret (tenants[].secrets)')
    .describe(text);

/** How Warden signs in to ServiceNow. */
export const ServiceNowAuth = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('basic'),
      username: z.string().min(1).describe('ServiceNow user Warden reads tickets as (needs read access to the table and sys_user fields)'),
      passwordSecret: SecretName('Tenant secret holding its password'),
    })
    .strict(),
  z
    .object({
      type: z.literal('oauth'),
      clientId: z.string().min(1).describe('OAuth client id (client credentials grant on `/oauth_token.do`)'),
      clientSecretSecret: SecretName('Tenant secret holding the client secret'),
      scope: z.string().optional().describe('OAuth scope to ask for, e.g. `incident_read`'),
    })
    .strict(),
]);

const INCIDENT_STATES: Record<string, string> = { '1': 'New', '2': 'In Progress', '3': 'On Hold', '6': 'Resolved', '7': 'Closed', '8': 'Canceled' };

export const ServiceNowConfig = z
  .object({
    instanceUrl: z.url().describe('Instance URL, e.g. `https://acme.service-now.com`'),
    auth: ServiceNowAuth.describe(
      '`{ type: basic, username, passwordSecret }` or OAuth client credentials `{ type: oauth, clientId, clientSecretSecret, scope }`',
    ),
    table: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default('incident')
      .describe('Table the tickets are in. Default `incident`'),
    stateLabels: z
      .record(z.string(), z.string())
      .default(INCIDENT_STATES)
      .describe(
        "Labels of the table's `state` numbers, as policies name them (`ticket.states`). Default: the base incident states 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled",
      ),
    openStates: z.array(z.string()).default(['1', '2', '3']).describe('`state` numbers that count as open. Default `1, 2, 3`; an unknown number never does'),
    groups: z
      .record(z.string(), z.array(z.string()))
      .default({})
      .describe(
        'Assignment groups (name or sys_id) and the IdP groups whose members work them; a group not listed corresponds to the IdP group of the same name',
      ),
    timeout: z
      .string()
      .regex(/^\d+[smh]$/)
      .default('10s')
      .describe('Time allowed per ServiceNow call. Default `10s`'),
  })
  .strict();
export type ServiceNowConfig = z.infer<typeof ServiceNowConfig>;

export const JiraConfig = z
  .object({
    siteUrl: z.url().describe('Site URL, e.g. `https://acme.atlassian.net`'),
    email: z.string().min(1).describe('Atlassian account Warden reads tickets as (basic auth with an API token)'),
    apiTokenSecret: SecretName('Tenant secret holding its API token'),
    serviceManagement: z
      .boolean()
      .default(true)
      .describe('Read requests through Jira Service Management (`/rest/servicedeskapi/request`) as well as the issue. Default `true`'),
    serviceDesks: z.record(z.string(), z.array(z.string())).default({}).describe('Service desk ids and the IdP groups whose members work them'),
    projects: z
      .record(z.string(), z.array(z.string()))
      .default({})
      .describe('Project keys and the IdP groups whose members work them (without service management)'),
    selfRaisedChannels: z
      .array(z.string().regex(/^[a-z]+$/))
      .default(['email', 'portal'])
      .describe(
        "JQL `request-channel-type` values checked to find a request the target raised themself (email, portal). Only `api` is verified in Atlassian's docs; check the values on your site",
      ),
    timeout: z
      .string()
      .regex(/^\d+[smh]$/)
      .default('10s')
      .describe('Time allowed per Jira call. Default `10s`'),
  })
  .strict();
export type JiraConfig = z.infer<typeof JiraConfig>;

export const ItsmTenantConfig = z
  .object({
    servicenow: ServiceNowConfig.optional().describe('ServiceNow Table API'),
    jira: JiraConfig.optional().describe('Jira Cloud / Jira Service Management'),
  })
  .strict()
  .describe('Ticket systems change requests cite (connectors/itsm)');
export type ItsmTenantConfig = z.infer<typeof ItsmTenantConfig>;

/** `10s`, `2m`, `1h` in milliseconds. */
export function timeoutMs(text: string): number {
  const n = Number(text.slice(0, -1));
  return n * { s: 1000, m: 60_000, h: 3_600_000 }[text.slice(-1) as 's' | 'm' | 'h'];
}
