import { systemClock } from '../core/clock.js';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { operationRegistry } from '../admin/operations.js';
import { appendAudit } from '../audit/audit-log.js';
import type { WardenConfig } from '../config/load-config.js';
import type { CompiledPolicy } from '../core/policy/compile-policy.js';
import { formatPolicyIssue } from '../core/policy/compile-policy.js';
import type { Alert } from '../core/alert.js';
import { DetectionRegistry } from '../detect/detection-registry.js';
import { StoreDetector } from '../detect/store-detector.js';
import { wakingAfterOutbound } from '../notify/wake-after-outbound.js';
import { publishAlertEvents } from '../notify/publish-alert-events.js';
import { BackgroundLoop } from '../runtime/background-loop.js';
import { decideChange, type DecideDeps } from '../engine/decide-change.js';
import { InboxWorker } from '../engine/inbox-worker.js';
import { OutboxWorker } from '../engine/outbox-worker.js';
import { retentionSweep } from '../engine/retention-sweep.js';
import { progressOf, reportingRefusedCopies } from '../engine/source-progress.js';
import type { Enforcer, InboxHandler, ConnectorContext, Connector } from '../connector/contract.js';
import { bundledMigrations } from '../store/migrate.js';
import { openStore } from '../store/open-store.js';
import type { Store, StoreTx } from '../store/store.js';
import { adminSocketPath, serveAdminSocket } from '../server/admin-socket.js';
import { ApiKeyVerifier } from '../access/api-keys.js';
import { createApp } from '../server/create-app.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { Metrics } from '../runtime/metrics.js';
import { PolicyRegistry, type ReloadResult } from '../config/policy-registry.js';
import { rawRouteListener } from '../server/raw-routes.js';
import { wardenVersion } from '../server/version.js';
import { OidcVerifier } from '../server/oidc-auth.js';
import { WebhookRoutes } from '../notify/webhook-routes.js';
import { WebhookWorker } from '../notify/webhook-worker.js';
import { ChannelRoutes, combineRoutes } from '../notify/channels/channel-routes.js';
import { ChannelWorker } from '../notify/channels/channel-worker.js';
import { publishDecisionEvents } from '../notify/publish-decision-events.js';
import { publishDeliveryStopped, publishFeedStopped } from '../notify/publish-delivery-stopped.js';
import type { DeliveryRow } from '../store/store.js';
import { NotMeNotifier, type DirectoriesOf } from '../requests/not-me/not-me-notifier.js';
import { ocsfSinkTargets, siemStreamLoop } from '../server/siem-stream.js';
import { portsFromConnectors } from '../requests/request-context.js';
import { answerNotMe } from '../requests/not-me/answer-not-me.js';
import { workflowMetrics } from '../requests/request-metrics.js';
import { Workflow } from '../requests/workflow.js';

export interface StartOptions {
  config: WardenConfig;
  log?: Logger;
  /** Watch policy files and reload on change (default true). */
  watchPolicies?: boolean;
  /** Install SIGHUP (reload) and SIGTERM/SIGINT (graceful stop) handlers (default false; `warden serve` sets it). */
  signals?: boolean;
  clock?: () => Date;
  /** Connectors: receivers mounted, inbox entries and actions routed to them, background work started. */
  connectors?: readonly Connector[];
  /** Run the inbox and outbox workers and the detection sweeper (default true; tests drive them by hand). */
  workers?: boolean;
  /** How long the inbox and outbox workers wait before looking for work nobody woke them for (retries falling due, other replicas' work). Default 1 s. */
  workerIdleMs?: number;
  /** How often the sweepers run: change requests expired and overdue reviews reported (workflow), absence rules falling due and expired state pruned (detection). Default 30 s. */
  sweepMs?: number;
  /** How often the retention sweep deletes what outlived `config.retention`. Default 10 min. */
  retentionSweepMs?: number;
}

