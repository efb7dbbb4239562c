import { Counter, type Registry } from 'prom-client';
import { appendAudit } from '../audit/audit-log.js';
import type { Alert } from '../core/alert.js';
import type { AlertRef, ChangeKind, IdentityChange } from '../core/identity-change.js';
import { uuidv7 } from '../core/ids.js';
import type { ChangeDetection, DetectionFacts } from '../pipeline/decide-change.js';
import type { Store, StoreTx } from '../store/store.js';
import { groupsWith, mergeMatch, newAlert, type MatchInput } from './alert.js';
import type { CompiledDetectionRule } from './compile-rule-pack.js';
import { addObservation, cap, dueAt, expiresAt, fireDue, holds, prune, type Found, type KeyState, type Observation } from './correlate.js';
import type { DetectionRegistry, TenantDetection } from './detection-registry.js';

/** Most changes kept for one rule and key (a noisy key cannot grow a row without bound). */
const MAX_EVENTS_PER_KEY = 1000;
/** Most open alerts shown to policy for one change. */
const MAX_ALERTS_IN_CONTEXT = 100;
const SYSTEM = { type: 'system' as const, id: 'warden:detect' };

export interface StoreDetectorOptions {
  /** Where its metrics go (the server's registry). */
  registry?: Registry;
}

/**
 * Detection in the server: correlation state lives in the store (one row per
 * rule and key, locked while a change is correlated), so a restart loses no
 * partial sequence and replicas share the work. Runs inside `decideChange`'s
 * transaction: a change, its decision, the state it moved and the alerts it
 * raised commit together, and a change decided once is correlated once.
 *
 * Time: the horizon is the clock minus the allowed lateness, so a change may
 * reach Warden up to `allowedLateness` after it happened and still count;
 * absence rules fall due by the clock too (`sweep`, run periodically).
 */
export class StoreDetector implements ChangeDetection {
  readonly #late: Counter<'tenant'>;
  readonly #errors: Counter<'tenant' | 'rule'>;
  readonly #alerts: Counter<'tenant' | 'rule' | 'result'>;

