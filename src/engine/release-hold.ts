import { systemClock } from '../core/clock.js';
import { appendAudit, type AuditActor } from '../audit/audit-log.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { Store, StoreTx } from '../store/store.js';

/**
 * Containment actions and the actions that undo them. Revoked sessions and
 * removed factors are not restored: the user signs in again and enrolls again.
 */
export const RELEASE_ACTIONS: Readonly<Record<string, string>> = Object.freeze({
  hold_group: 'release_hold_group',
  suspend: 'unsuspend',
});

export interface ReleaseResult {
  /** false when the decision was released before (nothing done now). */
  released: boolean;
  /** Containment actions that had not started and never will. */
  cancelled: string[];
  /** Kinds of the undo actions queued. */
  undo: string[];
}

/** What to release, by whom and why. */
export interface ReleaseInput {
  tenant: string;
  decisionId: string;
  actor: AuditActor;
  reason: string;
  now?: Date;
  /** The change request whose approval releases the hold (the workflow's release on approval), named in the audit record. */
  requestId?: string;
}

/**
 * Releases a held (or denied) decision: cancels its containment actions that
 * have not started, queues the undo of those that ran (or may be running:
 * undo is idempotent), records the release once and audits who released it
 * and why. In monitor mode the undo actions are dry runs, as the holds were.
 *
 * @throws WardenError `ERR_NOT_FOUND` (no such decision), `ERR_CONFLICT` (it allowed the change)
 */
export async function releaseHold(store: Store, input: ReleaseInput): Promise<ReleaseResult> {
  return store.transaction((tx) => releaseHoldIn(tx, input));
}

/**
 * `releaseHold` inside a transaction the caller runs: the workflow releases a
 * hold in the same transaction as the approval that covers it.
 *
 * @throws WardenError `ERR_VALIDATION`, `ERR_NOT_FOUND`, `ERR_CONFLICT`
 */
export async function releaseHoldIn(tx: StoreTx, input: ReleaseInput): Promise<ReleaseResult> {
  const now = input.now ?? systemClock();
  if (!input.reason.trim()) throw new WardenError('ERR_VALIDATION', 'a release needs a reason');
  const decision = await tx.getDecision(input.tenant, input.decisionId);
  if (!decision) throw new WardenError('ERR_NOT_FOUND', `no decision ${input.decisionId} in tenant ${input.tenant}`);
  if (decision.outcome === 'allow') throw new WardenError('ERR_CONFLICT', `decision ${input.decisionId} allowed the change: there is nothing to release`);
  const fresh = await tx.putRelease({
    tenant: input.tenant,
    decisionId: input.decisionId,
    releasedAt: now.toISOString(),
    actor: input.actor,
    reason: input.reason,
  });
  if (!fresh) return { released: false, cancelled: [], undo: [] };

  const actions = await tx.listActions(input.tenant, input.decisionId);
  const cancelled = await tx.cancelQueuedActions(input.tenant, input.decisionId, [...new Set(actions.map((a) => a.kind))], now);
  const undo: string[] = [];
  for (const action of actions) {
    const inverse = RELEASE_ACTIONS[action.kind];
    if (!inverse || cancelled.includes(action.id) || action.state === 'cancelled' || action.state === 'failed') continue;
    const queued = await tx.enqueueAction({
      id: uuidv7(now.getTime()),
      tenant: input.tenant,
      decisionId: input.decisionId,
      kind: inverse,
      ...(action.connector ? { connector: action.connector } : {}),
      targetId: action.targetId,
      params: { ...action.params, undoes: action.id },
      idempotencyKey: `${input.decisionId}:release:${action.kind}`,
      dryRun: action.dryRun,
      createdAt: now,
    });
    if (queued.inserted) undo.push(inverse);
  }
  await appendAudit(tx, input.tenant, {
    type: 'hold.released',
    actor: input.actor,
    subject: { decisionId: input.decisionId, changeId: decision.changeId, ...(input.requestId ? { requestId: input.requestId } : {}) },
    data: { reason: input.reason, outcome: decision.outcome, cancelled, undo },
    at: now,
  });
  return { released: true, cancelled, undo };
}
