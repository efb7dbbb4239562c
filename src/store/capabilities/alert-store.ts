import type { Alert, Severity } from '../../core/alert.js';

/** Filters of `listAlerts`; newest first, paged with `before`. */
export interface AlertQuery {
  status?: 'open' | 'closed';
  /** At least this severity. */
  severity?: Severity;
  /** Alerts with a match of this rule. */
  rule?: string;
  key?: string;
  /** Raised at or after. */
  since?: Date;
  /** Page cursor: alerts raised before this one (raisedAt, then id). */
  before?: { raisedAt: string; id: string };
  limit: number;
}

/** Alerts raised by detection: part of the Store port (src/store/store.ts). */
export interface AlertStore {
  putAlert(alert: Alert): Promise<void>;
  /** Replaces a stored alert (grouping, closing). */
  updateAlert(alert: Alert): Promise<void>;
  getAlert(tenant: string, id: string): Promise<Alert | undefined>;
  /**
   * The most recent open alert on (tenant, key) whose last change is at or
   * after `lastAtFrom`, locked, after taking a lock on (tenant, key) for the
   * rest of the transaction: two matches on one person never race into two
   * alerts. Call inside a transaction.
   */
  lockOpenAlert(tenant: string, key: string, lastAtFrom: Date): Promise<Alert | undefined>;
  /** Open alerts on any of `keys` updated at or after `since`, most severe then newest first. */
  openAlertsFor(tenant: string, keys: readonly string[], since: Date, limit: number): Promise<Alert[]>;
  /** Alerts of a tenant, newest first. */
  listAlerts(tenant: string, query: AlertQuery): Promise<Alert[]>;
}
