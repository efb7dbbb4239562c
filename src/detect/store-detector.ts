import { Counter, type Registry } from 'prom-client';
import { appendAudit } from '../audit/audit-log.js';
import type { Alert } from '../core/alert.js';
import type { AlertRef, ChangeKind, IdentityChange } from '../core/identity-change.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { ChangeDetection, DetectionFacts } from '../engine/decide-change.js';
import type { DetectionStateKey, DetectionStateRow, Store, StoreOps, StoreTx } from '../store/store.js';
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

/** A tenant's event time in this process. */
interface TenantTime {
  marks: SourceWatermarks;
  /** The low watermark reached (never decreases). */
  low: number;
  /** Whether the store's recorded watermarks were merged in (once after a start). */
  loaded: boolean;
  /** Sources whose watermark moved since it was last written to the store. */
  dirty: Set<string>;
}

/** One change to correlate and its facts, as `observe` takes them (`observeMany`: several in order). */
export interface ObservedChange {
  change: IdentityChange;
  facts: DetectionFacts;
}

/**
 * One rule's state for one key moved by one change (or by time alone: the
 * sweeper's due states), in the order the changes were observed.
 */
interface Step {
  /** Which change of the run it belongs to (whose alerts these are). */
  item: number;
  t: TenantDetection;
  rule: CompiledDetectionRule;
  key: string;
  obs: Observation | undefined;
  /** Event time before which nothing more is expected for this rule (low watermark minus the lateness). */
  horizon: number;
  now: Date;
}

/** A state row kept in memory while a run is correlated, written back once at its end. */
interface Held {
  /** Which state. */
  id: DetectionStateKey;
  /** Whether the store held a row when the run began (deleted at the end if nothing is left). */
  stored: boolean;
  /** The state as it stands now in the run: undefined when there is none. */
  row: DetectionStateRow | undefined;
  /** Whether a step of the run moved it (only those are written back). */
  moved: boolean;
}

/** The identity of a state row as a map key. */
const heldId = (tenant: string, rule: string, key: string): string => JSON.stringify([tenant, rule, key]);

/** An open alert's `last_at` no alert reaches: `lockOpenAlert` with it takes the key's lock and reads nothing. */
const NO_ALERT_AFTER = new Date('9999-12-31T00:00:00.000Z');

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
 * watermark.
 *
 * Watermarks survive a restart and are shared by replicas: they are kept in
 * memory and written to the store (`advanceSourceWatermarks`) by each
 * `sweep`, outside the decisions' transactions (a hot row per source would
 * serialize them). A tenant's stored watermarks are read at its first change
 * or sweep after start, and merged in again at each sweep (what other
 * replicas saw). Time Warden was down does not count as idleness: on the
 * first read the sources' `seen` move forward by the time since the tenant's
 * last recorded delivery. A source with no watermark at all, in memory or
 * the store (a new source, or one whose progress was never recorded), starts
 * from its first record: that record is not late, and the source's later
 * records are measured against its own watermark.
 */
export class StoreDetector implements ChangeDetection {
  readonly #late: Counter<'tenant'>;
  readonly #errors: Counter<'tenant' | 'rule'>;
  readonly #alerts: Counter<'tenant' | 'rule' | 'result'>;
  /** Per tenant: its sources' watermarks, and the low watermark reached (never decreases). */
  readonly #time = new Map<string, TenantTime>();