  constructor(
    readonly detections: DetectionRegistry,
    options: StoreDetectorOptions = {},
  ) {
    const registers = options.registry ? [options.registry] : [];
    this.#late = new Counter({ name: 'warden_detection_late_total', help: 'Changes not correlated because they arrived later than the allowed lateness', labelNames: ['tenant'] as const, registers });
    this.#errors = new Counter({ name: 'warden_detection_errors_total', help: 'Detection rule expressions that could not be evaluated', labelNames: ['tenant', 'rule'] as const, registers });
    this.#alerts = new Counter({
      name: 'warden_detection_alerts_total',
      help: 'Rule matches, by tenant, rule and result (raised: a new alert; grouped: added to an open alert on the same person)',
      labelNames: ['tenant', 'rule', 'result'] as const,
      registers,
    });
  }

  /**
   * Whether any rule of the tenant can match a change of this kind: the
   * signal path (src/pipeline/observe-signal.ts) drops signals nobody reads
   * without opening a transaction. False for a tenant without detection.
   */
  watches(tenant: string, kind: ChangeKind): boolean {
    const t = this.detections.get(tenant);
    return !!t && t.engine.pack.candidates(kind).length > 0;
  }

  /** Correlates a newly recorded observed change; returns the alerts it raised or extended. */
  async observe(tx: StoreTx, change: IdentityChange, facts: DetectionFacts): Promise<Alert[]> {
    const t = this.detections.get(change.tenant);
    if (!t) return [];
    const touches = t.engine.touches(change, facts, (e) => this.#errors.inc({ tenant: change.tenant, rule: e.rule }));
    // One lock order for every transaction: rule id, then key.
    touches.sort((a, b) => a.rule.id.localeCompare(b.rule.id) || a.key.localeCompare(b.key));
    const now = facts.now.getTime();
    const out = new Map<string, Alert>();
    let late = false;
    for (const { rule, key, obs } of touches) {
      const lateness = rule.latenessMs ?? t.latenessMs;
      if (obs.at < now - lateness) {
        late = true;
        continue;
      }
      for (const alert of await this.#apply(tx, t, rule, key, obs, facts.now)) out.set(alert.id, alert);
    }
    if (late) this.#late.inc({ tenant: change.tenant });
    return [...out.values()];
  }

  async #apply(tx: StoreTx, t: TenantDetection, rule: CompiledDetectionRule, key: string, obs: Observation | undefined, now: Date): Promise<Alert[]> {
    const lateness = rule.latenessMs ?? t.latenessMs;
    const horizon = now.getTime() - lateness;
    const row = await tx.lockDetectionState(t.tenant, rule.id, key);
    const state: KeyState = { events: row && row.ruleHash === rule.hash ? (row.events as Observation[]) : [] };
    const found: Found[] = fireDue(rule, state, horizon);
    prune(rule, state, horizon);
    if (obs && !holds(state, obs)) {
      found.push(...addObservation(rule, state, obs));
      cap(state, MAX_EVENTS_PER_KEY);
    }
    const expires = expiresAt(rule, state, lateness);
    if (expires === undefined) {
      if (row) await tx.deleteDetectionState(t.tenant, rule.id, key);
    } else {
      const due = dueAt(rule, state, lateness);
      await tx.putDetectionState({
        tenant: t.tenant,
        rule: rule.id,
        key,
        ruleHash: rule.hash,
        events: state.events,
        expiresAt: new Date(expires),
        ...(due !== undefined ? { dueAt: new Date(due) } : {}),
        updatedAt: now,
      });
    }
    const alerts: Alert[] = [];
    for (const f of found) alerts.push(await this.#raise(tx, t, rule, key, f, now));
    return alerts;
  }

  /** Records a match: grouped into the open alert on the same key when close in time, else a new alert; audited either way. */
  async #raise(tx: StoreTx, t: TenantDetection, rule: CompiledDetectionRule, key: string, found: Found, now: Date): Promise<Alert> {
    const match: MatchInput = { rule: { id: rule.id, title: rule.title, severity: rule.severity, attack: rule.attack.map((a) => a.id) }, key, changes: found.map((o) => o.change) };
    const earliest = Math.min(...found.map((o) => o.at));
    const open = await tx.lockOpenAlert(t.tenant, key, new Date(earliest - t.groupForMs));
    const changes = match.changes.map((c) => ({ id: c.id, kind: c.kind, occurredAt: c.occurredAt, idp: c.idp, eventIds: c.eventIds }));
    if (open && groupsWith(open, match, t.groupForMs)) {
      const merged = mergeMatch(open, match, now);
      await tx.updateAlert(merged);
      await appendAudit(tx, t.tenant, {
        type: 'alert.grouped',
        actor: SYSTEM,
        subject: { alertId: merged.id },
        data: { rule: rule.id, ruleSeverity: rule.severity, severity: merged.severity, key, changes, summary: merged.summary, rulesVersion: t.engine.pack.version },
        at: now,
      });
      this.#alerts.inc({ tenant: t.tenant, rule: rule.id, result: 'grouped' });
      return merged;
    }
    const alert = newAlert({ id: uuidv7(now.getTime()), tenant: t.tenant, match, now, rulesVersion: t.engine.pack.version });
    await tx.putAlert(alert);
    await appendAudit(tx, t.tenant, {
      type: 'alert.raised',
      actor: SYSTEM,
      subject: { alertId: alert.id },
      data: { rule: rule.id, title: rule.title, severity: alert.severity, key, changes, summary: alert.summary, attack: match.rule.attack, rulesVersion: t.engine.pack.version },
      at: now,
    });
    this.#alerts.inc({ tenant: t.tenant, rule: rule.id, result: 'raised' });
    return alert;
  }

  /**
   * Open alerts about the change's target or actor (same person across
   * IdPs), for policy as `context.alerts`, and the IdP identities of the
   * target those alerts saw (for containment in every IdP).
   */
  async alertsFor(tx: StoreTx, change: IdentityChange, now: Date): Promise<{ alerts: AlertRef[]; identities: Array<{ idp: string; id: string }> }> {
    const t = this.detections.get(change.tenant);
    if (!t) return { alerts: [], identities: [] };
    const target = t.engine.targetKey(change);
    const actor = t.engine.actorKey(change);
    const open = await tx.openAlertsFor(change.tenant, [target, actor], new Date(now.getTime() - t.inPolicyForMs), MAX_ALERTS_IN_CONTEXT);
    const identities = new Map<string, { idp: string; id: string }>();
    for (const a of open) if (a.key === target) for (const c of a.changes) identities.set(`${c.idp}\u0000${c.targetId}`, { idp: c.idp, id: c.targetId });
    return {
      alerts: open.map((a) => ({ id: a.id, rule: a.rule, severity: a.severity, on: a.key === target ? ('target' as const) : ('actor' as const) })),
      identities: [...identities.values()],
    };
  }

  /**
   * Periodic work: absence rules whose window (plus lateness) has passed on
   * the clock fire; expired state is deleted. Replicas may sweep at once:
   * due rows are claimed with SKIP LOCKED.
   *
   * @returns how many due states were handled and how many expired ones deleted
   */
  async sweep(store: Store, now: Date, batch = 100): Promise<{ due: number; pruned: number; alerts: Alert[] }> {
    let due = 0;
    const alerts: Alert[] = [];
    for (;;) {
      const handled = await store.transaction(async (tx) => {
        const rows = await tx.claimDueDetectionStates(now, batch);
        for (const row of rows) {
          const t = this.detections.get(row.tenant);
          const rule = t?.rules.get(row.rule);
          if (!t || !rule || rule.hash !== row.ruleHash) {
            // The rule was removed or changed since: its state can no longer fire.
            await tx.deleteDetectionState(row.tenant, row.rule, row.key);
            continue;
          }
          alerts.push(...(await this.#apply(tx, t, rule, row.key, undefined, now)));
        }
        return rows.length;
      });
      due += handled;
      if (handled < batch) break;
    }
    const pruned = await store.pruneDetectionStates(now, 10_000);
    return { due, pruned, alerts };
  }
}
