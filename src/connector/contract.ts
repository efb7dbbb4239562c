import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Command } from 'commander';
import type { Router } from 'express';
import type { z } from 'zod';
import type { Operation } from './operation.js';
import type { AuditActor } from '../audit/audit-log.js';
import type { WardenConfig } from '../config/load-config.js';
import type { ChangeKind, IdentityChange, Principal } from '../core/identity-change.js';
import type { Clock } from '../core/clock.js';
import type { ProofingLevel } from '../core/proofing.js';
import type { Alert } from '../core/alert.js';
import type { DirectoryIndex } from '../core/directory-snapshot.js';
import type { Decision } from '../core/decision.js';
import { WardenError } from '../core/errors.js';
import type { CliIo } from '../runtime/cli-io.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { RouteDoc } from './route-doc.js';
import type { PolicyRegistry } from '../config/policy-registry.js';
import type { ActionEntry, ActionRow, InboxEntry, InboxRow } from '../store/store.js';
import type { ConnectorStore } from './connector-store.js';

/**
 * The contract between Warden and a connector (connectors/<vendor>): what a
 * connector may provide, and what Warden gives it. Vendor code lives only in
 * connectors/; src/ knows connectors only through this interface, and the
 * executable (bin/warden.js) hands the list of connectors to the CLI.
 * Connectors import it through src/connector/index.ts, their one view of
 * Warden.
 */

/** What deciding a change returns (src/engine/decide-change.ts; a connector's inline hooks get it from `decide`). */
export interface DecideResult {
  decision: Decision;
  /** true when the change was already decided (same change id or vendor event): the earlier decision is returned. */
  replayed: boolean;
  actions: ActionEntry[];
  /** Alerts this change raised or extended (detection). */
  alerts: Alert[];
}

/**
 * A vendor feed that stopped delivering to Warden (an Entra Graph
 * subscription that cannot be created or renewed, an Okta event hook that
 * failed verification): reported through `ConnectorContext.deliveryStopped`,
 * published as the `delivery.stopped` event like a notification channel
 * that gave up (docs/notifications.md).
 */
export interface StoppedFeed {
  tenant: string;
  /** What stopped, e.g. `subscription`, `event-hook`. */
  kind: string;
  /** Which one, e.g. `entra:/users`. */
  name: string;
  /** Why: the vendor's answer, without secrets. */
  error: string;
}

/** What a running server gives a connector. */
export interface ConnectorContext {
  config: WardenConfig;
  /** The store, narrowed to what a connector does with it. */
  store: ConnectorStore;
  policies: PolicyRegistry;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  /** This process, for leases (`hostname:pid:random`). */
  instanceId: string;
  /** Tells the inbox worker new deliveries are waiting (call after `store.putInbox`). */
  wakeInbox(): void;
  /** Decides and records a change at once (inline hooks, which must answer within the vendor's deadline). */
  decide(change: IdentityChange, actor: AuditActor, options?: { observed?: boolean }): Promise<DecideResult>;
  /**
   * Publishes `delivery.stopped` for a vendor feed that stopped delivering
   * (routed to webhooks and channels like any event). Call once when it
   * starts failing, not on every retry.
   */
  deliveryStopped(feed: StoppedFeed): Promise<void>;
}

/**
 * Whether an inbox handler may fail this attempt at an entry to have it tried
 * again: below its own limit (`wanted` attempts) and below the inbox's
 * (`retries.inbox`). On the last attempt the inbox allows, a handler decides
 * with what it has (without enrichment, say): failing then would mark the
 * entry failed for good, and the change would never be decided.
 */
export function mayRetryInbox(entry: Pick<InboxRow, 'attempts'>, config: Pick<WardenConfig, 'retries'>, wanted: number): boolean {
  return entry.attempts < Math.min(wanted, config.retries.inbox);
}

/** How a connector turns a stored delivery into identity changes. */
export interface InboxHandler {
  /**
   * Normalizes (and enriches) one inbox entry whose `source` is the
   * connector's name. Return the changes it describes, or `ignored` with the
   * reason (an event type Warden does not govern, Warden's own action seen
   * coming back): ignored entries are kept and counted. Throw to have the
   * entry retried later. The worker keys each change by the entry's
   * `eventId` (`<eventId>#<n>` when one entry yields several changes) in its
   * `source.eventIds`, which is what makes a second delivery of the same
   * event, or the same event seen by hook and by poll, decide nothing new.
   *
   * A failure is retried with the inbox's back-off; an `ActionError` with
   * `retryAfterMs` (the IdP's rate limit, say) no sooner than that.
   */
  toChanges(entry: InboxRow, ctx: ConnectorContext): Promise<{ changes: IdentityChange[] } | { ignored: string }>;
  /**
   * The deliveries an entry holds, when it holds several (a receiver stored a
   * large delivery whole, to acknowledge it within the vendor's deadline);
   * `undefined` for an ordinary entry. The worker stores each (de-duplicated
   * by its event id, as a receiver would) in the transaction that settles the
   * holding entry, and handles them afterwards like any other.
   */
  split?(entry: InboxRow): InboxEntry[] | undefined;
}

