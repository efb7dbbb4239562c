import { z } from 'zod';
import { SecretRef } from '../../src/connector/index.js';
import { resolveSectionSecret, type ResolvedTenant, type Secret, type WardenConfig } from '../../src/connector/index.js';

/**
 * The `ssf` section of a tenant in warden.yaml: Warden as a Shared Signals
 * transmitter (`transmitter`) and as a receiver (`receiver`). This schema is
 * the documentation: docs/configuration.md is rendered from it; docs/ssf.md
 * is the guide.
 */

/** A secret: the name of one of the tenant's `secrets`, or a reference written here. */
export const SsfSecret = z
  .union([z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, "name one of the tenant's `secrets`"), SecretRef])
  .describe("The name of one of the tenant's `secrets`, or a reference `{ env: NAME }` / `{ file: PATH }`");
export type SsfSecret = z.infer<typeof SsfSecret>;

const Name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, '1-63 lower-case letters, digits, "-" or "_"');
const Instant = z.iso.datetime({ offset: true });

const SigningKey = z
  .object({
    kid: z.string().min(1).max(128).describe("Key id, published in the JWKS and sent in each SET's header"),
    privateKey: SsfSecret.describe('The RSA private key (PKCS#8 PEM, or a private JWK as JSON), 2048 bits or more: a tenant secret name or a reference'),
    notBefore: Instant.optional().describe('Signing starts at this instant (publish the key in the JWKS ahead of use). Default: at once'),
    notAfter: Instant.optional().describe(
      'Signing with it stops at this instant; it stays in the JWKS for `keyOverlapSeconds` more, so SETs signed just before still verify',
    ),
  })
  .strict();

const TransmitterReceiver = z
  .object({
    name: Name.describe('Who this receiver is (`okta`, `partner-idp`): its streams are its own'),
    token: SsfSecret.describe('Bearer token it presents to the stream management and poll endpoints (`Authorization: Bearer …`), compared in constant time'),
    audience: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('The `aud` of the SETs it receives (SSF 1.0 "The aud Claim"), e.g. its org URL'),
    subjectFormat: z
      .enum(['email', 'opaque'])
      .default('email')
      .describe(
        "How SETs name people (`sub_id`): `email` (the person's e-mail or login when it is one, else `opaque` with the IdP id) or always `opaque`. Default `email`",
      ),
  })
  .strict();

const Transmitter = z
  .object({
    issuer: z
      .url()
      .describe(
        "The transmitter's issuer (`iss` of every SET): Warden's public URL followed by `/ssf/<tenant>`, e.g. `https://warden.example.com/ssf/acme`. https in production",
      ),
    signingKeys: z
      .array(SigningKey)
      .min(1)
      .describe(
        'RS256 signing keys. The newest one in its validity window signs; every key not past `notAfter` + `keyOverlapSeconds` is in the JWKS (rotation: add the new key with a later `notBefore`, then set `notAfter` on the old one)',
      ),
    keyOverlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(86_400)
      .describe('How long a retired key stays in the JWKS after its `notAfter`. Default `86400`'),
    receivers: z.array(TransmitterReceiver).default([]).describe('Who may create streams, and with which token'),
    oktaUserRisk: z
      .boolean()
      .default(false)
      .describe(
        "Also send Okta's `user-risk-change` (high) when a person is held or alerted on, so Okta Identity Threat Protection's entity risk policy can react. Default `false`",
      ),
    push: z
      .object({
        maxAttempts: z.number().int().min(1).max(100).default(12).describe('Attempts before a pushed SET is marked failed (kept and listed). Default `12`'),
        timeoutMs: z.number().int().min(100).max(60_000).default(10_000).describe('Per-request timeout. Default `10000`'),
      })
      .strict()
      .default({ maxAttempts: 12, timeoutMs: 10_000 })
      .describe('Push delivery (RFC 8935): attempts and timeout; retries back off from 5 s, doubling, to an hour'),
    pollWaitSeconds: z
      .number()
      .int()
      .min(0)
      .max(60)
      .default(20)
      .describe('How long a poll with `returnImmediately: false` waits for a SET before answering empty (RFC 8936). Default `20`'),
  })
  .strict();

