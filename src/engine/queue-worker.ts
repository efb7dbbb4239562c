import type { Registry } from 'prom-client';
import { systemClock } from '../core/clock.js';
import type { ConnectorContext } from '../connector/contract.js';
import type { Logger } from '../runtime/logger.js';
import type { Store } from '../store/store.js';

/**
 * What the inbox and the outbox workers are given alike: both claim a batch
 * of queued rows under a lease (`FOR UPDATE SKIP LOCKED`, so replicas share
 * the work), hand each row to a connector, and retry a failure with backoff
 * until `maxAttempts`.
 */
export interface QueueWorkerOptions {
  store: Store;
  /** What the connectors get; built by the server. */
  context: () => ConnectorContext;
  log: Logger;
  registry?: Registry;
  clock?: () => Date;
  batch?: number;
  /** How long a claimed row is hidden from other workers while it is handled. */
  leaseSeconds?: number;
  /** Attempts before a row is failed for good. */
  maxAttempts?: number;
  idleMs?: number;
}

/** A queue worker's settings, its defaults filled in. */
export interface QueueWorkerSettings {
  clock: () => Date;
  batch: number;
  leaseSeconds: number;
  maxAttempts: number;
  idleMs: number;
  /** Where its metrics register (none without a registry). */
  registers: Registry[];
}

/** The settings of a queue worker: what `options` gives, else the worker's `defaults`. */
export function queueWorkerSettings(
  options: QueueWorkerOptions,
  defaults: { batch: number; leaseSeconds: number; maxAttempts: number; idleMs?: number },
): QueueWorkerSettings {
  return {
    clock: options.clock ?? systemClock,
    batch: options.batch ?? defaults.batch,
    leaseSeconds: options.leaseSeconds ?? defaults.leaseSeconds,
    maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
    idleMs: options.idleMs ?? defaults.idleMs ?? 1000,
    registers: options.registry ? [options.registry] : [],
  };
}
