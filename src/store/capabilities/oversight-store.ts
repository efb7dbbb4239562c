import type { AuditRow } from './audit-store.js';

/** Decisions of one outcome on one UTC day. */
export interface DecisionDayCount {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  outcome: 'allow' | 'hold' | 'deny';
  count: number;
}

/** A named cursor (a poller's position) and when it last moved. */
export interface CursorState {
  name: string;
  value: unknown;
  updatedAt: string;
}

/** Work that failed and waits for a person: deliveries in, actions out, events out. */
export interface FailureCounts {
  /** Inbox entries given up on (`state = failed`). */
  inboxFailed: number;
  /** Outbox actions given up on. */
  outboxFailed: number;
  /** Outbound event deliveries given up on. */
  notifyFailed: number;
  /** Outbound event deliveries still being retried (attempted at least once). */
  notifyRetrying: number;
}

/** The ids an audit record may be about (its `subject`). */
export interface AuditSubjectRefs {
  requestId?: string;
  decisionId?: string;
  changeId?: string;
}

/**
 * Read-only views across aggregates for the people who oversee Warden (the
 * console's dashboard, connector health, evidence bundles): part of the
 * Store port (src/store/store.ts).
 */
export interface OversightStore {
  /** Audit records whose subject names any of `refs`, oldest first. */
  auditAbout(tenant: string, refs: AuditSubjectRefs, limit: number): Promise<AuditRow[]>;
  /** Decisions decided at or after `since`, counted by UTC day and outcome, oldest day first. */
  decisionsByDay(tenant: string, since: Date): Promise<DecisionDayCount[]>;
  /** Alerts raised at or after `since`, counted by their primary rule, most first. */
  alertsByRule(tenant: string, since: Date): Promise<Array<{ rule: string; count: number }>>;
  /** Every cursor of the tenant, by name. */
  cursorStates(tenant: string): Promise<CursorState[]>;
  /** What failed and is not retried any more. */
  failureCounts(tenant: string): Promise<FailureCounts>;
}
