import { z } from 'zod';
import { resolveSectionSecret, SecretRef, type ResolvedTenant, type Secret, type WardenConfig } from '../../src/connector/index.js';
import { DURATION_PATTERN } from '../../src/core/policy/duration.js';

/**
 * The `okta` section of a tenant in warden.yaml. This schema is the
 * documentation: docs/configuration.md is rendered from it.
 */

/** A secret: the name of one of the tenant's `secrets`, or a reference (`{ env }` / `{ file }`) written here. */
export const OktaSecret = z
  .union([z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, "name one of the tenant's `secrets`"), SecretRef])
  .describe("The name of one of the tenant's `secrets`, or a reference `{ env: NAME }` / `{ file: PATH }`");
/** A parsed `OktaSecret`. */
export type OktaSecret = z.infer<typeof OktaSecret>;

/**
 * OAuth 2.0 scopes Warden's service app needs (Okta Admin Management API):
 * read and manage users, their factors and groups, read the System Log, manage
 * event hooks, read admin roles (help desk or admin). Optional:
 * `okta.userRisk.manage` (raise_risk, Identity Threat Protection) and
 * `okta.policies.read` + `okta.policies.manage` (`warden okta provision --apply`).
 */
export const DEFAULT_SCOPES = Object.freeze([
  'okta.users.read',
  'okta.users.manage',
  'okta.groups.read',
  'okta.groups.manage',
  'okta.logs.read',
  'okta.eventHooks.read',
  'okta.eventHooks.manage',
  'okta.roles.read',
]);

const ApiTokenAuth = z
  .object({
    type: z.literal('api_token').describe('An SSWS API token (sent as `Authorization: SSWS <token>`); it acts with the admin roles of the user who created it'),
    token: OktaSecret.describe('The API token: a tenant secret name or a reference. Never write the token itself here'),
  })
  .strict();

const OAuthAuth = z
  .object({
    type: z
      .literal('oauth')
      .describe(
        'An OAuth 2.0 service app (client credentials with private_key_jwt; DPoP when the app requires it). Recommended: least privilege through scopes',
      ),
    clientId: z.string().min(1).describe('Client id of the API service app'),
    privateKey: OktaSecret.describe('Its private key (PEM or JWK JSON): a tenant secret name or a reference'),
    keyId: z.string().optional().describe('`kid` of the key registered with the app (needed with a PEM key)'),
    scopes: z
      .array(z.string().regex(/^okta\.[A-Za-z.]+$/))
      .min(1)
      .default([...DEFAULT_SCOPES])
      .describe(
        `Scopes granted to the app. Default \`${DEFAULT_SCOPES.join(' ')}\`; add \`okta.userRisk.manage\` for raise_risk (Identity Threat Protection) and \`okta.policies.read okta.policies.manage\` for \`warden okta provision --apply\``,
      ),
  })
  .strict();

const InlineOAuth = z
  .object({
    issuer: z
      .url()
      .describe(
        "Issuer of the access tokens Okta sends (the authorization server named by the inline hook's `tokenUrl`, e.g. `https://acme.okta.com/oauth2/default`)",
      ),
    audience: z.string().min(1).describe('Expected `aud` of those tokens (e.g. `api://default`)'),
    jwksUri: z.url().optional().describe('Where the issuer publishes its keys. Default `<issuer>/v1/keys`'),
    scope: z.string().optional().describe("A scope the token must carry (the inline hook's `scope`), when set"),
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30).describe('Clock skew allowed on `exp`/`nbf`/`iat`. Default `30`'),
  })
  .strict()
  .describe(
    'OAuth 2.0 inline hooks (`channel.type: OAUTH`, `authType` `client_secret_post` or `private_key_jwt`): Okta gets an access token from this authorization server and sends it as `Authorization: Bearer …`; Warden verifies its signature, issuer, audience, lifetime and scope',
  );

