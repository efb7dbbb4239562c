import { z } from 'zod';
import { SiemConfig } from './siem-config-schema.js';
import { TenantId } from '../core/identity-change.js';
import { OidcConfig, WebhooksConfig, WorkflowConfig } from './workflow-config-schema.js';
import { DURATION_PATTERN, parseDuration } from '../core/policy/duration.js';
import { NotificationsConfig } from './notifications-config-schema.js';

/**
 * The server configuration file, `warden.yaml`. This schema is the
 * documentation: `warden config docs` renders docs/configuration.md from the
 * `.describe()` texts, and a test keeps that file in step.
 */

/** A secret is never written in the file: it names where to read it from. */
export const SecretRef = z
  .union([
    z.object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'environment variable names are upper-case') }).strict(),
    z.object({ file: z.string().min(1) }).strict(),
  ])
  .describe('`{ env: NAME }` reads an environment variable; `{ file: PATH }` reads a file (e.g. a mounted Kubernetes secret), trailing newline removed');
export type SecretRef = z.infer<typeof SecretRef>;

const Duration = z.string().regex(DURATION_PATTERN, 'a duration such as 30m, 1h, 7d');

/** Defaults of the retention section. */
export const RETENTION_DEFAULTS = Object.freeze({ inbox: '30d', ownChanges: '30d', events: '30d', notMeLinks: '30d', ssfSets: '30d', ssfReceived: '30d' });
const RetentionPeriod = Duration.refine((d) => !DURATION_PATTERN.test(d) || parseDuration(d) >= 86_400, 'at least 1d');
/** A received SET's `jti` must outlive the oldest `iat` a receiver accepts (`maxAgeSeconds`, at most 7 days) plus clock tolerance, or a replay could pass. */
const ReplayRetention = Duration.refine(
  (d) => !DURATION_PATTERN.test(d) || parseDuration(d) >= 8 * 86_400,
  'at least 8d (longer than the longest SSF maxAgeSeconds, 7d)',
);

/** Defaults of the console section. */
export const CONSOLE_DEFAULTS = Object.freeze({ sessionIdle: '30m', sessionAbsolute: '8h', signInTimeout: '10m' });

/** Defaults of the detection section, also used where no config is loaded (`warden detect replay` without --tenant). */
export const DETECTION_DEFAULTS = Object.freeze({ allowedLateness: '30m', sourceIdleAfter: '3h', groupFor: '24h', inPolicyFor: '7d' });

