import type { AlertStore } from './capabilities/alert-store.js';
import type { ApiKeyStore } from './capabilities/api-key-store.js';
import type { AuditStore } from './capabilities/audit-store.js';
import type { BrokerRunStore } from './capabilities/broker-run-store.js';
import type { CursorStore } from './capabilities/cursor-store.js';
import type { DecisionStore } from './capabilities/decision-store.js';
import type { DetectionStore } from './capabilities/detection-store.js';
import type { ExceptionStore } from './capabilities/exception-store.js';
import type { HoldStore } from './capabilities/hold-store.js';
import type { IdempotencyStore } from './capabilities/idempotency-store.js';
import type { InboxStore } from './capabilities/inbox-store.js';
import type { LeaseStore } from './capabilities/lease-store.js';
import type { NotifyStore } from './capabilities/notify-store.js';
import type { OutboxStore } from './capabilities/outbox-store.js';
import type { OwnChangeStore } from './capabilities/own-change-store.js';
import type { RequestStore } from './capabilities/request-store.js';
import type { RetentionStore } from './capabilities/retention-store.js';
import type { ReviewStore } from './capabilities/review-store.js';
import type { ConsoleStore } from './capabilities/console-store.js';
import type { OversightStore } from './capabilities/oversight-store.js';
import type { SsfStore } from './capabilities/ssf-store.js';
import type { TenantStore } from './capabilities/tenant-store.js';

export type * from './capabilities/alert-store.js';
export type * from './capabilities/api-key-store.js';
export type * from './capabilities/audit-store.js';
export type * from './capabilities/broker-run-store.js';
export type * from './capabilities/cursor-store.js';
export type * from './capabilities/decision-store.js';
export type * from './capabilities/detection-store.js';
export type * from './capabilities/exception-store.js';
export type * from './capabilities/hold-store.js';
export type * from './capabilities/idempotency-store.js';
export type * from './capabilities/inbox-store.js';
export type * from './capabilities/lease-store.js';
export type * from './capabilities/notify-store.js';
export type * from './capabilities/outbox-store.js';
export type * from './capabilities/own-change-store.js';
export type * from './capabilities/request-store.js';
export type * from './capabilities/retention-store.js';
export type * from './capabilities/review-store.js';
export type * from './capabilities/ssf-store.js';
export type * from './capabilities/console-store.js';
export type * from './capabilities/oversight-store.js';
export type * from './capabilities/tenant-store.js';

/**
 * The store port: everything Warden keeps, behind one interface with
 * two drivers (embedded PGlite, PostgreSQL). Both run the contract suite in
 * test/contracts/store.contract.ts. Times are passed in (never read from the
 * database clock) so behaviour is the same on both drivers and under a fake clock.
 *
 * The port is the sum of capabilities, one per aggregate, each an interface
 * in src/store/capabilities/ (`InboxStore`, `OutboxStore`, `AuditStore`,
 * `LeaseStore`, `RequestStore`, …) implemented in SQL in src/store/sql/.
 */

/**
 * Operations available inside and outside a transaction: every capability
 * of the store. Code that needs only some of them takes the capabilities it
 * uses (`InboxStore & LeaseStore`, `Pick<StoreOps, 'getCursor' | 'setCursor'>`),
 * which any `Store` or `StoreTx` satisfies.
 */
export interface StoreOps
  extends TenantStore,
    InboxStore,
    DecisionStore,
    OutboxStore,
    HoldStore,
    AuditStore,
    LeaseStore,
    RetentionStore,
    OwnChangeStore,
    BrokerRunStore,
    CursorStore,
    DetectionStore,
    AlertStore,
    ApiKeyStore,
    RequestStore,
    IdempotencyStore,
    ReviewStore,
    ExceptionStore,
    NotifyStore,
    SsfStore,
    ConsoleStore,
    OversightStore {}

/** Work done inside a transaction: all of it commits, or none of it. */
export type StoreTx = StoreOps;

export interface Store extends StoreOps {
  readonly driver: 'pglite' | 'postgres';
  /** Where the data lives, for the start-up log (never includes a password). */
  readonly location: string;
  /** What a crash or power loss can cost with this store, for the start-up log. */
  readonly durability: string;
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Applied migration versions, oldest first. */
  migrations(): Promise<number[]>;
  ping(): Promise<void>;
  /**
   * Embedded store only: tells other processes, through the data-directory
   * lock, where this process serves the CLI's admin operations.
   */
  announceAdminSocket?(path: string): void;
  close(): Promise<void>;
}
