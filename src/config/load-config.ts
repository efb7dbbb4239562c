import { existsSync, readFileSync } from 'node:fs';
import type { SiemOcsfSink } from './siem-config-schema.js';
import path from 'node:path';
import { inspect } from 'node:util';
import { LineCounter, parseDocument } from 'yaml';
import { WardenError } from '../core/errors.js';
import { SourcePositions } from '../core/source-positions.js';
import type { OidcConfig, WebhookEndpoint, WorkflowConfig } from './workflow-config-schema.js';
import { parseDuration } from '../core/policy/duration.js';
import { notificationSecretNames, type NotificationsConfig } from './notifications-config-schema.js';
import { configFileSchema, DetectionConfig, type SecretRef, type TenantSection } from './config-schema.js';

/** A secret value that does not print itself: logs, JSON and `inspect` show `[redacted]`. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The secret itself; call only where it is used. */
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

/** A tenant's detection settings, durations in milliseconds and the rules path made absolute. */
export interface ResolvedDetection {
  enabled: boolean;
  /** Absolute path of the tenant's rule file or directory, if any. */
  rules?: string;
  allowedLatenessMs: number;
  /** A source silent for this long stops holding correlation windows open. */
  sourceIdleAfterMs: number;
  groupForMs: number;
  inPolicyForMs: number;
  identities: { domains: Readonly<Record<string, string>>; aliases: Readonly<Record<string, readonly string[]>> };
}

/** Detection settings when a tenant's config says nothing (the schema's defaults). */
export function defaultDetection(): ResolvedDetection {
  return resolveDetection(DetectionConfig.parse({}), '.');
}

/** The detection section as Warden uses it. */
export function resolveDetection(d: DetectionConfig, baseDir: string): ResolvedDetection {
  return Object.freeze({
    enabled: d.enabled,
    ...(d.rules ? { rules: path.resolve(baseDir, d.rules) } : {}),
    allowedLatenessMs: parseDuration(d.allowedLateness) * 1000,
    sourceIdleAfterMs: parseDuration(d.sourceIdleAfter) * 1000,
    groupForMs: parseDuration(d.alerts.groupFor) * 1000,
    inPolicyForMs: parseDuration(d.alerts.inPolicyFor) * 1000,
    identities: { domains: d.identities.domains, aliases: d.identities.aliases },
  });
}

export interface ResolvedTenant {
  id: string;
  /** Absolute path of the policy file. */
  policyFile: string;
  /** Resolved secrets; empty when the config was loaded without resolving them (CLI). */
  secrets: Readonly<Record<string, Secret>>;
  /** The references, for messages. */
  secretRefs: Readonly<Record<string, SecretRef>>;
  /** Connector sections (`okta`, `entra`, …) as their schemas parsed them. */
  connectors: Readonly<Record<string, unknown>>;
  /** How people sign in (change requests, approvals); absent: people cannot sign in. */
  oidc?: OidcConfig;
  /** Change-request settings; absent: the defaults. */
  workflow?: WorkflowConfig;
  /** Signed outbound event endpoints. */
  webhooks?: readonly WebhookEndpoint[];
  /** Detection settings (src/detect). */
  detection: ResolvedDetection;
  /** SIEM export (`siem`): absent when not configured. */
  siem?: { ocsf?: SiemOcsfSink };
  /** Chat and e-mail channels, routes, the "this wasn't me" notice (src/notify/channels). */
  notifications?: NotificationsConfig;
}

export type StoreConfig =
  | { driver: 'pglite'; dataDir: string; durability: 'full' | 'relaxed' }
  | { driver: 'postgres'; url: Secret; schema: string; poolSize: number; connectTimeoutMs: number; statementTimeoutMs: number };

/** The configuration after validation, environment overrides and path resolution. Frozen. */
export interface WardenConfig {
  /** Absolute path of the file it came from. */
  file: string;
  /** Where the server listens; `tls` (certificate chain and private key, PEM) when it serves HTTPS. */
  listen: { host: string; port: number; tls?: { cert: string; key: Secret } };
  store: StoreConfig;
  bodyBytes: number;
  logLevel: string;
  /** Attempts before the inbox and outbox workers give up (`retries`). */
  retries: Readonly<{ inbox: number; outbox: number }>;
  /** How long each kind of kept-for-a-while row lives, in ms (`retention`). */
  retention: Readonly<{ inboxMs: number; ownChangesMs: number; eventsMs: number; notMeLinksMs: number; ssfSetsMs: number; ssfReceivedMs: number }>;
  tenants: readonly ResolvedTenant[];
  /** The web console's session timeouts, in ms (`console`); absent: the defaults. */
  console?: Readonly<{ sessionIdleMs: number; sessionAbsoluteMs: number; signInTimeoutMs: number }>;
}