/**
 * A failed IdP call a connector reports (code `ERR_UPSTREAM`): the outbox
 * retries it (after `retryAfterMs` at least) unless `permanent`; a change
 * request that needed it fails with ERR_UPSTREAM.
 */
export class ActionError extends WardenError {
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { permanent?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super('ERR_UPSTREAM', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionError';
    this.permanent = options.permanent ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** How a connector makes the IdP honour a decision. */
export interface Enforcer {
  /**
   * Executes one action whose `connector` is the connector's name: the
   * policy's actions (`hold_group`, `revoke_sessions`, `remove_new_factor`,
   * `reset_factors`, `expire_password`, `suspend`, `raise_risk`, `revoke_new_credential`) and the undo
   * of a released hold (`release_hold_group`, `unsuspend`; see
   * src/engine/release-hold.ts). Must be idempotent: an
   * action may run again after a crash or a retry. Returns what to record as
   * its result; throws `ActionError` (or anything, treated as retryable).
   * Never called for dry-run (monitor mode) actions.
   */
  execute(action: ActionRow, ctx: ConnectorContext): Promise<unknown>;
}

/** Reads people from the IdP: target enrichment, managers, validating a request's target. */
export interface Directory {
  /** A user by IdP id or login, with groups, admin roles and profile attributes; undefined when there is none. */
  getUser(tenant: string, idOrLogin: string, ctx: ConnectorContext): Promise<Principal | undefined>;
}

/** An approved change request Warden performs itself (broker mode). */
export interface BrokerRequest {
  tenant: string;
  requestId: string;
  kind: ChangeKind;
  targetId: string;
  /** Kind-specific options from the request, e.g. `{ lifetimeMinutes, oneTimeUse }` for a TAP. */
  options: Record<string, unknown>;
}

export interface BrokerResult {
  /** The IdP's id of what was done (TAP id, transaction id), recorded. */
  reference: string;
  /** A credential the requester must see once (a TAP): returned to them once, never stored or logged. */
  secret?: string;
  expiresAt?: string;
  /** Further facts to record (never secrets). */
  details?: Record<string, unknown>;
}

/** Performs approved changes in the IdP on Warden's behalf, so the help desk needs no reset rights. */
export interface Broker {
  /** The change kinds it can perform, e.g. `factor.reset_all`, `password.reset`, `tap.issue`. */
  kinds: readonly ChangeKind[];
  /**
   * Performs the change. Called once per request; must not act twice for one
   * `requestId` (a second TAP replaces the first), so it records what it did.
   */
  execute(request: BrokerRequest, ctx: ConnectorContext): Promise<BrokerResult>;
}

/** Verifies a person through the IdP, e.g. a push to an enrolled authenticator. */
export interface IdentityProofer {
  /** Method names it offers, e.g. `okta_verify_push`. */
  methods: readonly string[];
  /**
   * Starts a verification of `targetId` with `method`. A factor enrolled or
   * changed less than `minFactorAgeDays` ago does not count (an attacker may
   * have enrolled it): refuse with a `ProofingRefused` saying so.
   */
  start(
    input: { tenant: string; targetId: string; method: string; minFactorAgeDays: number },
    ctx: ConnectorContext,
  ): Promise<{ transactionId: string; level: ProofingLevel; factor: { id: string; type: string; enrolledAt?: string; lastUpdated?: string } }>;
  /** The state of a verification started with `start`. */
  poll(
    input: { tenant: string; targetId: string; transactionId: string },
    ctx: ConnectorContext,
  ): Promise<{ status: 'waiting' | 'success' | 'rejected' | 'timeout'; verifiedAt?: string }>;
}

/**
 * A refusal by a proofer to verify (the factor was enrolled or changed too
 * recently, the user has no factor of that kind), code
 * `ERR_EVIDENCE_REJECTED`: the workflow records it as rejected evidence
 * (422). Any other error is a failure of the IdP call (502).
 */
export class ProofingRefused extends WardenError {
  constructor(message: string) {
    super('ERR_EVIDENCE_REJECTED', message);
    this.name = 'ProofingRefused';
  }
}

/** Ticket systems Warden validates change-request tickets against. */
export type TicketSystemName = 'servicenow' | 'jira';

/** A person as a ticket names them (what the ITSM exposes of them). */
export interface TicketPerson {
  /** The ITSM's id (ServiceNow sys_id, Atlassian accountId). */
  id?: string;
  /** User name / login. */
  login?: string;
  email?: string;
  name?: string;
}

/** A ticket as read from the ITSM, normalized; `raw` is kept as evidence. */
export interface TicketSnapshot {
  system: TicketSystemName;
  /** The number or key the ticket goes by (INC0010002, HELP-42): the ITSM's, which may differ in case from the one asked for. */
  id: string;
  /** The ITSM's internal id (ServiceNow sys_id, Jira issue id). */
  internalId: string;
  /** State as people read it, e.g. `In Progress` (what policies name in `ticket.states`). */
  state: string;
  /** Open (not resolved, closed or cancelled). Unknown states are not open. */
  open: boolean;
  /** The team it is assigned to, with the IdP groups that team corresponds to. */
  assignmentGroup?: { id?: string; name?: string; idpGroups: string[] };
  assignee?: TicketPerson;
  /** Who the ticket is about: ServiceNow caller, Jira / JSM reporter. */
  subject?: TicketPerson;
  /** Who created the record. */
  openedBy?: TicketPerson;
  /** How it was raised: `phone`, `email`, `self-service`, `portal`, `api`, … (lower-case); undefined when the ITSM does not say. */
  channel?: string;
  summary?: string;
  description?: string;
  createdAt?: string;
  /** Link for people. */
  url?: string;
  /** The vendor's record as read (fields asked for), stored as evidence. */
  raw: unknown;
}

/** Reads tickets from an ITSM (connectors/itsm): the change-request workflow checks them. */
export interface TicketLookup {
  systems: readonly TicketSystemName[];
  /**
   * The ticket with this number or key, or undefined when the ITSM has none
   * (or the caller may not see it). Throw on failure to reach the ITSM.
   */
  getTicket(input: { tenant: string; system: TicketSystemName; id: string }, ctx: ConnectorContext): Promise<TicketSnapshot | undefined>;
}

/** Pure normalization of the connector's vendor records, for replays and backtests (no IdP calls). */
export interface RecordNormalizer {
  /** Whether `record` is one of the connector's record formats (an Okta LogEvent, an Entra directoryAudit, …). */
  recognizes(record: unknown): boolean;
  /**
   * The changes a record describes. Without `directory`, without enrichment (what the record alone
   * says); with it, target and actor enriched and the channel refined from the snapshot exactly as
   * the connector's inbox handler does from the live IdP (help desk by role or group, groups, admin
   * roles, flags, attributes): `warden detect replay --directory`.
   */
  normalize(record: unknown, tenant: string, observedAt: Date, directory?: DirectoryIndex): { changes: IdentityChange[] } | { ignored: string };
}

/** What the CLI gives a connector's commands. */
export interface CliContext {
  io: CliIo;
  setExit(code: number): void;
  /** The process's clock (tests and `WARDEN_CLOCK_START` set it): commands read the time only from it. */
  clock: Clock;
  /** The `--config` given to `warden`, if any. */
  configFile(): string | undefined;
  /**
   * Loads warden.yaml (`--config`, `$WARDEN_CONFIG`, `./warden.yaml`) with
   * every connector's section, for commands that talk to the IdP rather than
   * the store. Secrets stay unresolved unless asked for.
   */
  loadConfig(options?: { resolveSecrets?: boolean }): WardenConfig;
  /**
   * Runs one of the connector's `operations` against the store, in-process or
   * inside the running server when it holds the embedded store.
   */
  runOperation(name: string, args: unknown): Promise<number>;
}

/**
 * A receiver served on plain `node:http`, ahead of express: for the vendor
 * hooks where the IdP measures the answer time and the request rate is high
 * (Okta's event hook, Graph change notifications). The handler reads the
 * body and writes the response itself (src/connector/raw-http.ts has the
 * helpers); Warden times it into the request-latency histogram and turns a
 * thrown error into a problem response (WardenError codes as everywhere
 * else). Document it in `routes` like any other route.
 */
export interface RawRoute {
  method: 'POST' | 'GET';
  /** Path with `:name` segments, e.g. `/hooks/entra/:tenant/notifications`. */
  path: string;
  handle(req: IncomingMessage, res: ServerResponse, request: { params: Record<string, string>; query: URLSearchParams }, ctx: ConnectorContext): Promise<void>;
}

/** A connector, as the executable hands it to Warden. */
export interface Connector {
  /** Short name: the `source` of its inbox entries, the `connector` of its actions, its key under `tenants[]`. */
  name: string;
  description: string;
  /** Schema of the connector's section under each tenant (`tenants[].<name>`), rendered into docs/configuration.md. */
  tenantConfig?: z.ZodType;
  /** Named schemas its routes use, added to /openapi.json. */
  schemas?: Record<string, z.ZodType>;
  /** Its routes, documented in /openapi.json (bodies name `schemas`). */
  routes?: RouteDoc[];
  /** Mounts its receivers (webhooks, inline hooks) on the app, before the 404 handler. */
  mount?(router: Router, ctx: ConnectorContext): void;
  /** Receivers served ahead of express (see RawRoute). */
  rawRoutes?: RawRoute[];
  inbox?: InboxHandler;
  enforcer?: Enforcer;
  directory?: Directory;
  broker?: Broker;
  proofer?: IdentityProofer;
  /** Ticket lookups for change requests (ServiceNow, Jira Service Management). */
  tickets?: TicketLookup;
  records?: RecordNormalizer;
  /** Background work (pollers, subscription renewal), started once the server listens. */
  start?(ctx: ConnectorContext): Promise<{ stop(): Promise<void> }>;
  /** Administrative operations (`<name>.<op>`), runnable through the admin socket. */
  operations?: Record<string, Operation>;
  /** Its `warden <name> …` commands. */
  commands?(program: Command, cli: CliContext): void;
}