/** A tenant's detection settings (src/detect, docs/detection.md). */
export const DetectionConfig = z
  .object({
    enabled: z.boolean().default(true).describe("Correlate this tenant's changes into alerts. Default `true`"),
    rules: z
      .string()
      .min(1)
      .optional()
      .describe(
        "A YAML rule file, or a directory of them, relative to this config file: rules with a shipped rule's id are merged over it key by key (`{ id: x, window: 2h }`, `{ id: x, enabled: false }`), others are added. `warden detect rules --tenant T` shows the result",
      ),
    allowedLateness: Duration.default(DETECTION_DEFAULTS.allowedLateness).describe(
      "How far out of order a change may arrive within its own source (the Okta hook, the Okta System Log, Graph directoryAudits, the Management Activity API, the API, …) and still be correlated: a change older than its source's newest event minus this is late, counted in `warden_detection_late_total` and not correlated. A source that is behind as a whole (a poller back-filling after an outage, Exchange records 60–90 minutes late) is not late: windows wait for it (see `sourceIdleAfter`). Rules may set their own. Default `30m`",
    ),
    sourceIdleAfter: Duration.default(DETECTION_DEFAULTS.sourceIdleAfter).describe(
      "A source that has delivered nothing for this long (by the clock in the server, in event time in a replay) stops holding correlation windows open: absence rules fall due and old state is dropped on the other sources' progress, and its records older than that point are late when it comes back. Time Warden was down does not count, and watermarks survive restarts (docs/detection.md, watermarks). Longer than the longest outage you want back-filled records to still correlate after; shorter keeps absence alerts prompt when a source goes quiet. Default `3h`",
    ),
    alerts: z
      .object({
        groupFor: Duration.default(DETECTION_DEFAULTS.groupFor).describe(
          'Matches on the same person within this span of event time are one alert (one attack, one alert). Default `24h`',
        ),
        inPolicyFor: Duration.default(DETECTION_DEFAULTS.inPolicyFor).describe(
          'How long after its last update an open alert is shown to policy as `context.alerts` for later changes of the same person (as target or actor). Default `7d`',
        ),
      })
      .strict()
      .default({ groupFor: DETECTION_DEFAULTS.groupFor, inPolicyFor: DETECTION_DEFAULTS.inPolicyFor })
      .describe('Alert grouping, and how long alerts weigh on decisions'),
    identities: z
      .object({
        domains: z
          .record(z.string().min(1), z.string().min(1))
          .default({})
          .describe(
            'Domain aliases: `{ acme.onmicrosoft.com: acme.com }` makes `x@acme.onmicrosoft.com` (an Entra UPN) the same person as `x@acme.com` (an Okta login)',
          ),
        aliases: z
          .record(z.string().min(1), z.array(z.string().min(1)).min(1))
          .default({})
          .describe(
            'Canonical identity → other names of the same person: logins, emails, or `<idp>:<id>` (e.g. `entra:5f1c…`), for accounts whose names differ across IdPs',
          ),
      })
      .strict()
      .default({ domains: {}, aliases: {} })
      .describe('Who is the same person across Okta, Entra and Microsoft 365: by default the login / UPN / email, case-insensitive'),
  })
  .strict()
  .default({
    enabled: true,
    allowedLateness: DETECTION_DEFAULTS.allowedLateness,
    sourceIdleAfter: DETECTION_DEFAULTS.sourceIdleAfter,
    alerts: { groupFor: DETECTION_DEFAULTS.groupFor, inPolicyFor: DETECTION_DEFAULTS.inPolicyFor },
    identities: { domains: {}, aliases: {} },
  })
  .describe('Detection of risky chains of changes (docs/detection.md)');
export type DetectionConfig = z.infer<typeof DetectionConfig>;

export const TenantConfig = z
  .object({
    id: TenantId.describe('Tenant id: appears in hook URLs (`/hooks/okta/<id>/…`) and API calls'),
    policy: z.string().min(1).describe('Policy file of the tenant, relative to this config file'),
    secrets: z
      .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/), SecretRef)
      .default({})
      .describe('Named secrets of the tenant (hook shared secrets, API tokens), each a reference; resolved at start, a missing one stops the start'),
    oidc: OidcConfig.optional(),
    workflow: WorkflowConfig.optional(),
    webhooks: WebhooksConfig,
    detection: DetectionConfig,
    siem: SiemConfig,
    notifications: NotificationsConfig.optional(),
  })
  .strict();
export type TenantConfig = z.infer<typeof TenantConfig>;

/** A connector's section under each tenant: its name and schema. */
export interface TenantSection {
  name: string;
  tenantConfig?: z.ZodType;
}

/** The tenant schema with the sections of the given connectors (`tenants[].okta`, …). */
export function tenantConfigWith(sections: readonly TenantSection[]) {
  const extra: Record<string, z.ZodType> = {};
  for (const s of sections) if (s.tenantConfig) extra[s.name] = s.tenantConfig.optional();
  // Typed as the base tenant: connector sections are read by their connector, through `ResolvedTenant.connectors`.
  return TenantConfig.extend(extra).strict() as unknown as typeof TenantConfig;
}