export interface LoadConfigOptions {
  /** `--config`; otherwise `WARDEN_CONFIG`, otherwise `./warden.yaml`. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolve tenant secrets now (the server does; CLI commands that need none do not). */
  resolveSecrets?: boolean;
  /** Connectors whose tenant sections the file may contain. */
  connectors?: readonly TenantSection[];
}

/** Where the config file is: `--config`, else `WARDEN_CONFIG`, else `warden.yaml` in the working directory. */
export function configPath(options: Pick<LoadConfigOptions, 'path' | 'env' | 'cwd'> = {}): string {
  const env = options.env ?? process.env;
  return path.resolve(options.cwd ?? process.cwd(), options.path ?? env.WARDEN_CONFIG ?? 'warden.yaml');
}

/**
 * Reads a secret reference: `{ env }` from the environment, `{ file }` from a
 * file (relative to `baseDir`, trailing newline removed).
 * @throws WardenError `ERR_CONFIG_INVALID` naming `where` when it is missing
 */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv, where: string, baseDir: string): Secret {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new WardenError('ERR_CONFIG_INVALID', `${where}: environment variable ${ref.env} is not set`);
    return new Secret(value);
  }
  const file = path.resolve(baseDir, ref.file);
  try {
    return new Secret(readFileSync(file, 'utf8').replace(/\r?\n$/, ''));
  } catch (err) {
    throw new WardenError('ERR_CONFIG_INVALID', `${where}: cannot read secret file ${file}: ${(err as Error).message}`);
  }
}

/**
 * Reads, validates and resolves `warden.yaml`. Errors name file:line:column.
 * Environment overrides: `PORT`, `DATABASE_URL`, `WARDEN_DATA_DIR`,
 * `LOG_LEVEL` (and `WARDEN_CONFIG` for the file itself).
 *
 * @throws WardenError `ERR_CONFIG_INVALID`
 */
