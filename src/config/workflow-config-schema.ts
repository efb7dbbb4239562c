import { z } from 'zod';
import { ProofingLevel } from '../core/proofing.js';
import { DURATION_PATTERN } from '../core/policy/duration.js';

/**
 * The tenant sections of `warden.yaml` that the change-request workflow
 * reads: `oidc` (how people sign in), `workflow` (proofing, break-glass,
 * service identities, verifiers) and `webhooks` (signed outbound events).
 * Rendered into docs/configuration.md with the rest of the file.
 */

const Duration = (text: string) => z.string().regex(DURATION_PATTERN, 'a duration such as 90s, 30m, 1h, 7d').describe(text);

/** Name of a tenant secret (a key of `tenants[].secrets`). */
const SecretName = (text: string) =>
  z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'the name of a tenant secret (tenants[].secrets)')
    .describe(text);

export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const OidcRoles = z
  .object({
    helpdesk: z.array(z.string().min(1)).default([]).describe('Groups whose members file change requests, attach tickets and proofing'),
    approver: z
      .array(z.string().min(1))
      .default([])
      .describe('Groups whose members may approve or reject (the policy may narrow it further with `approvals.from`)'),
    admin: z
      .array(z.string().min(1))
      .default([])
      .describe('Groups whose members grant policy exceptions, review break-glass and do everything a help desk can'),
    auditor: z.array(z.string().min(1)).default([]).describe('Groups whose members read requests, reviews and reports, and complete reviews'),
  })
  .strict()
  .describe("Warden roles from the token's groups claim; a person may hold several");

/** How the web console signs people in with this IdP (authorization code + PKCE). */
export const OidcConsoleClient = z
  .object({
    clientId: z
      .string()
      .min(1)
      .describe(
        "Client id of Warden's console app in the IdP (an OIDC web app with the authorization code grant and PKCE). Its ID tokens must carry the groups claim (`groupsClaim`)",
      ),
    clientSecret: SecretName("Tenant secret with the app's client secret (`client_secret_basic`); absent: a public client, PKCE only").optional(),
    publicUrl: z
      .url()
      .describe(
        "The console's address as people's browsers reach it, e.g. `https://warden.acme.example` (behind a proxy: the proxy's). The IdP app must allow the redirect URI `<publicUrl>/console/callback`. With `https:` the cookies are `Secure`",
      ),
    scopes: z
      .array(z.string().min(1))
      .default(['openid', 'profile', 'email', 'groups'])
      .describe(
        'Scopes asked for at sign-in. Default `openid profile email groups` (Okta needs `groups` for the groups claim; for Entra use `openid profile email` and configure the groups claim in the app)',
      ),
    stepUpAcr: z
      .string()
      .min(1)
      .optional()
      .describe(
        '`acr_values` sent with the step-up sign-in before an approval (e.g. `urn:okta:loa:2fa:any:ifpossible`); absent: only `max_age=0` and `prompt=login`',
      ),
  })
  .strict()
  .describe('The web console (`/console`): people sign in with this IdP in a browser. Absent: the console does not offer this tenant');
export type OidcConsoleClient = z.infer<typeof OidcConsoleClient>;

export const OidcConfig = z
  .object({
    issuer: z
      .url()
      .describe(
        "Issuer (`iss`) of the tenant IdP's tokens, e.g. `https://acme.okta.com/oauth2/default` or `https://login.microsoftonline.com/<tenant id>/v2.0`",
      ),
    audience: z.string().min(1).describe("Audience (`aud`) Warden accepts: the client id or API identifier of Warden's app in the IdP"),
    jwksUri: z.url().optional().describe('Where the signing keys are; default: `jwks_uri` from `<issuer>/.well-known/openid-configuration`'),
    algorithms: z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .default(['RS256'])
      .describe('Signature algorithms accepted (default `RS256`, what Okta and Entra sign with); `none` and HMAC are never accepted'),
    clockTolerance: Duration('Clock difference tolerated on `exp`, `nbf` and `iat`. Default `30s`').default('30s'),
    subjectClaim: z
      .string()
      .min(1)
      .default('sub')
      .describe(
        "Claim that names the person, best by the id the IdP's events use (Okta `00u…`, the Entra object id). Default `sub`. Which claim carries that id in Okta ID and access tokens (`sub`, `uid`) and in Entra tokens (`oid`) is not verified in Warden's research: decode one of your tokens and check. A login as subject still works: people are also known by their `sub`, `uid`, `oid`, `preferred_username`, `email` and `upn` claims, and Okta and the directory answer to logins",
      ),
    groupsClaim: z.string().min(1).default('groups').describe("Claim with the person's group names. Default `groups`"),
    roles: OidcRoles.default({ helpdesk: [], approver: [], admin: [], auditor: [] }),
    stepUp: z
      .object({
        maxAuthAge: Duration(
          'Approvals, attestations and exceptions need a sign-in (`auth_time`) at most this old; otherwise 401 with a step-up hint. Default `15m`',
        ).default('15m'),
        mfaAmr: z
          .array(z.string().min(1))
          .min(1)
          .default(['mfa'])
          .describe('`amr` values that show a multi-factor sign-in (RFC 8176). Default `["mfa"]` (what Okta and Entra send)'),
      })
      .strict()
      .default({ maxAuthAge: '15m', mfaAmr: ['mfa'] })
      .describe('Recent multi-factor authentication for decisions people make'),
    console: OidcConsoleClient.optional(),
  })
  .strict()
  .describe("People (help desk, approvers, admins, auditors) sign in with the tenant's IdP and send its access or ID token as `Authorization: Bearer <JWT>`");
