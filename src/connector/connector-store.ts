import type { BrokerRunStore, OwnChangeStore, SsfStore, StoreOps } from '../store/store.js';

/**
 * What a connector may do with the store, inside a transaction or outside
 * one: store deliveries in the inbox, keep poll cursors and leases, record
 * Warden's own changes and brokered runs, read a change or its actions, and
 * append to the audit log (with `appendAudit`). Nothing else: decisions,
 * requests and alerts are Warden's, reached through the contract
 * (`ConnectorContext.decide`, the ports), never written by a connector.
 */
export type ConnectorStoreOps = Pick<
  StoreOps,
  | 'ensureTenants'
  | 'putInbox'
  | 'putInboxes'
  | 'getChange'
  | 'listActions'
  | 'appendAudit'
  | 'acquireLease'
  | 'releaseLease'
  // Warden's own changes and broker runs (the own-change service, src/connector/own-changes.ts)
  | keyof OwnChangeStore
  | keyof BrokerRunStore
  | 'getCursor'
  | 'setCursor'
  // Reading the audit log (the SSF transmitter turns its records into SETs)
  | 'auditHead'
  | 'readAudit'
  | 'getDecision'
  // Connector-owned tables: the SSF connector's streams, SETs and received jtis (migration 0070)
  | keyof SsfStore
>;

/**
 * The store capability a connector receives (`ConnectorContext.store`): the
 * operations of `ConnectorStoreOps`, and transactions over them. Warden's
 * `Store` is one.
 */
export interface ConnectorStore extends ConnectorStoreOps {
  /** Runs `fn` in one transaction: all of it commits, or none of it. */
  transaction<T>(fn: (tx: ConnectorStoreOps) => Promise<T>): Promise<T>;
}
