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
import { isoMillis } from './iso-millis.js';
import { sourceOf, SourceWatermarks } from './source-watermarks.js';

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
 * Time: each source of a tenant has its own watermark (src/detect/source-watermarks.ts):
 * a change is late when it is older than its own source's newest event minus
 * the allowed lateness, and windows close (absence rules fall due in `sweep`,
 * state is pruned) once every active source has passed them plus the
 * lateness. A source that delivered nothing for `sourceIdleAfter` by the
 * clock stops holding windows; with no active source, the clock is the
 * watermark. Watermarks are kept in memory: after a restart (or on a replica
 * that has not yet seen a source) a source is measured against the clock,
 * as if it were idle.
 */
export class StoreDetector implements ChangeDetection {
  readonly #late: Counter<'tenant'>;
  readonly #errors: Counter<'tenant' | 'rule'>;
  readonly #alerts: Counter<'tenant' | 'rule' | 'result'>;
  /** Per tenant: its sources' watermarks, and the low watermark reached (never decreases). */
  readonly #time = new Map<string, { marks: SourceWatermarks; low: number }>();

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
    const time = this.#timeOf(t);
    const source = sourceOf(change);
    const reference = Math.max(time.marks.reference(source, now), time.low);
    time.marks.advance(source, isoMillis(change.occurredAt), now);
    const low = this.#low(time, now);
    const out = new Map<string, Alert>();
    let late = false;
    for (const { rule, key, obs } of touches) {
      const lateness = rule.latenessMs ?? t.latenessMs;
      if (obs.at < reference - lateness) {
        late = true;
        continue;
      }
      for (const alert of await this.#apply(tx, t, rule, key, obs, facts.now, low - lateness)) out.set(alert.id, alert);
    }
    if (late) this.#late.inc({ tenant: change.tenant });
    return [...out.values()];
  }

  /** A tenant's watermarks. */
  #timeOf(t: TenantDetection): { marks: SourceWatermarks; low: number } {
    let time = this.#time.get(t.tenant);
    if (!time) this.#time.set(t.tenant, (time = { marks: new SourceWatermarks(t.idleAfterMs), low: -Infinity }));
    return time;
  }

  /** The tenant's low watermark at `now` (by the clock), kept from going back once a source is known. */
  #low(time: { marks: SourceWatermarks; low: number }, now: number): number {
    const low = time.marks.low(now);
    // Nothing delivered yet (since start, on this replica): the clock, not remembered.
    if (time.marks.size === 0) return Math.max(low, time.low);
    if (low > time.low) time.low = low;
    return time.low;
  }

  /**
   * A record of a tenant's source that is not a change Warden correlates (a
   * duplicate, an event no rule reads): it moves the source's watermark.
   */
  progress(tenant: string, idp: string, via: string, at: Date, now: Date): void {
    const t = this.detections.get(tenant);
    if (!t) return;
    const time = this.#timeOf(t);
    time.marks.advance(`${idp}/${via}`, at.getTime(), now.getTime());
    this.#low(time, now.getTime());
  }

  /** Each source's watermark and when it last delivered (by the clock), for a tenant. */
  sources(tenant: string): Record<string, { at: number; seen: number }> {
    return this.#time.get(tenant)?.marks.snapshot() ?? {};
  }

  async #apply(tx: StoreTx, t: TenantDetection, rule: CompiledDetectionRule, key: string, obs: Observation | undefined, now: Date, horizon: number): Promise<Alert[]> {
    const lateness = rule.latenessMs ?? t.latenessMs;
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
      alerts: open.map((a) => ({
        id: a.id,
        rule: a.rule,
        severity: a.severity,
        on: a.key === target ? ('target' as const) : ('actor' as const),
        covered: a.changes.every((c) => c.coveredBy !== undefined),
      })),
      identities: [...identities.values()],
    };
  }

  /**
   * Periodic work: absence rules whose window (plus lateness) every active
   * source of the tenant has passed fire; expired state is deleted. Rows are
   * claimed by the clock (a source's watermark is never ahead of it) and
   * left as they are while a slower source still holds them. Replicas may
   * sweep at once: due rows are claimed with SKIP LOCKED.
   *
   * @returns how many due states were handled and how many expired ones deleted
   */
  async sweep(store: Store, now: Date, batch = 100): Promise<{ due: number; pruned: number; alerts: Alert[] }> {
    let due = 0;
    const alerts: Alert[] = [];
    for (;;) {
      let held = 0;
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
          const low = this.#low(this.#timeOf(t), now.getTime());
          if (row.dueAt && row.dueAt.getTime() > low) {
            held++;
            continue;
          }
          const horizon = low - (rule.latenessMs ?? t.latenessMs);
          alerts.push(...(await this.#apply(tx, t, rule, row.key, undefined, now, horizon)));
        }
        return rows.length;
      });
      due += handled - held;
      // Rows still held by a slower source come back in the next claim: stop when a batch moved nothing.
      if (handled < batch || held === handled) break;
    }
    // Expiry is in event time: prune only what every tenant's sources have passed.
    let low = now.getTime();
    for (const tenant of this.detections.tenants()) {
      const t = this.detections.get(tenant)!;
      low = Math.min(low, this.#low(this.#timeOf(t), now.getTime()));
    }
    const pruned = await store.pruneDetectionStates(new Date(low), 10_000);
    return { due, pruned, alerts };
  }
}
