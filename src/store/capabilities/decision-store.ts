import type { Decision } from '../../core/decision.js';
import type { IdentityChange } from '../../core/identity-change.js';

/** A decision with the change it decided (reports). */
export interface DecidedChange {
  decision: Decision;
  change: IdentityChange;
}

/** Identity changes and the decisions made on them: part of the Store port (src/store/store.ts). */
export interface DecisionStore {
  /**
   * Stores a change unless one of its source event ids is already known, in
   * which case the existing change id is returned (events seen by hook and by
   * poll are one change).
   */
  putChange(change: IdentityChange): Promise<{ inserted: boolean; id: string }>;
  getChange(tenant: string, id: string): Promise<IdentityChange | undefined>;
  putDecision(decision: Decision): Promise<void>;
  getDecision(tenant: string, id: string): Promise<Decision | undefined>;
  getDecisionForChange(tenant: string, changeId: string): Promise<Decision | undefined>;
  /**
   * A person's observed changes since `since`, newest first: those whose
   * target id is one of `ids` or whose target login is one of `logins`
   * (case-insensitive).
   */
  listChangesOfTarget(tenant: string, of: { ids: readonly string[]; logins: readonly string[] }, since: Date, limit: number): Promise<IdentityChange[]>;
  /** Decisions of a tenant decided in [from, to), oldest first, with their changes. */
  listDecidedChanges(tenant: string, from: Date, to: Date, limit: number): Promise<DecidedChange[]>;
}