  constructor(
    readonly detections: DetectionRegistry,
    options: StoreDetectorOptions = {},
  ) {
    const registers = options.registry ? [options.registry] : [];
    this.#late = new Counter({
      name: 'warden_detection_late_total',
      help: 'Changes not correlated because they arrived later than the allowed lateness',
      labelNames: ['tenant'] as const,
      registers,
    });
    this.#errors = new Counter({
      name: 'warden_detection_errors_total',
      help: 'Detection rule expressions that could not be evaluated',
      labelNames: ['tenant', 'rule'] as const,
      registers,
    });
    this.#alerts = new Counter({
      name: 'warden_detection_alerts_total',
      help: 'Rule matches, by tenant, rule and result (raised: a new alert; grouped: added to an open alert on the same person)',
      labelNames: ['tenant', 'rule', 'result'] as const,
      registers,
    });
  }

  /**
   * Whether any rule of the tenant can match a change of this kind: the
   * signal path (src/engine/observe-signal.ts) drops signals nobody reads
   * without opening a transaction. False for a tenant without detection.
   */
  watches(tenant: string, kind: ChangeKind): boolean {
    const t = this.detections.get(tenant);
    return !!t && t.engine.pack.candidates(kind).length > 0;
  }

  /** Correlates a newly recorded observed change; returns the alerts it raised or extended. */
  async observe(tx: StoreTx, change: IdentityChange, facts: DetectionFacts): Promise<Alert[]> {
    return (await this.observeMany(tx, [{ change, facts }]))[0]!;
  }

  /**
   * Correlates a run of changes in one transaction, in order, with the
   * result `observe` gives for each one after the other (the same alerts,
   * raised or grouped in the same order, the same state and watermarks),
   * with fewer statements: every state row the run touches is locked by one
   * statement (`lockDetectionStates`: one lock order for every transaction,
   * so two replicas correlating overlapping keys wait for each other and
   * never deadlock), kept in memory while the changes are correlated, and
   * written back by one statement (`putDetectionStates`, and
   * `deleteDetectionStates` for what emptied). An alert's key is locked
   * before any alert of the run is written, in one order too.
   *
   * @returns for each change, the alerts it raised or extended (each once, in the version it left)
   */
  async observeMany(tx: StoreTx, changes: readonly ObservedChange[]): Promise<Alert[][]> {
    const steps: Step[] = [];
    for (const [item, { change, facts }] of changes.entries()) {
      const t = this.detections.get(change.tenant);
      if (!t) continue;
      const touches = t.engine.touches(change, facts, (e) => this.#errors.inc({ tenant: change.tenant, rule: e.rule }));
      // One order within a change: rule id, then key (the order its alerts are raised in).
      touches.sort((a, b) => a.rule.id.localeCompare(b.rule.id) || a.key.localeCompare(b.key));
      const now = facts.now.getTime();
      const time = await this.#loaded(tx, t, now);
      const source = sourceOf(change);
      const reference = this.#reference(time, source, now);
      time.marks.advance(source, isoMillis(change.occurredAt), now);
      time.dirty.add(source);
      const low = this.#low(time, now);
      let late = false;
      for (const { rule, key, obs } of touches) {
        const lateness = rule.latenessMs ?? t.latenessMs;
        if (obs.at < reference - lateness) {
          late = true;
          continue;
        }
        steps.push({ item, t, rule, key, obs, horizon: low - lateness, now: facts.now });
      }
      if (late) this.#late.inc({ tenant: change.tenant });
    }
    const out = changes.map(() => new Map<string, Alert>());
    if (steps.length === 0) return out.map(() => []);
    const keys = new Map<string, DetectionStateKey>();
    for (const s of steps) keys.set(heldId(s.t.tenant, s.rule.id, s.key), { tenant: s.t.tenant, rule: s.rule.id, key: s.key });
    const held = new Map<string, Held>();
    for (const [id, key] of keys) held.set(id, { id: key, stored: false, row: undefined, moved: false });
    for (const row of await tx.lockDetectionStates([...keys.values()])) {
      const h = held.get(heldId(row.tenant, row.rule, row.key))!;
      h.stored = true;
      h.row = row;
    }
    for (const { item, alert } of await this.#correlate(tx, steps, held)) out[item]!.set(alert.id, alert);
    return out.map((m) => [...m.values()]);
  }

  /**
   * What a change of `source` is measured against for lateness (older than
   * this minus the lateness: late). A source never seen starts from its first
   * record: nothing is late. An idle source while no source is active (all
   * quiet, or all catching up after an outage) is measured against its own
   * watermark: the clock moved, but no source did. Otherwise as in
   * `SourceWatermarks.reference`, and never behind the low watermark reached.
   */
  #reference(time: TenantTime, source: string, now: number): number {
    const own = time.marks.get(source);
    if (own === undefined) return -Infinity;
    if (!time.marks.anyActive(now)) return own.at;
    return Math.max(time.marks.reference(source, now), time.low);
  }

  /** A tenant's watermarks (in memory; see `#loaded`). */
  #timeOf(t: TenantDetection): TenantTime {
    let time = this.#time.get(t.tenant);
    if (!time) this.#time.set(t.tenant, (time = { marks: new SourceWatermarks(t.idleAfterMs), low: -Infinity, loaded: false, dirty: new Set() }));
    return time;
  }

  /**
   * A tenant's watermarks, with what the store recorded merged in the first
   * time (after a start). The time since the tenant's last recorded delivery
   * (Warden down) is not idleness: recorded `seen` move forward by it.
   */
  async #loaded(ops: StoreOps, t: TenantDetection, now: number): Promise<TenantTime> {
    const time = this.#timeOf(t);
    if (time.loaded) return time;
    const rows = await ops.getSourceWatermarks(t.tenant);
    let last = -Infinity;
    for (const r of rows) last = Math.max(last, r.seen.getTime());
    const down = now > last ? now - last : 0;
    for (const r of rows) time.marks.advance(r.source, r.at.getTime(), r.seen.getTime() + down);
    time.loaded = true;
    return time;
  }

  /**
   * Writes the tenant's watermarks that moved since the last flush to the
   * store, then merges in what the store holds (other replicas' progress).
   */
  async #sync(store: Store, t: TenantDetection, now: number): Promise<void> {
    const time = await this.#loaded(store, t, now);
    if (time.dirty.size > 0) {
      const marks = [...time.dirty].flatMap((source) => {
        const m = time.marks.get(source);
        return m && Number.isFinite(m.at) ? [{ source, at: new Date(m.at), seen: new Date(m.seen) }] : [];
      });
      time.dirty.clear();
      await store.advanceSourceWatermarks(t.tenant, marks);
    }
    for (const r of await store.getSourceWatermarks(t.tenant)) time.marks.advance(r.source, r.at.getTime(), r.seen.getTime());
  }

  /** The tenant's low watermark at `now` (by the clock), kept from going back once a source is known. */
  #low(time: TenantTime, now: number): number {
    const low = time.marks.low(now);
    // Nothing delivered yet (since start, on this replica): the clock, not remembered.
    if (time.marks.size === 0) return Math.max(low, time.low);
    if (low > time.low) time.low = low;
    return time.low;
  }

  /**
   * A record of a tenant's source that is not a change Warden correlates (a
   * duplicate, a copy the inbox refused, a sign-in or an event no rule
   * reads): it moves the source's watermark (`source`: `okta/poll`,
   * `m365/poll`, … as `detectionSource` names them).
   */
  progress(tenant: string, source: string, at: Date, now: Date): void {
    const t = this.detections.get(tenant);
    if (!t || !Number.isFinite(at.getTime())) return;
    const time = this.#timeOf(t);
    time.marks.advance(source, at.getTime(), now.getTime());
    time.dirty.add(source);
    this.#low(time, now.getTime());
  }

  /** Each source's watermark and when it last delivered (by the clock), for a tenant. */
  sources(tenant: string): Record<string, { at: number; seen: number }> {
    return this.#time.get(tenant)?.marks.snapshot() ?? {};
  }

  /**
   * Moves the held states by the steps, in order (what is due fires, what
   * can no longer match is pruned, the observation is added), writes the
   * states the steps moved back in one statement (and deletes the emptied
   * ones in another), then records the matches, in the order they were
   * found. Matches do not feed back into state, so finding all of them
   * before recording any gives what moving and recording step by step does.
   */
  async #correlate(tx: StoreTx, steps: readonly Step[], held: ReadonlyMap<string, Held>): Promise<Array<{ item: number; alert: Alert }>> {
    const matches: Array<{ step: Step; found: Found }> = [];
    for (const step of steps) {
      const { t, rule, key, obs, horizon, now } = step;
      const h = held.get(heldId(t.tenant, rule.id, key))!;
      const lateness = rule.latenessMs ?? t.latenessMs;
      const state: KeyState = { events: h.row && h.row.ruleHash === rule.hash ? (h.row.events as Observation[]) : [] };
      const found: Found[] = fireDue(rule, state, horizon);
      prune(rule, state, horizon);
      if (obs && !holds(state, obs)) {
        found.push(...addObservation(rule, state, obs));
        cap(state, MAX_EVENTS_PER_KEY);
      }
      const expires = expiresAt(rule, state, lateness);
      const due = expires === undefined ? undefined : dueAt(rule, state, lateness);
      h.row =
        expires === undefined
          ? undefined
          : {
              tenant: t.tenant,
              rule: rule.id,
              key,
              ruleHash: rule.hash,
              events: state.events,
              expiresAt: new Date(expires),
              ...(due !== undefined ? { dueAt: new Date(due) } : {}),
              updatedAt: now,
            };
      h.moved = true;
      for (const f of found) matches.push({ step, found: f });
    }
    const puts: DetectionStateRow[] = [];
    const deletes: DetectionStateKey[] = [];
    for (const h of held.values()) {
      if (!h.moved) continue;
      if (h.row) puts.push(h.row);
      else if (h.stored) deletes.push(h.id);
    }
    for (const k of await tx.putDetectionStates(puts))
      if (!held.get(heldId(k.tenant, k.rule, k.key))?.stored)
        // Another transaction created this state after the run found none (its lock could not hold a row
        // that did not exist): what the run wrote did not start from it. Rolled back, so nothing is lost;
        // the retry finds the row and waits for its lock.
        throw new WardenError(
          'ERR_CONFLICT',
          `detection state of rule ${k.rule} for ${JSON.stringify(k.key)} was created by another transaction meanwhile: retry`,
        );
    await tx.deleteDetectionStates(deletes);
    // Alert keys are locked one by one as matches are recorded: with several keys, take them all first, in one order.
    const alertKeys = [...new Set(matches.map((m) => JSON.stringify([m.step.t.tenant, m.step.key])))].sort();
    if (alertKeys.length > 1)
      for (const k of alertKeys) {
        const [tenant, key] = JSON.parse(k) as [string, string];
        await tx.lockOpenAlert(tenant, key, NO_ALERT_AFTER);
      }
    const alerts: Array<{ item: number; alert: Alert }> = [];
    for (const { step, found } of matches) alerts.push({ item: step.item, alert: await this.#raise(tx, step.t, step.rule, step.key, found, step.now) });
    return alerts;
  }

  /** Records a match: grouped into the open alert on the same key when close in time, else a new alert; audited either way. */
  async #raise(tx: StoreTx, t: TenantDetection, rule: CompiledDetectionRule, key: string, found: Found, now: Date): Promise<Alert> {
    const match: MatchInput = {
      rule: { id: rule.id, title: rule.title, severity: rule.severity, attack: rule.attack.map((a) => a.id) },
      key,
      changes: found.map((o) => o.change),
    };
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
        data: {
          rule: rule.id,
          ruleSeverity: rule.severity,
          severity: merged.severity,
          key,
          changes,
          summary: merged.summary,
          rulesVersion: t.engine.pack.version,
        },
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
      data: {
        rule: rule.id,
        title: rule.title,
        severity: alert.severity,
        key,
        changes,
        summary: alert.summary,
        attack: match.rule.attack,
        rulesVersion: t.engine.pack.version,
      },
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
    // Recorded progress first: right after a start, due state waits for the sources it waited for before.
    for (const tenant of this.detections.tenants()) await this.#sync(store, this.detections.get(tenant)!, now.getTime());
    let due = 0;
    const alerts: Alert[] = [];
    for (;;) {
      let held = 0;
      const handled = await store.transaction(async (tx) => {
        const rows = await tx.claimDueDetectionStates(now, batch);
        const stale: DetectionStateKey[] = [];
        const claimed = new Map<string, Held>();
        const steps: Step[] = [];
        for (const row of rows) {
          const id = { tenant: row.tenant, rule: row.rule, key: row.key };
          const t = this.detections.get(row.tenant);
          const rule = t?.rules.get(row.rule);
          if (!t || !rule || rule.hash !== row.ruleHash) {
            // The rule was removed or changed since: its state can no longer fire.
            stale.push(id);
            continue;
          }
          const low = this.#low(this.#timeOf(t), now.getTime());
          if (row.dueAt && row.dueAt.getTime() > low) {
            held++;
            continue;
          }
          // Claimed rows are locked already: moved in memory and written back together.
          claimed.set(heldId(row.tenant, row.rule, row.key), { id, stored: true, row, moved: false });
          steps.push({ item: 0, t, rule, key: row.key, obs: undefined, horizon: low - (rule.latenessMs ?? t.latenessMs), now });
        }
        await tx.deleteDetectionStates(stale);
        for (const { alert } of await this.#correlate(tx, steps, claimed)) alerts.push(alert);
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