/** The config file schema, with the connectors' tenant sections. */
export function configFileSchema(sections: readonly TenantSection[] = []) {
  return z
    .object({
      listen: z
        .object({
          host: z.string().default('127.0.0.1').describe('Address to bind. Default `127.0.0.1`; use `0.0.0.0` in a container'),
          port: z.number().int().min(0).max(65535).default(8080).describe('TCP port. Default `8080`. Env `PORT` overrides'),
          tls: z
            .object({
              cert: z.string().min(1).describe('PEM file with the server certificate (and its chain), relative to this file'),
              key: SecretRef.describe('The PEM private key of the certificate, as a reference: `{ file: key.pem }` or `{ env: NAME }`'),
            })
            .strict()
            .optional()
            .describe(
              'Serve HTTPS instead of HTTP. Default: plain HTTP (put a TLS-terminating proxy in front in production). Microsoft Graph calls only `https://` notification URLs, so a Warden reached directly by Graph (or by the local Entra simulator in `warden demo`) needs it',
            ),
        })
        .strict()
        .default({ host: '127.0.0.1', port: 8080 })
        .describe('Where the HTTP server listens'),
      database: z
        .object({
          url: z
            .union([z.string().min(1), SecretRef])
            .optional()
            .describe(
              'PostgreSQL URL, or a reference to one. When set, PostgreSQL is the store; when not, the embedded PGlite store is. Env `DATABASE_URL` overrides. A URL with a password must come from a reference',
            ),
          schema: z
            .string()
            .regex(/^[a-z_][a-z0-9_]{0,62}$/)
            .default('public')
            .describe("PostgreSQL schema for Warden's tables. Default `public`"),
          poolSize: z.number().int().min(1).max(100).default(10).describe('PostgreSQL connections per process. Default `10`'),
          connectTimeoutMs: z
            .number()
            .int()
            .min(100)
            .max(60_000)
            .default(2000)
            .describe(
              'Longest wait for a PostgreSQL connection (connecting, or waiting for a free one), in ms; past it the request answers 503 `ERR_STORE`. Default `2000`: under the 3 s Okta and Graph give a hook call, so they see a 503 and retry rather than a timeout. `/readyz` waits at most this long for the store',
            ),
          statementTimeoutMs: z
            .number()
            .int()
            .min(100)
            .max(600_000)
            .default(10_000)
            .describe(
              'Longest a statement may run, in ms (PostgreSQL `statement_timeout`); a connection silent for longer (a stalled network) is dropped. Default `10000`: hook writes take milliseconds, and the slowest legitimate statements (retention purges, audit export pages) fit well within it',
            ),
        })
        .strict()
        .default({ schema: 'public', poolSize: 10, connectTimeoutMs: 2000, statementTimeoutMs: 10_000 })
        .describe('PostgreSQL, for production and several replicas'),
      dataDir: z
        .string()
        .default('.warden')
        .describe(
          'Directory of the embedded store (PGlite), relative to this config file. Default `.warden`. Env `WARDEN_DATA_DIR` overrides (relative to the working directory). One process at a time: Warden locks it',
        ),
      durability: z
        .enum(['full', 'relaxed'])
        .default('full')
        .describe(
          "Embedded store only. `full` (default): commits are fsync'ed and survive a power loss. `relaxed`: PGlite's own default, fsync off: committed data survives a crash of the process, not of the machine",
        ),
      limits: z
        .object({
          bodyBytes: z
            .number()
            .int()
            .min(1024)
            .max(10 * 1024 * 1024)
            .default(1024 * 1024)
            .describe('Largest request body accepted, in bytes; larger bodies get 413. Default 1 MiB'),
        })
        .strict()
        .default({ bodyBytes: 1024 * 1024 })
        .describe('Request limits'),
      retries: z
        .object({
          inbox: z
            .number()
            .int()
            .min(1)
            .max(50)
            .default(10)
            .describe(
              "Attempts at processing one stored delivery (normalize, enrich, decide) before it is marked `failed`, audited `inbox.failed` and listed by `warden inbox list --state failed`. Retried after 2 s, doubling, at most 5 min apart, never sooner than the IdP's rate-limit reset when enrichment was refused by it; on the last attempt a change whose enrichment still fails is decided without it (`context.enrichment: failed`). Default `10`",
            ),
          outbox: z
            .number()
            .int()
            .min(1)
            .max(50)
            .default(8)
            .describe(
              "Attempts at one containment action in the IdP before Warden gives up (audited `action.failed`, shown by `warden holds list`). Retried after 2 s, doubling, at most 10 min apart, never sooner than the IdP's rate-limit reset. Default `8`",
            ),
        })
        .strict()
        .default({ inbox: 10, outbox: 8 })
        .describe('How often the workers try before giving up'),
      retention: z
        .object({
          inbox: RetentionPeriod.default(RETENTION_DEFAULTS.inbox).describe(
            'How long the raw vendor payload of a processed or ignored delivery is kept (it holds addresses, user agents and names). Failed deliveries are kept until dealt with. Changes still de-duplicate vendor events after their delivery is gone. Default `30d`, at least `1d`',
          ),
          ownChanges: RetentionPeriod.default(RETENTION_DEFAULTS.ownChanges).describe(
            'How long Warden remembers the changes it made itself in an IdP (enforcement actions, brokered resets), to recognise them when the IdP reports them back. Default `30d`, at least `1d`',
          ),
          events: RetentionPeriod.default(RETENTION_DEFAULTS.events).describe(
            'How long an outbound event (signed webhook) is kept once every delivery of it succeeded or failed for good. Default `30d`, at least `1d`',
          ),
          notMeLinks: RetentionPeriod.default(RETENTION_DEFAULTS.notMeLinks).describe(
            'How long a "this wasn\'t me" link is kept after it expired (used or not; the answer itself is in the audit log). Default `30d`, at least `1d`',
          ),
          ssfSets: RetentionPeriod.default(RETENTION_DEFAULTS.ssfSets).describe(
            "How long a Security Event Token Warden's SSF transmitter delivered is kept after delivery. Failed SETs are kept until their stream is deleted. Default `30d`, at least `1d`",
          ),
          ssfReceived: ReplayRetention.default(RETENTION_DEFAULTS.ssfReceived).describe(
            "How long the `jti` of a SET Warden's SSF receiver accepted is remembered, to refuse a replay. Default `30d`, at least `8d` (a SET older than its transmitter's `maxAgeSeconds`, at most 7 days, is refused anyway)",
          ),
        })
        .strict()
        .default({ ...RETENTION_DEFAULTS })
        .describe('What Warden deletes after a while (swept every few minutes). Decisions, changes, alerts and the audit log are never deleted'),
      log: z
        .object({
          level: z
            .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
            .default('info')
            .describe('Log level. Default `info`. Env `LOG_LEVEL` overrides'),
        })
        .strict()
        .default({ level: 'info' })
        .describe('Logging (JSON lines on stdout; secrets are redacted)'),
      console: z
        .object({
          sessionIdle: Duration.default(CONSOLE_DEFAULTS.sessionIdle).describe(
            'A console session with no activity for this long ends; the person signs in again. Default `30m`',
          ),
          sessionAbsolute: Duration.default(CONSOLE_DEFAULTS.sessionAbsolute).describe(
            'A console session ends this long after sign-in, active or not. Default `8h`',
          ),
          signInTimeout: Duration.default(CONSOLE_DEFAULTS.signInTimeout).describe(
            'How long a sign-in at the IdP may take before its callback is refused. Default `10m`',
          ),
        })
        .strict()
        .default({ ...CONSOLE_DEFAULTS })
        .describe('The web console (`/console`, docs/console.md). It is served for tenants with `tenants[].oidc.console`'),
      tenants: z.array(tenantConfigWith(sections)).min(1, 'configure at least one tenant').describe('The IdP tenants Warden governs, each with its policy'),
    })
    .strict()
    .superRefine((cfg, ctx) => {
      const seen = new Set<string>();
      cfg.tenants.forEach((t, i) => {
        if (seen.has(t.id)) ctx.addIssue({ code: 'custom', path: ['tenants', i, 'id'], message: `tenant "${t.id}" is configured twice` });
        seen.add(t.id);
      });
      const url = cfg.database.url;
      if (typeof url === 'string') {
        try {
          if (new URL(url).password)
            ctx.addIssue({
              code: 'custom',
              path: ['database', 'url'],
              message: 'the URL holds a password: use { env: DATABASE_URL } instead of writing it in the file',
            });
        } catch {
          ctx.addIssue({ code: 'custom', path: ['database', 'url'], message: 'not a URL' });
        }
      }
    });
}

/** The config file schema without connectors. */
export const WardenConfigFile = configFileSchema();
export type WardenConfigFile = z.infer<typeof WardenConfigFile>;
