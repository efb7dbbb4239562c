import { createHash } from 'node:crypto';
import { appendAudit, type AuditActor } from '../audit/audit-log.js';
import { canonicalJson } from '../audit/canonical-json.js';
import type { RequestSnapshot } from '../core/change-request.js';
import type { Decision } from '../core/decision.js';
import type { IdentityChange } from '../core/identity-change.js';
import { uuidv7 } from '../core/ids.js';
import type { CompiledPolicy } from '../core/policy/compile-policy.js';
import { evaluatePolicy } from '../core/policy/evaluate-policy.js';
import type { PolicyException } from '../core/policy-exception.js';
import type { ActionEntry, Store, StoreTx } from '../store/store.js';

/** Where decisions get their policy from (the server's PolicyRegistry). */
export interface PolicySource {
  /** @throws WardenError `ERR_TENANT_UNKNOWN` */
  get(tenant: string): CompiledPolicy;
}

/**
 * What the change-request workflow adds to a decision
 * (src/workflow/match-change-request.ts), inside the decision's transaction.
 */
export interface DecisionWorkflow {
  /** Before the policy is evaluated: the request that may cover the change (locked until commit) and the policy exceptions of its target. */
  prepare(tx: StoreTx, change: IdentityChange, now: Date): Promise<{ request?: RequestSnapshot; exceptions?: PolicyException[] }>;
  /** After the decision is stored: consumes the request that allowed an observed change, binding it to the change in the audit log. */
  recorded(tx: StoreTx, input: { change: IdentityChange; decision: Decision; request?: RequestSnapshot; observed: boolean; now: Date }): Promise<void>;
}

export interface DecideDeps {
  store: Store;
  policies: PolicySource;
  clock?: () => Date;
  /** Told after a new decision commits (metrics). */
  onDecision?: (decision: Decision) => void;
  /** Change requests and exceptions (src/workflow); absent, decisions use only `DecideInput.request`. */
  workflow?: DecisionWorkflow;
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

  const result = await deps.store.transaction(async (tx): Promise<DecideResult> => {
    const stored = await tx.putChange(change);
    if (!stored.inserted) {
      const earlier = await tx.getDecisionForChange(change.tenant, stored.id);
      if (earlier) return { decision: earlier, replayed: true, actions: [] };
    }
    // Looked up inside the transaction so that a matched request is locked until the decision consumes it.
    const found = input.request ? { request: input.request } : ((await deps.workflow?.prepare(tx, change, now)) ?? {});
    const request = found.request;
    const verdict = evaluatePolicy(policy, { change, ...(request ? { request } : {}), ...(found.exceptions?.length ? { exceptions: found.exceptions } : {}), now });
    const decision: Decision = {
      id: uuidv7(now.getTime()),
      tenant: change.tenant,
      changeId: stored.id,
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
    const usedRequest = request && decision.rules.some((r) => r.requestId === request.id) ? request.id : undefined;
    const exceptions = [...new Set(decision.rules.map((r) => r.exceptionId).filter((e): e is string => !!e))];
    await tx.putDecision(decision);
    for (const action of actions) await tx.enqueueAction(action);
    await appendAudit(tx, change.tenant, {
      type: 'decision.recorded',
      actor: input.actor,
      subject: { changeId: decision.changeId, decisionId: decision.id, ...(usedRequest ? { requestId: usedRequest } : input.request ? { requestId: input.request.id } : {}) },
      data: {
        outcome: decision.outcome,
        mode: decision.mode,
        tier: decision.tier,
        defaulted: decision.defaulted,
        policyVersion: decision.policyVersion,
        rules: decision.rules.map((r) => ({
          id: r.id,
          outcome: r.outcome,
          reason: r.reason,
          ...(r.error ? { error: r.error } : {}),
          ...(r.requestId ? { requestId: r.requestId } : {}),
          ...(r.breakGlass ? { breakGlass: true } : {}),
          ...(r.exceptionId ? { exceptionId: r.exceptionId } : {}),
        })),
        actions: actions.map((a) => ({ kind: a.kind, dryRun: a.dryRun })),
        ...(exceptions.length ? { exceptions } : {}),
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
    await deps.workflow?.recorded(tx, { change, decision, ...(request ? { request } : {}), observed: input.observed, now });
    return { decision, replayed: false, actions };
  });
  if (!result.replayed) deps.onDecision?.(result.decision);
  return result;
}
