import { systemClock } from '../core/clock.js';
import { createHash } from 'node:crypto';
import { appendAudit, type AuditActor } from '../audit/audit-log.js';
import { canonicalJson } from '../audit/canonical-json.js';
import type { RequestSnapshot } from '../core/change-request.js';
import type { Decision } from '../core/decision.js';
import { detectionSource } from '../core/detection-source.js';
import type { Alert } from '../core/alert.js';
import type { AlertRef, IdentityChange } from '../core/identity-change.js';
import { uuidv7 } from '../core/ids.js';
import type { CompiledPolicy } from '../core/policy/compile-policy.js';
import { evaluatePolicy } from '../core/policy/evaluate-policy.js';
import type { PolicyException } from '../core/policy-exception.js';
import type { Tier } from '../core/tiers.js';
import type { ActionEntry, Store, StoreTx } from '../store/store.js';
import type { DecideResult } from '../connector/contract.js';

/** Where decisions get their policy from (the server's PolicyRegistry). */
export interface PolicySource {
  /** @throws WardenError `ERR_TENANT_UNKNOWN` */
  get(tenant: string): CompiledPolicy;
}

/** What detection is told about a change besides the change. */
export interface DetectionFacts {
  /** The target's tier, as the policy classified it. */
  tier?: Tier;
  /** The change request the workflow matched, if any. */
  request?: RequestSnapshot;
  now: Date;
}

/** Detection as decisions use it (implemented by src/detect/store-detector.ts). */
export interface ChangeDetection {
  /** Correlates a newly recorded observed change, in the decision's transaction; returns the alerts it raised or extended. */
  observe(tx: StoreTx, change: IdentityChange, facts: DetectionFacts): Promise<Alert[]>;
  /**
   * Open alerts on the change's target or actor (policy sees them as
   * `context.alerts`), and the target's identities in each IdP those alerts
   * saw (containment reaches them all).
   */
  alertsFor(tx: StoreTx, change: IdentityChange, now: Date): Promise<{ alerts: AlertRef[]; identities: Array<{ idp: string; id: string }> }>;
  /**
   * A record of a source that is not correlated (an observed change already
   * recorded, delivered again by the hook or the poller; a delivery the inbox
   * refused as a copy; a record that is not a change, such as a sign-in): it
   * still moves its source's watermark, so a source that only repeats what
   * another delivered first is not taken for idle. `source` is the key of
   * `detectionSource` (src/core/detection-source.ts).
   */
  progress?(tenant: string, source: string, at: Date, now: Date): void;
}

/**
 * What the change-request workflow adds to a decision
 * (src/requests/match-change-request.ts), inside the decision's transaction.
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
  /** Change requests and exceptions (src/requests); absent, decisions use only `DecideInput.request`. */
  workflow?: DecisionWorkflow;
  /** Detection (src/detect): correlates observed changes into alerts; open alerts raise later decisions. */
  detection?: ChangeDetection;
  /** Told after commit of the alerts a change raised or extended (logging). */
  onAlerts?: (alerts: readonly Alert[]) => void;
  /** Publishes the alerts a change raised or extended, in the decision's transaction (signed outbound events). */
  publishAlerts?: (tx: StoreTx, alerts: readonly Alert[]) => Promise<void>;
  /** Publishes what a new decision means for people (`hold.placed`, `change.by_other`), in the decision's transaction (src/notify/publish-decision-events.ts). */
  publishDecision?: (tx: StoreTx, input: { change: IdentityChange; decision: Decision; observed: boolean; actions: readonly ActionEntry[] }) => Promise<void>;
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
  /**
   * The caller's own work, committed with the decision (or, for a change
   * decided before, with nothing else): the inbox settles the entry that
   * delivered the change in the same transaction, one commit instead of two.
   */
  inTransaction?: (tx: StoreTx) => Promise<void>;
}

/** What deciding a change returns (declared with the connector contract, whose `decide` returns it). */
export type { DecideResult };

/** Actions that act on the person, not on one factor of one change: they reach every IdP an alert saw the person in. */
const PERSON_ACTIONS: ReadonlySet<string> = new Set(['hold_group', 'revoke_sessions', 'suspend', 'reset_factors', 'expire_password', 'raise_risk']);

/** The change with open alerts added to `context.alerts` (each once). */
export function withAlerts(change: IdentityChange, alerts: readonly AlertRef[]): IdentityChange {
  if (alerts.length === 0) return change;
  const known = change.context.alerts ?? [];
  const ids = new Set(known.map((a) => a.id));
  const merged = [...known, ...alerts.filter((a) => !ids.has(a.id))].slice(0, 100);
  // The context's index signature is for connectors' scalar signals; `alerts` is one of its typed keys.
  return { ...change, context: { ...change.context, alerts: merged } as IdentityChange['context'] };
}

/**
 * The actions a decision queues: none for an allowed or a proposed change;
 * otherwise its obligations' actions for the change's target in the IdP it
 * came from, and those acting on the person (not on one factor) also for the
 * person's identities in the other IdPs an alert saw them in (`elsewhere`).
 */