export interface RunningServer {
  /** `http://host:port` */
  url: string;
  port: number;
  store: Store;
  policies: PolicyRegistry;
  metrics: Metrics;
  keys: ApiKeyVerifier;
  log: Logger;
  inbox: InboxWorker;
  outbox: OutboxWorker;
  /** Change requests, reviews, exceptions, reports. */
  workflow: Workflow;
  /** Signed outbound events: the routes `publishEvent` needs, and the delivery worker. */
  events: WebhookRoutes;
  webhooks: WebhookWorker;
  /** Chat and e-mail channels (tenants[].notifications) and their worker. */
  channels: ChannelRoutes;
  notifications: ChannelWorker;
  /** "This wasn't me" notices to affected people (src/requests/not-me). */
  notMe: NotMeNotifier;
  /** Detection: correlation in the store; `sweep` fires due absence rules and prunes expired state. */
  detection: StoreDetector;
  /** What connectors get. */
  context: ConnectorContext;
  /** Reload every tenant's policy now (what SIGHUP does). */
  reload(): Promise<ReloadResult[]>;
  close(): Promise<void>;
}

/** Records a policy version in the audit log when it differs from the one recorded before. */
async function recordPolicy(store: Store, policy: CompiledPolicy, now: Date): Promise<void> {
  await store.transaction(async (tx) => {
    const previous = await tx.setTenantPolicy(policy.tenant, policy.version, now);
    if (previous === policy.version) return;
    await appendAudit(tx, policy.tenant, {
      type: 'policy.loaded',
      actor: { type: 'system', id: 'warden' },
      subject: { policyVersion: policy.version },
      data: { file: policy.file, mode: policy.mode, rules: policy.rules.length, ...(previous ? { previous } : {}) },
      at: now,
    });
  });
}