export type OidcConfig = z.infer<typeof OidcConfig>;

export const ServiceIdentity = z
  .object({
    actor: z.string().min(1).describe('IdP id or login of the integration account that performs changes (e.g. the ServiceNow integration user)'),
    executors: z.array(z.string().min(1)).min(1).describe('Executors (ids or logins) it may act for; `*` for any'),
  })
  .strict();

export const Verifier = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
      .describe('Verifier name, in its callback URL `/hooks/verifiers/<tenant>/<name>`'),
    secret: SecretName("Tenant secret with the verifier's signing secret (`whsec_` + base64, Standard Webhooks)"),
    level: ProofingLevel.default('idv').describe('The proofing level its evidence proves (the verifier cannot claim more). Default `idv`'),
    method: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('Method name recorded with its evidence, e.g. `okta_idv`, `entra_verified_id`, `persona`. Default: the verifier name'),
  })
  .strict();

export const WorkflowConfig = z
  .object({
    requestTtl: Duration('How long an approved request stays valid when the policy sets no `ttl`. Default `1h`').default('1h'),
    openFor: Duration('How long a request may wait for ticket, proofing and approval before it expires. Default `24h`').default('24h'),
    proofing: z
      .object({
        evidenceTtl: Duration('Proofing evidence expires this long after the verification. Default `1h`').default('1h'),
        minFactorAgeDays: z
          .number()
          .int()
          .min(0)
          .max(365)
          .default(7)
          .describe('A push to a factor enrolled or changed fewer days ago does not count. Default `7`'),
        callbackNumberMinAge: Duration('A callback to a number changed more recently than this is refused. Default `30d`').default('30d'),
        raise: z
          .object({
            mailboxRulesWithin: Duration("Inbox rules or forwarding of the requester's mailbox changed this recently raises the level. Default `72h`").default(
              '72h',
            ),
            phoneChangedWithin: Duration('A phone number changed this recently raises the level. Default `7d`').default('7d'),
            untrustedDevice: z.boolean().default(true).describe('A request from an untrusted (unmanaged) device raises the level. Default `true`'),
            atLeast: ProofingLevel.default('manager_attest').describe(
              "A raised level is one step above the policy's and at least this. Default `manager_attest`",
            ),
          })
          .strict()
          .default({ mailboxRulesWithin: '72h', phoneChangedWithin: '7d', untrustedDevice: true, atLeast: 'manager_attest' })
          .describe('Risky context raises the proofing level a request needs'),
      })
      .strict()
      .default({
        evidenceTtl: '1h',
        minFactorAgeDays: 7,
        callbackNumberMinAge: '30d',
        raise: { mailboxRulesWithin: '72h', phoneChangedWithin: '7d', untrustedDevice: true, atLeast: 'manager_attest' },
      })
      .describe('Identity proofing of the requester'),
    breakGlass: z
      .object({
        enabled: z.boolean().default(true).describe('Whether executors may declare break-glass. Default `true`'),
        ttl: Duration('How long a break-glass request stays usable. Default `1h`').default('1h'),
        reviewWithin: Duration('A break-glass review is due this long after the declaration. Default `24h`').default('24h'),
        minReasonLength: z.number().int().min(1).max(500).default(20).describe('Shortest written reason accepted. Default `20`'),
      })
      .strict()
      .default({ enabled: true, ttl: '1h', reviewWithin: '24h', minReasonLength: 20 })
      .describe('Acting without approval in an emergency: allowed, alerted, reviewed'),
    serviceIdentities: z.array(ServiceIdentity).default([]).describe('Integration accounts whose changes may match requests of the executors they act for'),
    brokerIdentities: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "IdP ids or logins Warden's broker acts as — the `actor` the IdP names in the events of the changes Warden makes: for Okta the API token's user (`00u…`, what `warden okta provision` prints) or the OAuth service app's client id; for Entra, the app. Their changes match brokered requests. Broker mode is refused while this is empty",
      ),
    verifiers: z.array(Verifier).default([]).describe('External identity verifiers (IDV vendor, Okta IDV, Entra Verified ID) that post signed evidence'),
    maxExceptionLifetime: Duration('Longest a policy exception may run. Default `90d`').default('90d'),
  })
  .strict()
  .describe('Change requests: proofing, break-glass, service identities, verifiers');
export type WorkflowConfig = z.infer<typeof WorkflowConfig>;

export const WebhookEndpoint = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
      .describe('Endpoint name, in logs and the delivery queue'),
    url: z.url().describe('Where events are POSTed (`https:`; `http:` only to localhost)'),
    secret: SecretName('Tenant secret with the signing secret: `whsec_` + base64 of at least 16 random bytes, 32 recommended (Standard Webhooks)'),
    events: z
      .array(z.string().regex(/^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$/))
      .min(1)
      .default(['*'])
      .describe('Event types sent: exact (`request.approved`), prefix (`request.*`) or `*`. Default all'),
    timeout: Duration('Time allowed for the receiver to answer. Default `10s`').default('10s'),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(50)
      .default(15)
      .describe('Deliveries are retried with backoff (5 s doubling, at most 1 h apart) up to this many attempts, about a day. Default `15`'),
  })
  .strict();
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const WebhooksConfig = z
  .array(WebhookEndpoint)
  .default([])
  .describe(
    'Signed outbound events (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`) for every change-request state change and alert',
  );

/** The workflow settings of a tenant with every default filled in. */
export function workflowDefaults(): WorkflowConfig {
  return WorkflowConfig.parse({});
}
