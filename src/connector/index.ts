/**
 * The one public surface of Warden for connectors (connectors/<vendor>):
 * everything a connector may use, and nothing else. A connector imports
 * this module and `src/core`; test/architecture/layers.test.ts fails on any
 * other import from src/. What a connector needs beyond this is given to it
 * through the contract (`ConnectorContext`, `CliContext`, `OpContext`).
 *
 * @example
 *   import { ActionError, type Connector, type ConnectorContext } from '../../src/connector/index.js';
 */

// The contract: what a connector provides, and what Warden gives it.
export {
  ActionError,
  ProofingRefused,
  type Broker,
  type BrokerRequest,
  type BrokerResult,
  type CliContext,
  type Connector,
  type ConnectorContext,
  type DecideResult,
  type Directory,
  type Enforcer,
  type IdentityProofer,
  type InboxHandler,
  mayRetryInbox,
  type RawRoute,
  type RecordNormalizer,
  type StoppedFeed,
  type TicketLookup,
  type TicketPerson,
  type TicketSnapshot,
  type TicketSystemName,
} from './contract.js';
export type { ConnectorStore, ConnectorStoreOps } from './connector-store.js';
// The receivers' group commit of inbox inserts (one statement for the deliveries that arrive together).
export { storeDeliveries, type StoredEntry } from './inbox-group-commit.js';
export { op, type OpContext, type Operation } from './operation.js';
export type { RouteDoc } from './route-doc.js';

// Warden's own changes: recorded before acting, recognised when the IdP reports them back; broker runs once per request.
export {
  actedAs,
  actionRef,
  BROKER_RUN_IN_FLIGHT_MS,
  brokerRef,
  isBrokerRun,
  OWN_CHANGE_WINDOW,
  OwnChanges,
  type OwnChangeIntent,
  type Recognised,
} from './own-changes.js';

// The poller skeleton: cursor window with overlap, lease, schedule, back-off, back-fill by hand and of a gap (Okta System Log, Entra directoryAudits, M365 Management Activity).
export {
  backfillPrinter,
  backfillProgress,
  backfillProgressLine,
  createPoller,
  durationOf,
  nextWindow,
  overlapOf,
  pollerMetrics,
  runBackfill,
  shortDuration,
  type BackfillProgress,
  type BackfillResult,
  type BackfillSource,
  type Duration,
  type Poller,
  type PollerContext,
  type PollOutcome,
  type PollSource,
  type PollWindow,
  type ReadOutcome,
  type ReadPause,
  type ReadProgress,
} from './poller.js';

// The demo kit: what `warden demo` asks of the simulators (connectors/demo implements it).
export {
  DEMO_ACTIONS,
  type ActRequest,
  type ActResult,
  type DemoKit,
  type DemoKitInput,
  type DemoPersona,
  type DemoSimulators,
  type PersonState,
} from './demo-kit.js';

// A connector's per-tenant runtime, built once per configuration, and the secrets its section names.
export { createTenantSections, resolveSectionSecret, type TenantSections } from './tenant-sections.js';

// Raw routes: reading bodies and writing answers on plain node:http.
export { readJsonBody, writeEmpty, writeJson, type ReadJsonBodyOptions } from './raw-http.js';

// Store rows a connector reads or writes through ConnectorStore.
export type { ActionRow, BrokerRun, InboxEntry, InboxRow, OwnChange, SsfSetEntry, SsfSetRow, SsfStreamRow, SsfStreamStatus } from '../store/store.js';

// Audit records a connector appends (subscription changes, brokered runs, inline-hook decisions).
export { appendAudit, type AuditActor, type AuditEvent, type AuditRecord } from '../audit/audit-log.js';

// Configuration: the tenant's section and its secrets.
export { SecretRef } from '../config/config-schema.js';
export { resolveSecret, Secret, type ResolvedTenant, type WardenConfig } from '../config/load-config.js';

// The running process: background work, logging, metrics, CLI output.
export { BackgroundLoop } from '../runtime/background-loop.js';
export type { Logger } from '../runtime/logger.js';
export type { Metrics } from '../runtime/metrics.js';
export type { CliIo } from '../runtime/cli-io.js';

// Where Warden is installed and how people run it (for messages that name a command).
export { packageRoot, wardenCommand } from '../package-root.js';

// Directory snapshots (`warden <idp> directory export`): the tenant's identity links, and writing one.
export { identitiesOf, writeSnapshot } from './directory-snapshot-output.js';
