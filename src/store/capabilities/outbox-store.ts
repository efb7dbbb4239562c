/** A compensating or containing action queued for a connector (the outbox). */
export interface ActionEntry {
  id: string;
  tenant: string;
  decisionId?: string;
  /** `hold_group`, `revoke_sessions`, … */
  kind: string;
  /** The connector that executes it (the IdP the change came from, e.g. `okta`). */
  connector?: string;
  targetId: string;
  params: Record<string, unknown>;
  /** Unique per tenant: enqueueing the same key twice queues one action. */
  idempotencyKey: string;
  /** monitor mode: recorded, never executed. */
  dryRun: boolean;
  createdAt: Date;
}

export interface ActionRow extends ActionEntry {
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  attempts: number;
  nextAttemptAt: Date;
  lastError?: string;
  result?: unknown;
}

/** The outbox: compensating and containing actions queued for connectors: part of the Store port (src/store/store.ts). */
export interface OutboxStore {
  /** Queues an action unless its idempotency key is known for the tenant. */
  enqueueAction(action: ActionEntry): Promise<{ inserted: boolean; id: string }>;
  /** `enqueueAction` for several actions in one statement (a decision's actions); an action whose idempotency key is known is skipped. */
  enqueueActions(actions: readonly ActionEntry[]): Promise<void>;
  /** Takes up to `limit` due actions (queued, or running with an expired lease). */
  claimActions(limit: number, now: Date, leaseSeconds: number): Promise<ActionRow[]>;
  completeAction(id: string, now: Date, result: unknown): Promise<void>;
  /** Records a failed attempt: retried at `retryAt`, or failed for good when `retryAt` is null. */
  failAction(id: string, now: Date, error: string, retryAt: Date | null): Promise<void>;
  listActions(tenant: string, decisionId: string): Promise<ActionRow[]>;
  /** Cancels a decision's actions of these kinds that have not started; returns the ids cancelled. */
  cancelQueuedActions(tenant: string, decisionId: string, kinds: readonly string[], now: Date): Promise<string[]>;
}
