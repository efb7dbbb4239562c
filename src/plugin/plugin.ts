import type { Command } from 'commander';
import type { Router } from 'express';
import type { z } from 'zod';
import type { Operation } from '../admin/operations.js';
import type { AuditActor } from '../audit/audit-log.js';
import type { WardenConfig } from '../config/load-config.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { DecideResult } from '../pipeline/decide-change.js';
import type { CliIo } from '../cli/cli-io.js';
import type { Logger } from '../server/logger.js';
import type { Metrics } from '../server/metrics.js';
import type { RouteDoc } from '../server/openapi.js';
import type { PolicyRegistry } from '../server/policy-registry.js';
import type { ActionRow, InboxRow, Store } from '../store/store.js';

/**
 * The contract between Warden and a connector (connectors/<vendor>): what a
 * connector may provide, and what Warden gives it. Vendor code lives only in
 * connectors/; src/ knows connectors only through this interface, and the
 * executable (bin/warden.js) hands the list of connectors to the CLI.
 */

/** What a running server gives a connector. */
export interface PluginContext {
  config: WardenConfig;
  store: Store;
  policies: PolicyRegistry;
  log: Logger;
  metrics: Metrics;
  clock: () => Date;
  /** This process, for leases (`hostname:pid:random`). */
  instanceId: string;
  /** Tells the inbox worker new deliveries are waiting (call after `store.putInbox`). */
  wakeInbox(): void;
  /** Decides and records a change at once (inline hooks, which must answer within the vendor's deadline). */
  decide(change: IdentityChange, actor: AuditActor, options?: { observed?: boolean }): Promise<DecideResult>;
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
   */
  toChanges(entry: InboxRow, ctx: PluginContext): Promise<{ changes: IdentityChange[] } | { ignored: string }>;
}

/** An action failure a connector reports: retried (after `retryAfterMs` at least) unless `permanent`. */
export class ActionError extends Error {
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { permanent?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionError';
    this.permanent = options.permanent ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** How a connector makes the IdP honour a decision. */
export interface Enforcer {
  /**
   * Executes one action (`hold_group`, `revoke_sessions`, `remove_new_factor`,
   * …) whose `connector` is the connector's name. Must be idempotent: an
   * action may run again after a crash or a retry. Returns what to record as
   * its result; throws `ActionError` (or anything, treated as retryable).
   * Never called for dry-run (monitor mode) actions.
   */
  execute(action: ActionRow, ctx: PluginContext): Promise<unknown>;
}

/** What the CLI gives a connector's commands. */
export interface CliContext {
  io: CliIo;
  setExit(code: number): void;
  /** The `--config` given to `warden`, if any. */
  configFile(): string | undefined;
  /**
   * Runs one of the connector's `operations` against the store, in-process or
   * inside the running server when it holds the embedded store.
   */
  runOperation(name: string, args: unknown): Promise<number>;
}

/** A connector, as the executable hands it to Warden. */
export interface WardenPlugin {
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
  mount?(router: Router, ctx: PluginContext): void;
  inbox?: InboxHandler;
  enforcer?: Enforcer;
  /** Background work (pollers, subscription renewal), started once the server listens. */
  start?(ctx: PluginContext): Promise<{ stop(): Promise<void> }>;
  /** Administrative operations (`<name>.<op>`), runnable through the admin socket. */
  operations?: Record<string, Operation>;
  /** Its `warden <name> …` commands. */
  commands?(program: Command, cli: CliContext): void;
}