const TransmitterPeer = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}$/, '1-32 lower-case letters, digits, "-" or "_", starting with a letter')
      .describe("The transmitter's name in Warden: the `source.idp` of the changes it reports, and the last segment of its push URL"),
    issuer: z.url().describe('Its issuer: the `iss` its SETs must carry; its configuration is read from `/.well-known/ssf-configuration` under it'),
    jwksUri: z.url().optional().describe('Where its signing keys are. Default: `jwks_uri` of its configuration document'),
    audience: z.string().min(1).describe('The `aud` its SETs must carry (what the transmitter calls Warden)'),
    push: z
      .object({ authorization: SsfSecret.describe('The exact `Authorization` header value it sends with each push (`authorization_header` of the stream)') })
      .strict()
      .optional()
      .describe('Accept pushed SETs at `POST /ssf/<tenant>/receive/<name>` (RFC 8935)'),
    poll: z
      .object({
        url: z.url().describe("The stream's poll `endpoint_url` (RFC 8936)"),
        token: SsfSecret.describe('Bearer token for it'),
        intervalSeconds: z.number().int().min(1).max(3600).default(30).describe('Seconds between polls when nothing is waiting. Default `30`'),
        maxEvents: z.number().int().min(1).max(1000).default(100).describe('`maxEvents` per poll. Default `100`'),
      })
      .strict()
      .optional()
      .describe('Poll the transmitter for SETs (RFC 8936)'),
    maxAgeSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 86_400)
      .default(3600)
      .describe('A SET whose `iat` is older than this is refused. Default `3600`'),
    clockToleranceSeconds: z.number().int().min(0).max(600).default(60).describe('How far in the future `iat` may be. Default `60`'),
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA']))
      .min(1)
      .default(['RS256'])
      .describe('Signature algorithms accepted (never `none` or HMAC). Default `[RS256]`'),
  })
  .strict()
  .refine((t) => t.push !== undefined || t.poll !== undefined, 'set `push`, `poll` or both');

/** Schema of `tenants[].ssf`. */
export const SsfTenantConfig = z
  .object({
    transmitter: Transmitter.optional().describe(
      'Warden as an SSF transmitter: discovery, JWKS, stream management, push and poll delivery of CAEP / RISC SETs',
    ),
    receiver: z
      .object({ transmitters: z.array(TransmitterPeer).min(1).describe('The transmitters Warden accepts SETs from') })
      .strict()
      .optional()
      .describe('Warden as an SSF receiver: SETs become identity changes, decided like any other'),
  })
  .strict()
  .describe('OpenID Shared Signals (SSF 1.0, CAEP 1.0, RISC 1.0), both directions (docs/ssf.md)');
export type SsfTenantConfig = z.infer<typeof SsfTenantConfig>;
export type SsfTransmitterConfig = z.infer<typeof Transmitter>;
export type SsfTransmitterPeer = z.infer<typeof TransmitterPeer>;
export type SsfReceiverEntry = z.infer<typeof TransmitterReceiver>;

/** The tenant's ssf section, parsed; undefined when it has none. */
export function ssfSection(tenant: ResolvedTenant): SsfTenantConfig | undefined {
  return tenant.connectors.ssf as SsfTenantConfig | undefined;
}

/**
 * Reads a secret of the ssf section. `where` is the setting's path under
 * `ssf.` (for messages that name it).
 *
 * @throws WardenError `ERR_CONFIG_INVALID` naming the setting when the secret is missing
 */
export function resolveSsfSecret(input: SsfSecret, tenant: ResolvedTenant, config: WardenConfig, where: string, env: NodeJS.ProcessEnv = process.env): Secret {
  return resolveSectionSecret('ssf', input, tenant, config, where, env);
}