/**
 * Starts Warden: loads every policy (all must be valid), opens the store
 * (migrations applied), serves HTTP, watches the policy files, and for the
 * embedded store serves the admin socket the CLI uses meanwhile.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config } = options;
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const policies = new PolicyRegistry(config.tenants, clock);
  // Rules are compiled before the store opens: a bad rule file stops the start with file:line:column.
  const detections = new DetectionRegistry(config.tenants);
  // A SIEM endpoint that may not be used (plain http to another host) stops the start before the store opens.
  const siemTargets = ocsfSinkTargets(config.tenants);
  const store = await openStore(config.store, 'serve');
  const cleanups: Array<() => Promise<void> | void> = [() => store.close()];
  const fail = async (err: unknown): Promise<never> => {
    for (const c of cleanups.reverse()) await c();
    throw err;
  };

  try {
    const storeLog = { driver: store.driver, location: store.location, durability: store.durability };
    if (store.driver === 'pglite' && !store.durability.startsWith('full'))
      log.warn(
        storeLog,
        'embedded store (PGlite) is the default store; it is not crash-safe against power loss in this mode: use PostgreSQL (DATABASE_URL) in production',
      );
    else if (store.driver === 'pglite') log.info(storeLog, 'embedded store (PGlite) is the default store; for several replicas use PostgreSQL (DATABASE_URL)');
    else log.info(storeLog, 'store: PostgreSQL');

    await store.ensureTenants(policies.tenants());
    const metrics = new Metrics();
    for (const tenant of policies.tenants()) {
      const policy = policies.get(tenant);
      await recordPolicy(store, policy, clock());
      metrics.setPolicy(tenant, policy.version, policy.mode);
      log.info({ tenant, policy: policy.file, version: policy.version, mode: policy.mode, rules: policy.rules.length }, 'policy loaded');
    }

    const onReload = async (result: ReloadResult) => {
      metrics.policyReloads.inc({ tenant: result.tenant, result: result.status });
      if (result.status === 'rejected') {
        log.error(
          { tenant: result.tenant, kept: result.kept, issues: result.issues.map(formatPolicyIssue) },
          `policy change refused; still enforcing ${result.kept ?? 'nothing'}`,
        );
        return;
      }
      if (result.status === 'loaded') {
        metrics.setPolicy(result.tenant, result.policy.version, result.policy.mode);
        await recordPolicy(store, result.policy, clock()).catch((err: unknown) =>
          log.error({ err, tenant: result.tenant }, 'could not record the policy change'),
        );
        log.info({ tenant: result.tenant, version: result.policy.version, previous: result.previous, mode: result.policy.mode }, 'policy reloaded');
      }
    };

    const keys = new ApiKeyVerifier(store, undefined, () => clock().getTime());
    const connectors = options.connectors ?? [];
    const detection = new StoreDetector(detections, { registry: metrics.registry });
    for (const tenant of detections.tenants()) {
      const pack = detections.get(tenant)!.engine.pack;
      log.info({ tenant, rules: pack.rules.length, disabled: pack.disabled, version: pack.version, files: pack.files.length }, 'detection rules loaded');
    }
    const onDecision = (d: { tenant: string; outcome: string; mode: string }) => metrics.decisions.inc({ tenant: d.tenant, outcome: d.outcome, mode: d.mode });
    const logAlert = (alert: Alert) =>
      log.warn(
        { tenant: alert.tenant, alertId: alert.id, rule: alert.rule, severity: alert.severity, key: alert.key, summary: alert.summary },
        'detection alert',
      );
    const onAlerts = (alerts: readonly Alert[]) => alerts.forEach(logAlert);
    let context: ConnectorContext;
    const events = new WebhookRoutes(config.tenants);
    const channels = new ChannelRoutes(config.tenants);
    cleanups.push(() => channels.close());
    // One event stream: every published event reaches the webhooks and the chat and e-mail channels that want it.
    const routes = combineRoutes(events, channels);
    const gaveUp = async (d: DeliveryRow, error: string) => {
      await store.transaction((tx) => publishDeliveryStopped(tx, routes, d, error, clock()));
      wakeOutbound();
    };
    const webhooks = new WebhookWorker({
      store,
      routes: events,
      log,
      registry: metrics.registry,
      clock,
      onGaveUp: gaveUp,
      ...(options.workerIdleMs !== undefined ? { idleMs: options.workerIdleMs } : {}),
    });
    const notifications = new ChannelWorker({
      store,
      routes: channels,
      log,
      registry: metrics.registry,
      clock,
      onGaveUp: gaveUp,
      ...(options.workerIdleMs !== undefined ? { idleMs: options.workerIdleMs } : {}),
    });
    const directories: DirectoriesOf = (tenant) => {
      const t = config.tenants.find((x) => x.id === tenant);
      return connectors.filter((p) => t?.connectors[p.name] !== undefined && p.directory).map((p) => ({ connector: p.name, directory: p.directory! }));
    };
    const requestPorts = portsFromConnectors(connectors, config);
    const notMe = new NotMeNotifier({
      store,
      routes: channels,
      tenants: config.tenants,
      directories,
      connectorContext: () => context,
      pushProofer: (tenant) => requestPorts.proofer(tenant, 'okta_verify_push'),
      answer: (token, answer) =>
        answerNotMe({ ctx: workflow.ctx, tenants: config.tenants, directories }, token, answer, { via: 'okta_verify_push', userAgent: 'Okta Verify push' }),
      log,
      clock,
      registry: metrics.registry,
      ...(options.workerIdleMs !== undefined ? { idleMs: options.workerIdleMs } : {}),
    });
    const wakeOutbound = () => {
      webhooks.wake();
      notifications.wake();
      notMe.wake();
    };
    const workflow = new Workflow({
      store,
      policies,
      config,
      routes,
      ports: requestPorts,
      connectorContext: () => context,
      clock,
      detection,
      metrics: workflowMetrics(metrics.registry, store, clock, () => policies.tenants()),
      onPublished: () => {
        wakeOutbound();
        // An approval may have released a hold: its undo actions are queued.
        outbox.wake();
      },
    });
    // Detection alerts go out as signed events (alert.raised) in the transaction that raised them.
    const publishAlerts = (tx: StoreTx, alerts: readonly Alert[]) => publishAlertEvents(tx, routes, alerts);
    const publishDecision: DecideDeps['publishDecision'] = (tx, input) => publishDecisionEvents(tx, routes, input);
    const decideDeps = {
      policies,
      ...(options.clock ? { clock: options.clock } : {}),
      onDecision,
      workflow: workflow.decisionWorkflow(),
      detection,
      onAlerts,
      publishAlerts,
      publishDecision,
    };
    // Decisions wake the webhook, channel and "not me" workers only when they queued something for them.
    const decisionStore = wakingAfterOutbound(store, wakeOutbound);
    const inbox = new InboxWorker({
      store: decisionStore,
      decide: decideDeps,
      handlers: new Map(connectors.filter((p): p is Connector & { inbox: InboxHandler } => !!p.inbox).map((p) => [p.name, p.inbox])),
      context: () => context,
      log,
      registry: metrics.registry,
      clock,
      maxAttempts: config.retries.inbox,
      // A hold or deny queued actions: run them now, not at the outbox's idle tick (containment time).
      onDecided: (result) => {
        if (result.actions.length) outbox.wake();
      },
      ...(options.workerIdleMs !== undefined ? { idleMs: options.workerIdleMs } : {}),
    });
    const outbox = new OutboxWorker({
      store,
      enforcers: new Map(connectors.filter((p): p is Connector & { enforcer: Enforcer } => !!p.enforcer).map((p) => [p.name, p.enforcer])),
      context: () => context,
      log,
      registry: metrics.registry,
      clock,
      maxAttempts: config.retries.outbox,
      ...(options.workerIdleMs !== undefined ? { idleMs: options.workerIdleMs } : {}),
    });
    context = {
      config,
      // A delivery the inbox refuses as a copy still moves its source's detection watermark.
      store: reportingRefusedCopies(store, (entry) => progressOf(detection, entry, clock())),
      policies,
      log,
      metrics,
      clock,
      instanceId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      wakeInbox: () => inbox.wake(),
      decide: async (change, actor, opts) => {
        const result = await decideChange({ store: decisionStore, ...decideDeps }, { change, actor, observed: opts?.observed ?? true });
        if (result.actions.length) outbox.wake();
        return result;
      },
      deliveryStopped: async (feed) => {
        await store.transaction((tx) => publishFeedStopped(tx, routes, feed, clock()));
        log.error({ tenant: feed.tenant, kind: feed.kind, name: feed.name, error: feed.error }, 'a vendor feed stopped delivering to Warden');
        wakeOutbound();
      },
    };
    const app = createApp({
      store,
      policies,
      metrics,
      log,
      keys,
      bodyBytes: config.bodyBytes,
      expectedMigrations: bundledMigrations().map((m) => m.version),
      version: wardenVersion(),
      ...(options.clock ? { clock: options.clock } : {}),
      connectors,
      connectorContext: () => context,
      workflow,
      oidc: new OidcVerifier(config.tenants, { clock }),
      detection,
      ...(config.tenants.some((t) => t.oidc?.console)
        ? {
            console: {
              store,
              workflow,
              tenants: config.tenants,
              policies,
              clock,
              ...(config.console ? { timeouts: config.console } : {}),
              bodyBytes: config.bodyBytes,
              onError: (err: unknown, path: string) => log.error({ err, path }, 'console request failed'),
            },
          }
        : {}),
      notMe: { ctx: workflow.ctx, tenants: config.tenants, directories },
    });

    // Connectors' raw routes (the hottest vendor hooks) are served ahead of express; everything else by the app.
    const listener = rawRouteListener(connectors, { context: () => context, metrics, log }, app);
    const server: Server | TlsServer = await new Promise((resolve, reject) => {
      const tls = config.listen.tls;
      const s = tls ? createTlsServer({ cert: tls.cert, key: tls.key.reveal() }, listener) : createServer(listener);
      s.once('error', reject);
      s.listen(config.listen.port, config.listen.host, () => resolve(s));
    });
    server.keepAliveTimeout = 65_000;
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 5_000).unref();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const host = config.listen.host === '0.0.0.0' || config.listen.host === '::' ? '127.0.0.1' : config.listen.host;
    const url = `${config.listen.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

    if (config.store.driver === 'pglite') {
      const socketPath = adminSocketPath(config.store.dataDir);
      const admin = await serveAdminSocket(socketPath, operationRegistry(connectors), { store, config, onKeyRevoked: (id) => keys.forget(id), clock }, log);
      cleanups.push(() => admin.close());
      store.announceAdminSocket?.(socketPath);
    }

    const detectionSweeper = new BackgroundLoop(
      async () => {
        const swept = await detection.sweep(store, clock());
        swept.alerts.forEach(logAlert);
        if (swept.alerts.length) {
          await store.transaction((tx) => publishAlertEvents(tx, routes, swept.alerts));
          wakeOutbound();
        }
        return 0;
      },
      options.sweepMs ?? 30_000,
      (err) => log.error({ err }, 'detection sweep failed'),
    );
    if (options.workers !== false) {
      const sweeper = new BackgroundLoop(
        async () => {
          await workflow.sweep();
          // Ended and expired console sessions and sign-ins are kept a day (for the replay and expiry messages), then deleted.
          await store.pruneConsole(new Date(clock().getTime() - 86_400_000));
          return 0;
        },
        options.sweepMs ?? 30_000,
        (err) => log.error({ err }, 'workflow sweep failed'),
      );
      const retention = new BackgroundLoop(retentionSweep(store, config.retention, clock, metrics.registry), options.retentionSweepMs ?? 10 * 60_000, (err) =>
        log.error({ err }, 'retention sweep failed'),
      );
      inbox.start();
      outbox.start();
      webhooks.start();
      notifications.start();
      notMe.start();
      sweeper.start();
      detectionSweeper.start();
      retention.start();
      cleanups.push(
        () => inbox.stop(),
        () => outbox.stop(),
        () => webhooks.stop(),
        () => notifications.stop(),
        () => notMe.stop(),
        () => sweeper.stop(),
        () => detectionSweeper.stop(),
        () => retention.stop(),
      );
      if (siemTargets.length > 0) {
        const siem = siemStreamLoop({
          store,
          targets: siemTargets,
          clock,
          instanceId: context.instanceId,
          log,
          ...(options.workerIdleMs !== undefined ? { idleMs: options.workerIdleMs } : {}),
        });
        siem.start();
        cleanups.push(() => siem.stop());
        log.info({ tenants: siemTargets.map((t) => t.tenant) }, 'streaming OCSF events to SIEM endpoints (siem.ocsf)');
      }
    }
    for (const connector of connectors) {
      if (!connector.start) continue;
      const task = await connector.start(context);
      cleanups.push(() => task.stop());
      log.info({ connector: connector.name }, 'connector started');
    }

    if (options.watchPolicies !== false) {
      policies.watch((r) => void onReload(r));
      cleanups.push(() => policies.close());
    }

    const reload = async () => {
      const results = policies.reloadAll();
      for (const r of results) await onReload(r);
      return results;
    };

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        for (const c of [...cleanups].reverse()) await c();
        log.info('stopped');
      })());

    if (options.signals) {
      const onHup = () => void reload();
      const onStop = (signal: string) => {
        log.info({ signal }, 'stopping');
        void close().then(() => process.exit(0));
      };
      process.on('SIGHUP', onHup);
      process.once('SIGTERM', onStop);
      process.once('SIGINT', onStop);
      cleanups.push(() => {
        process.off('SIGHUP', onHup);
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
      });
    }

    log.info({ url, tenants: policies.tenants() }, 'listening');
    return {
      url,
      port,
      store,
      policies,
      metrics,
      keys,
      log,
      inbox,
      outbox,
      workflow,
      events,
      webhooks,
      channels,
      notifications,
      notMe,
      detection,
      context,
      reload,
      close,
    };
  } catch (err) {
    return fail(err);
  }
}
