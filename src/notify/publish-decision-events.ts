import type { Decision } from '../core/decision.js';
import { SIGNAL_KINDS, type IdentityChange } from '../core/identity-change.js';
import type { ActionEntry, StoreOps } from '../store/store.js';
import { publishEvent, type EventRoutes } from './publish-event.js';

/**
 * Publishes, in a decision's transaction, what the decision means for people:
 *
 * - `hold.placed`: an observed change was held (its hold actions are queued;
 *   in monitor mode they are dry runs, and the event says so);
 * - `change.by_other`: a person's factors, password or recovery data were
 *   changed by someone else (the actor is a user and not the target), so the
 *   affected person can say "this wasn't me" (src/requests/not-me).
 *
 * Actor and target are compared by IdP user id within the one IdP that
 * reported the change: ids the IdP gave, not names (docs/workflow.md, people).
 */
export async function publishDecisionEvents(
  tx: StoreOps,
  routes: EventRoutes,
  input: { change: IdentityChange; decision: Decision; observed: boolean; actions: readonly ActionEntry[] },
): Promise<void> {
  const { change, decision } = input;
  if (!input.observed || (SIGNAL_KINDS as readonly string[]).includes(change.kind)) return;
  const at = new Date(decision.decidedAt);
  const changeData = {
    id: change.id,
    kind: change.kind,
    channel: change.channel,
    idp: change.source.idp,
    occurredAt: change.occurredAt,
    target: {
      id: change.target.id,
      ...(change.target.login ? { login: change.target.login } : {}),
      ...(change.target.email ? { email: change.target.email } : {}),
    },
    actor: { id: change.actor.id, type: change.actor.type, ...(change.actor.login ? { login: change.actor.login } : {}) },
    ...(change.factor ? { factor: { type: change.factor.type } } : {}),
  };
  if (decision.outcome === 'hold')
    await publishEvent(tx, routes, {
      tenant: change.tenant,
      type: 'hold.placed',
      data: {
        decisionId: decision.id,
        outcome: decision.outcome,
        mode: decision.mode,
        tier: decision.tier,
        rules: decision.rules.map((r) => ({ id: r.id, outcome: r.outcome, reason: r.reason })),
        actions: input.actions.map((a) => ({ kind: a.kind, connector: a.connector, targetId: a.targetId, dryRun: a.dryRun })),
        change: changeData,
      },
      at,
    });
  if (change.actor.type === 'user' && change.actor.id !== change.target.id)
    await publishEvent(tx, routes, {
      tenant: change.tenant,
      type: 'change.by_other',
      data: { decisionId: decision.id, outcome: decision.outcome, tier: decision.tier, change: changeData },
      at,
    });
}