/** Schema of `tenants[].okta`. */
export const OktaTenantConfig = z
  .object({
    orgUrl: z.url().describe('The Okta org, e.g. `https://acme.okta.com`. Must be https unless `simulator` is true'),
    simulator: z
      .boolean()
      .default(false)
      .describe('Allow an `http://` org URL: the local simulator (`connectors/okta/simulator`) for tests and demos. Default `false`; never in production'),
    auth: z.discriminatedUnion('type', [ApiTokenAuth, OAuthAuth]).describe('How Warden calls the Okta Management API'),
    eventHook: z
      .object({
        header: z
          .string()
          .regex(/^[A-Za-z0-9-]+$/)
          .default('Authorization')
          .describe("Header Okta sends the shared secret in (the event hook's `authScheme.key`). Default `Authorization`"),
        secret: OktaSecret.describe('Its value (`authScheme.value`), compared in constant time'),
        signals: z
          .boolean()
          .default(true)
          .describe(
            "Subscribe the hook to `user.authentication.auth_via_mfa`, the MFA challenge outcomes push-fatigue detection reads (every MFA verification of the org). Set `false` when the org's MFA volume would bring its hooked events near Okta's 400,000 a day: the System Log poller then delivers them, a poll later. Default `true`",
          ),
      })
      .strict()
      .describe(
        'The event hook: its authentication (Okta supports only a static header, `authScheme.type: HEADER`) and whether it carries MFA challenge outcomes',
      ),
    inlineHooks: z
      .object({
        header: z
          .string()
          .regex(/^[A-Za-z0-9-]+$/)
          .default('Authorization')
          .describe('Header of HTTP inline hooks (`authScheme.key`). Default `Authorization`'),
        secret: OktaSecret.optional().describe('Its value for HTTP inline hooks; set this or `oauth`'),
        oauth: InlineOAuth.optional(),
        deadlineMs: z
          .number()
          .int()
          .min(100)
          .max(2500)
          .default(2000)
          .describe("Time Warden gives a decision before answering with the policy's `failure` outcome; Okta waits 3 s. Default `2000`"),
      })
      .strict()
      .refine((h) => h.secret !== undefined || h.oauth !== undefined, 'set `secret` (HTTP inline hooks) or `oauth` (OAuth 2.0 inline hooks)')
      .optional()
      .describe('Inline hooks (registration, token, telephony); without this section they answer 404'),
    holdGroup: z
      .object({
        name: z.string().min(1).default('Warden Hold').describe('Name of the Okta group held users are put in. Default `Warden Hold`'),
        id: z.string().optional().describe('Its id (`00g…`); looked up by name when not set'),
      })
      .strict()
      .default({ name: 'Warden Hold' })
      .describe('The hold group: an Okta account management policy rule denies enrollment and recovery to its members (`warden okta provision`)'),
    poller: z
      .object({
        enabled: z.boolean().default(true).describe('Poll the System Log. Default `true`'),
        intervalSeconds: z.number().int().min(5).max(3600).default(60).describe('Seconds between polls. Default `60`'),
        overlapSeconds: z
          .number()
          .int()
          .min(0)
          .max(86_400)
          .default(300)
          .describe(
            'Each poll starts this far before the newest event seen, so late-persisted events are not missed (duplicates are absorbed by the inbox). Default `300`',
          ),
        overlap: z
          .string()
          .regex(DURATION_PATTERN)
          .optional()
          .describe('The overlap as a duration (`90s`, `5m`), the unit every poller uses; takes the place of `overlapSeconds` when set'),
        pageSize: z.number().int().min(1).max(1000).default(1000).describe('Events per page (`limit`). Default `1000`'),
        maxPagesPerPoll: z.number().int().min(1).max(1000).default(50).describe('Pages fetched in one poll at most; the rest waits for the next. Default `50`'),
        minRemaining: z
          .number()
          .int()
          .min(0)
          .default(2)
          .describe('Stop paging and wait for `X-Rate-Limit-Reset` when `X-Rate-Limit-Remaining` falls to this. Default `2`'),
      })
      .strict()
      .default({ enabled: true, intervalSeconds: 60, overlapSeconds: 300, pageSize: 1000, maxPagesPerPoll: 50, minRemaining: 2 })
      .describe('System Log poller: catches what event hooks miss and the events that are not hook-eligible'),
    serviceIdentity: z
      .string()
      .optional()
      .describe(
        "Okta id of the principal Warden acts as (the API token's user `00u…`, or the service app's client id). Default: the client id (OAuth), or the token's user from `GET /api/v1/users/me`. Events by it that match an action Warden recorded are Warden's own and are not judged again",
      ),
    helpdesk: z
      .object({
        roles: z.array(z.string()).default(['HELP_DESK_ADMIN']).describe('Admin role types that make an actor the help desk. Default `[HELP_DESK_ADMIN]`'),
        groups: z.array(z.string()).default([]).describe('Group names whose members are the help desk'),
      })
      .strict()
      .default({ roles: ['HELP_DESK_ADMIN'], groups: [] })
      .describe('Who counts as the help desk: an administrator matching neither is `admin`'),
    enrichment: z
      .object({
        cacheSeconds: z.number().int().min(0).max(3600).default(60).describe('How long a user read from Okta is reused. Default `60`'),
        attributes: z
          .array(z.string())
          .default(['department', 'title', 'userType', 'employeeNumber', 'costCenter', 'division', 'organization'])
          .describe('Profile attributes copied into `target.attributes` for tier expressions'),
        flagGroups: z
          .object({
            executive: z.array(z.string()).default([]).describe('Members are executives (`target.flags.executive`)'),
            shared: z.array(z.string()).default([]).describe('Members are shared or team accounts (`target.flags.shared`)'),
            serviceAccount: z.array(z.string()).default([]).describe('Members are non-human identities (`target.flags.serviceAccount`)'),
            breakGlass: z.array(z.string()).default([]).describe('Members are emergency-access accounts (`target.flags.breakGlass`)'),
          })
          .strict()
          .default({ executive: [], shared: [], serviceAccount: [], breakGlass: [] })
          .describe('Group names that set the principal flags (executive, shared, serviceAccount, breakGlass)'),
      })
      .strict()
      .default({
        cacheSeconds: 60,
        attributes: ['department', 'title', 'userType', 'employeeNumber', 'costCenter', 'division', 'organization'],
        flagGroups: { executive: [], shared: [], serviceAccount: [], breakGlass: [] },
      })
      .describe('Target and actor enrichment through the Okta API'),
    revokeOAuthTokens: z.boolean().default(true).describe("`revoke_sessions` also revokes the user's OAuth/OIDC tokens (`oauthTokens=true`). Default `true`"),
    requestTimeoutMs: z.number().int().min(1000).max(120_000).default(15_000).describe('Timeout of one Okta API call. Default `15000`'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const url = new URL(cfg.orgUrl);
    if (url.protocol !== 'https:' && !cfg.simulator)
      ctx.addIssue({ code: 'custom', path: ['orgUrl'], message: 'Okta org URLs are https (set `simulator: true` only for the local simulator)' });
  })
  .describe('Okta connector: event hooks, inline hooks, System Log poller, enforcement');
/** A parsed `tenants[].okta` section. */
export type OktaTenantConfig = z.infer<typeof OktaTenantConfig>;

/**
 * Reads a secret the okta section names: one of the tenant's `secrets`
 * (resolved at start by the server; resolved here from its reference when the
 * CLI loaded the config without secrets), or a reference written in place.
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when it cannot be read
 */
export function resolveOktaSecret(
  input: OktaSecret,
  tenant: ResolvedTenant,
  config: WardenConfig,
  where: string,
  env: NodeJS.ProcessEnv = process.env,
): Secret {
  return resolveSectionSecret('okta', input, tenant, config, where, env);
}

/** The tenant's okta section, parsed; undefined when the tenant has none. */
export function oktaSection(tenant: ResolvedTenant): OktaTenantConfig | undefined {
  return tenant.connectors.okta as OktaTenantConfig | undefined;
}
