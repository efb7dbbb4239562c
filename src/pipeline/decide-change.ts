import { createHash } from 'node:crypto';
import { appendAudit, type AuditActor } from '../audit/audit-log.js';
import { canonicalJson } from '../audit/canonical-json.js';
import type { RequestSnapshot } from '../core/change-request.js';
import type { Decision } from '../core/decision.js';
import type { IdentityChange } from '../core/identity-change.js';
import { uuidv7 } from '../core/ids.js';
import type { CompiledPolicy } from '../core/policy/compile-policy.js';
import { evaluatePolicy } from '../core/policy/evaluate-policy.js';
import type { ActionEntry, Store } from '../store/store.js';

/** Where decisions get their policy from (the server's PolicyRegistry). */
export interface PolicySource {
  /** @throws WardenError `ERR_TENANT_UNKNOWN` */
  get(tenant: string): CompiledPolicy;
}

export interface DecideDeps {
  store: Store;
  policies: PolicySource;
  clock?: () => Date;
  /** Told after a new decision commits (metrics). */
  onDecision?: (decision: Decision) => void;
}

export interface DecideInput {
  change: IdentityChange;
  /** The change request the workflow matched, if any. */
  request?: RequestSnapshot;
  /** Who asked for the decision. */
  actor: AuditActor;
  /**
   * true: the change happened in the IdP (a connector saw it), so the
   * decision's actions are queued in the outbox. false: a proposed change
   * (`POST /v1/decisions`): decided and recorded, nothing to undo.
   */
  observed: boolean;
}

export interface DecideResult {
  decision: Decision;
  /** true when the change was already decided (same change id or vendor event): the earlier decision is returned. */
  replayed: boolean;
  actions: ActionEntry[];
}

/** SHA-256 over the canonical JSON of a change: binds the audit record to the exact change. */
export function changeDigest(change: IdentityChange): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(change)).digest('hex');
}

/**
 * Decides a change and records it: the change, the decision, the actions it
 * asks for (observed changes only; dry-run in monitor mode) and an audit
 * record, all in one transaction. A change already decided (same id, or a
 * vendor event already seen) returns the earlier decision, so retries and
 * duplicate deliveries decide once.
 */
export async function decideChange(deps: DecideDeps, input: DecideInput): Promise<DecideResult> {
  const clock = deps.clock ?? (() => new Date());
  const { change } = input;
  const policy = deps.policies.get(change.tenant);
  const now = clock();
  const verdict = evaluatePolicy(policy, { change, ...(input.request ? { request: input.request } : {}), now });
  const decision: Decision = {
    id: uuidv7(now.getTime()),
    tenant: change.tenant,
    changeId: change.id,
    ...verdict,
    decidedAt: now.toISOString(),
  };
  const actions: ActionEntry[] =
    input.observed && decision.outcome !== 'allow'
      ? decision.obligations.actions.map((kind) => ({
          id: uuidv7(now.getTime()),
          tenant: change.tenant,
          decisionId: decision.id,
          kind,
          connector: change.source.idp,
          targetId: change.target.id,
          params: { changeId: change.id, ...(change.factor?.id ? { factorId: change.factor.id } : {}) },
          idempotencyKey: `${decision.id}:${kind}`,
          dryRun: decision.mode === 'monitor',
          createdAt: now,
        }))
      : [];

  const result = await deps.store.transaction(async (tx): Promise<DecideResult> => {
    const stored = await tx.putChange(change);
    if (!stored.inserted) {
      const earlier = await tx.getDecisionForChange(change.tenant, stored.id);
      if (earlier) return { decision: earlier, replayed: true, actions: [] };
    }
    const final = stored.id === change.id ? decision : { ...decision, changeId: stored.id };
    await tx.putDecision(final);
    for (const action of actions) await tx.enqueueAction({ ...action, decisionId: final.id });
    await appendAudit(tx, change.tenant, {
      type: 'decision.recorded',
      actor: input.actor,
      subject: { changeId: final.changeId, decisionId: final.id, ...(input.request ? { requestId: input.request.id } : {}) },
      data: {
        outcome: final.outcome,
        mode: final.mode,
        tier: final.tier,
        defaulted: final.defaulted,
        policyVersion: final.policyVersion,
        rules: final.rules.map((r) => ({ id: r.id, outcome: r.outcome, reason: r.reason, ...(r.error ? { error: r.error } : {}), ...(r.requestId ? { requestId: r.requestId } : {}) })),
        actions: actions.map((a) => ({ kind: a.kind, dryRun: a.dryRun })),
        change: {
          kind: change.kind,
          channel: change.channel,
          source: change.source,
          targetId: change.target.id,
          ...(change.target.login ? { targetLogin: change.target.login } : {}),
          actorId: change.actor.id,
          ...(change.actor.login ? { actorLogin: change.actor.login } : {}),
          occurredAt: change.occurredAt,
          digest: changeDigest(change),
        },
      },
      at: now,
    });
    return { decision: final, replayed: false, actions };
  });
  if (!result.replayed) deps.onDecision?.(result.decision);
  return result;
}