export function decisionActions(
  decision: Decision,
  change: IdentityChange,
  observed: boolean,
  now: Date,
  elsewhere: ReadonlyArray<{ idp: string; id: string }> = [],
): ActionEntry[] {
  if (!observed || decision.outcome === 'allow') return [];
  const action = (kind: string, connector: string, targetId: string, idempotencyKey: string, params: Record<string, unknown>): ActionEntry => ({
    id: uuidv7(now.getTime()),
    tenant: change.tenant,
    decisionId: decision.id,
    kind,
    connector,
    targetId,
    params,
    idempotencyKey,
    dryRun: decision.mode === 'monitor',
    createdAt: now,
  });
  return decision.obligations.actions.flatMap((kind) => [
    action(kind, change.source.idp, change.target.id, `${decision.id}:${kind}`, {
      changeId: change.id,
      ...(change.factor?.id ? { factorId: change.factor.id } : {}),
      ...credentialParams(change),
    }),
    ...(PERSON_ACTIONS.has(kind)
      ? elsewhere
          .filter((p) => p.idp !== change.source.idp || p.id !== change.target.id)
          .map((p) => action(kind, p.idp, p.id, `${decision.id}:${kind}:${p.idp}:${p.id}`, { changeId: change.id, via: 'alert' }))
      : []),
  ]);
}

/**
 * What `revoke_new_credential` needs to find the credential a change added:
 * its id, and for Entra the object (application or service principal) it
 * was added to and whether it is a secret or a key. Connectors put them in
 * the change's context when they normalize a `credential.add`.
 */
function credentialParams(change: IdentityChange): Record<string, string> {
  if (change.kind !== 'credential.add') return {};
  const out: Record<string, string> = {};
  for (const k of ['credentialId', 'credentialType', 'credentialOwnerId', 'credentialOwnerType'] as const) {
    const v = change.context[k];
    if (typeof v === 'string' && v) out[k] = v;
  }
  return out;
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
  const clock = deps.clock ?? systemClock;
  const { change } = input;
  const policy = deps.policies.get(change.tenant);
  const now = clock();

  const result = await deps.store.transaction(async (tx): Promise<DecideResult> => {
    const decided = await decideIn(tx);
    await input.inTransaction?.(tx);
    return decided;
  });
  if (!result.replayed) deps.onDecision?.(result.decision);
  if (result.alerts.length > 0) deps.onAlerts?.(result.alerts);
  return result;

  async function decideIn(tx: StoreTx): Promise<DecideResult> {
    const stored = await tx.putChange(change);
    if (!stored.inserted && input.observed)
      deps.detection?.progress?.(change.tenant, detectionSource(change.source.idp, change.source.via, change.source.rawType), new Date(change.occurredAt), now);
    if (!stored.inserted) {
      const earlier = await tx.getDecisionForChange(change.tenant, stored.id);
      if (earlier) return { decision: earlier, replayed: true, actions: [], alerts: [] };
    }
    // Looked up inside the transaction so that a matched request is locked until the decision consumes it.
    const found = input.request ? { request: input.request } : ((await deps.workflow?.prepare(tx, change, now)) ?? {});
    const request = found.request;
    const evaluate = (c: IdentityChange) =>
      evaluatePolicy(policy, { change: c, ...(request ? { request } : {}), ...(found.exceptions?.length ? { exceptions: found.exceptions } : {}), now });
    let verdict = evaluate(change);
    let raised: Alert[] = [];
    let alertRefs: AlertRef[] = [];
    let elsewhere: Array<{ idp: string; id: string }> = [];
    if (deps.detection) {
      // Correlate first, so the decision of the change that completes a chain already sees its alert.
      if (input.observed && stored.inserted) raised = await deps.detection.observe(tx, change, { tier: verdict.tier, ...(request ? { request } : {}), now });
      if (raised.length > 0) await deps.publishAlerts?.(tx, raised);
      const open = await deps.detection.alertsFor(tx, change, now);
      if (open.alerts.length > 0) {
        alertRefs = open.alerts;
        elsewhere = open.identities;
        verdict = evaluate(withAlerts(change, alertRefs));
      }
    }
    const decision: Decision = {
      id: uuidv7(now.getTime()),
      tenant: change.tenant,
      changeId: stored.id,
      ...verdict,
      decidedAt: now.toISOString(),
    };
    const actions = decisionActions(decision, change, input.observed, now, elsewhere);
    const usedRequest = request && decision.rules.some((r) => r.requestId === request.id) ? request.id : undefined;
    const exceptions = [...new Set(decision.rules.map((r) => r.exceptionId).filter((e): e is string => !!e))];
    await tx.putDecision(decision);
    await tx.enqueueActions(actions);
    await appendAudit(tx, change.tenant, {
      type: 'decision.recorded',
      actor: input.actor,
      subject: {
        changeId: decision.changeId,
        decisionId: decision.id,
        ...(usedRequest ? { requestId: usedRequest } : input.request ? { requestId: input.request.id } : {}),
      },
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
        actions: actions.map((a) => ({
          kind: a.kind,
          dryRun: a.dryRun,
          ...(a.connector !== change.source.idp || a.targetId !== change.target.id ? { connector: a.connector, targetId: a.targetId } : {}),
        })),
        ...(exceptions.length ? { exceptions } : {}),
        ...(alertRefs.length > 0 ? { alerts: alertRefs } : {}),
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
    await deps.publishDecision?.(tx, { change, decision, observed: input.observed, actions });
    return { decision, replayed: false, actions, alerts: raised };
  }
}