export function loadConfig(options: LoadConfigOptions = {}): WardenConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = configPath({ ...options, env, cwd });
  if (!existsSync(file))
    throw new WardenError('ERR_CONFIG_INVALID', `no config file at ${file}; pass --config FILE, set WARDEN_CONFIG, or create one with \`warden init\``);
  const text = readFileSync(file, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const positions = new SourcePositions(doc, lineCounter, text);
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const at = positions.at(e.pos[0]);
      return `${file}:${at.line}:${at.column}: YAML: ${e.message.split('\n')[0]}`;
    });
    throw new WardenError('ERR_CONFIG_INVALID', `config refused\n${lines.join('\n')}`);
  }
  const connectors = options.connectors ?? [];
  const parsed = configFileSchema(connectors).safeParse(doc.toJS());
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const at = positions.of(issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path);
      return `${file}:${at.line}:${at.column}: ${issue.path.join('.') || '(document)'}: ${issue.message}`;
    });
    throw new WardenError('ERR_CONFIG_INVALID', `config refused\n${lines.join('\n')}`, { details: parsed.error.issues });
  }
  const cfg = parsed.data;
  const baseDir = path.dirname(file);

  let port = cfg.listen.port;
  if (env.PORT !== undefined && env.PORT !== '') {
    port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WardenError('ERR_CONFIG_INVALID', `PORT=${env.PORT} is not a TCP port`);
  }

  let tls: { cert: string; key: Secret } | undefined;
  if (cfg.listen.tls) {
    const certFile = path.resolve(baseDir, cfg.listen.tls.cert);
    let cert: string;
    try {
      cert = readFileSync(certFile, 'utf8');
    } catch (err) {
      throw new WardenError('ERR_CONFIG_INVALID', `${file}: listen.tls.cert: cannot read ${certFile}: ${(err as Error).message}`);
    }
    if (!cert.includes('-----BEGIN CERTIFICATE-----'))
      throw new WardenError('ERR_CONFIG_INVALID', `${file}: listen.tls.cert: ${certFile} holds no PEM certificate`);
    tls = { cert, key: resolveSecret(cfg.listen.tls.key, env, `${file}: listen.tls.key`, baseDir) };
  }

  const urlFromEnv = env.DATABASE_URL !== undefined && env.DATABASE_URL !== '' ? new Secret(env.DATABASE_URL) : undefined;
  const urlFromFile =
    cfg.database.url === undefined
      ? undefined
      : typeof cfg.database.url === 'string'
        ? new Secret(cfg.database.url)
        : resolveSecret(cfg.database.url, env, `${file}: database.url`, baseDir);
  const url = urlFromEnv ?? urlFromFile;
  const store: StoreConfig = url
    ? {
        driver: 'postgres',
        url,
        schema: cfg.database.schema,
        poolSize: cfg.database.poolSize,
        connectTimeoutMs: cfg.database.connectTimeoutMs,
        statementTimeoutMs: cfg.database.statementTimeoutMs,
      }
    : {
        driver: 'pglite',
        dataDir: env.WARDEN_DATA_DIR ? path.resolve(cwd, env.WARDEN_DATA_DIR) : path.resolve(baseDir, cfg.dataDir),
        durability: cfg.durability,
      };

  const tenants: ResolvedTenant[] = cfg.tenants.map((t) => {
    const secrets: Record<string, Secret> = {};
    if (options.resolveSecrets)
      for (const [name, ref] of Object.entries(t.secrets)) secrets[name] = resolveSecret(ref, env, `${file}: tenant ${t.id} secret ${name}`, baseDir);
    const sections: Record<string, unknown> = {};
    for (const p of connectors) if ((t as Record<string, unknown>)[p.name] !== undefined) sections[p.name] = (t as Record<string, unknown>)[p.name];
    // Webhook and verifier secrets are names of tenant secrets: a typo must stop the start, not a delivery.
    for (const [what, name] of [
      ...t.webhooks.map((w) => [`webhooks ${w.name}`, w.secret]),
      ...(t.workflow?.verifiers ?? []).map((v) => [`verifier ${v.name}`, v.secret]),
      ...(t.siem?.ocsf?.secret ? [['siem.ocsf', t.siem.ocsf.secret]] : []),
      ...(t.oidc?.console?.clientSecret ? [['oidc.console.clientSecret', t.oidc.console.clientSecret]] : []),
      ...(t.notifications ? notificationSecretNames(t.notifications) : []),
    ])
      if (!(name! in t.secrets)) throw new WardenError('ERR_CONFIG_INVALID', `${file}: tenant ${t.id} ${what}: secret "${name}" is not in tenants[].secrets`);
    return Object.freeze({
      id: t.id,
      policyFile: path.resolve(baseDir, t.policy),
      secrets: Object.freeze(secrets),
      secretRefs: Object.freeze({ ...t.secrets }),
      connectors: Object.freeze(sections),
      ...(t.oidc ? { oidc: t.oidc } : {}),
      ...(t.workflow ? { workflow: t.workflow } : {}),
      webhooks: Object.freeze([...t.webhooks]),
      detection: resolveDetection(t.detection, baseDir),
      ...(t.siem?.ocsf ? { siem: Object.freeze({ ocsf: t.siem.ocsf }) } : {}),
      ...(t.notifications ? { notifications: t.notifications } : {}),
    });
  });

  const logLevel = env.LOG_LEVEL || cfg.log.level;
  return Object.freeze({
    file,
    listen: Object.freeze({ host: cfg.listen.host, port, ...(tls ? { tls } : {}) }),
    store: Object.freeze(store),
    bodyBytes: cfg.limits.bodyBytes,
    logLevel,
    retries: Object.freeze({ inbox: cfg.retries.inbox, outbox: cfg.retries.outbox }),
    retention: Object.freeze({
      inboxMs: parseDuration(cfg.retention.inbox) * 1000,
      ownChangesMs: parseDuration(cfg.retention.ownChanges) * 1000,
      eventsMs: parseDuration(cfg.retention.events) * 1000,
      notMeLinksMs: parseDuration(cfg.retention.notMeLinks) * 1000,
      ssfSetsMs: parseDuration(cfg.retention.ssfSets) * 1000,
      ssfReceivedMs: parseDuration(cfg.retention.ssfReceived) * 1000,
    }),
    tenants: Object.freeze(tenants),
    console: Object.freeze({
      sessionIdleMs: parseDuration(cfg.console.sessionIdle) * 1000,
      sessionAbsoluteMs: parseDuration(cfg.console.sessionAbsolute) * 1000,
      signInTimeoutMs: parseDuration(cfg.console.signInTimeout) * 1000,
    }),
  });
}
