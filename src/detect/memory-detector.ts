import { randomUUID } from 'node:crypto';
import type { IdentityChange } from '../core/identity-change.js';
import type { Alert } from '../core/alert.js';
import { groupsWith, mergeMatch, newAlert } from './alert.js';
import type { CompiledDetectionRule } from './compile-rule-pack.js';
import { addObservation, cap, dueAt, expiresAt, fireDue, holds, prune, type Found, type KeyState } from './correlate.js';
import { changeUid, type ChangeFacts, type DetectionEngine, type EvaluationError } from './detection-engine.js';

/**
 * Detection with its state in memory, in event time: what `warden detect
 * replay`, `warden detect test` and the benchmark run. The horizon is the
 * newest change seen minus the allowed lateness (no wall clock), so a replay
 * gives the same alerts on every run. Memory is bounded: state that can no
 * longer match is pruned as event time moves on, and beyond `maxKeys` keys
 * (or `maxEventsPerKey` changes on one key) the least recently updated state
 * is evicted and counted.
 */

export interface MemoryDetectorOptions {
  tenant: string;
  /** Default allowed lateness (rules may set their own). */
  latenessMs: number;
  /** Matches on the same key within this span of event time are one alert. */
  groupForMs: number;
  /** Most (rule, key) states kept at once (default 100,000). */
  maxKeys?: number;
  /** Most changes kept for one (rule, key) (default 1,000). */
  maxEventsPerKey?: number;
  /** Alert ids (default random UUIDs). */
  newId?: () => string;
}

export interface DetectorStats {
  /** Changes pushed. */
  changes: number;
  /** Changes that mattered to at least one rule. */
  observed: number;
  /** Changes dropped by at least one rule for arriving later than its allowed lateness. */
  late: number;
  /** Changes seen before (same vendor event or change id): counted once. */
  duplicates: number;
  /** Changes dropped from state to keep memory bounded (their key or rule state was evicted). */
  evicted: number;
  /** Step or key expressions that could not be evaluated. */
  errors: number;
  /** Rule matches (several may group into one alert). */
  matches: number;
}

interface Entry {
  rule: CompiledDetectionRule;
  key: string;
  state: KeyState;
  expires: number;
  /** When it is queued to fall due (absence rules), so it is queued once per deadline. */
  due?: number;
}

/** A binary min-heap of (time, state key): when absence rules fall due. */
class DueQueue {
  readonly #at: number[] = [];
  readonly #key: string[] = [];

  get size(): number {
    return this.#at.length;
  }

  peek(): number {
    return this.#at[0] ?? Infinity;
  }

  push(at: number, key: string): void {
    let i = this.#at.length;
    this.#at.push(at);
    this.#key.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#at[parent]! <= at) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): string {
    const top = this.#key[0]!;
    const lastAt = this.#at.pop()!;
    const lastKey = this.#key.pop()!;
    if (this.#at.length > 0) {
      this.#at[0] = lastAt;
      this.#key[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.#at.length && this.#at[l]! < this.#at[m]!) m = l;
        if (r < this.#at.length && this.#at[r]! < this.#at[m]!) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top;
  }

  #swap(a: number, b: number): void {
    [this.#at[a], this.#at[b]] = [this.#at[b]!, this.#at[a]!];
    [this.#key[a], this.#key[b]] = [this.#key[b]!, this.#key[a]!];
  }
}

/** Runs a rule pack over changes held in memory. */
export class MemoryDetector {
  /** Alerts raised so far, in the order they were raised (grouped alerts updated in place). */
  readonly alerts: Alert[] = [];
  readonly stats: DetectorStats = { changes: 0, observed: 0, late: 0, duplicates: 0, evicted: 0, errors: 0, matches: 0 };
  /** The first few evaluation errors, for reports. */
  readonly errorSamples: EvaluationError[] = [];

  readonly #engine: DetectionEngine;
  readonly #options: Required<MemoryDetectorOptions>;
  readonly #states = new Map<string, Entry>();
  readonly #due = new DueQueue();
  /** uid → event time, in arrival order: what was seen, for as long as a duplicate would still count. */
  readonly #seen = new Map<string, number>();
  readonly #open = new Map<string, { alert: Alert; index: number }>();
  readonly #maxLateness: number;
  #newest = -Infinity;
  #pushes = 0;

  constructor(engine: DetectionEngine, options: MemoryDetectorOptions) {
    this.#engine = engine;
    this.#options = { maxKeys: 100_000, maxEventsPerKey: 1_000, newId: randomUUID, ...options };
    this.#maxLateness = Math.max(options.latenessMs, ...engine.pack.rules.map((r) => r.latenessMs ?? 0));
  }

  /** (rule, key) states held now. */
  get stateCount(): number {
    return this.#states.size;
  }

  /** Changes held in state now (across all keys). */
  get heldChanges(): number {
    let n = 0;
    for (const e of this.#states.values()) n += e.state.events.length;
    return n;
  }

  /** Absence rules' first steps still waiting for their window to pass. */
  get pendingAbsences(): number {
    let n = 0;
    for (const e of this.#states.values()) if (e.rule.type === 'absence') n += e.state.events.filter((o) => o.mask & 1).length;
    return n;
  }

  /** The newest event time seen (ms), or -Infinity. */
  get newest(): number {
    return this.#newest;
  }

  #lateness(rule: CompiledDetectionRule): number {
    return rule.latenessMs ?? this.#options.latenessMs;
  }

  /**
   * Correlates one change (in arrival order); returns the alerts it raised or
   * extended. Event time moves forward to the change's time if it is newer,
   * which may make absence rules fall due.
   */
  push(change: IdentityChange, facts: ChangeFacts = {}): Alert[] {
    this.stats.changes++;
    const at = Date.parse(change.occurredAt);
    const uid = changeUid(change);
    if (this.#seen.has(uid) || this.#seen.has(change.id)) {
      this.stats.duplicates++;
      return [];
    }
    const touched: Alert[] = [];
    if (at > this.#newest) {
      this.#newest = at;
      this.#fireDue(touched);
    }
    const touches = this.#engine.touches(change, facts, (e) => this.#error(e));
    if (touches.length > 0) {
      this.stats.observed++;
      this.#seen.set(uid, at);
      if (uid !== `id:${change.id}`) this.#seen.set(change.id, at);
    }
    let late = false;
    for (const { rule, key, obs } of touches) {
      const lateness = this.#lateness(rule);
      const horizon = this.#newest - lateness;
      if (obs.at < horizon) {
        late = true;
        continue;
      }
      const sk = `${rule.id}\u0000${key}`;
      let entry = this.#states.get(sk);
      if (entry) {
        // Re-insert: the map stays in least-recently-updated order, for pruning and eviction.
        this.#states.delete(sk);
      } else entry = { rule, key, state: { events: [] }, expires: 0 };
      const found = fireDue(rule, entry.state, horizon);
      prune(rule, entry.state, horizon);
      if (!holds(entry.state, obs)) {
        found.push(...addObservation(rule, entry.state, obs));
        this.stats.evicted += cap(entry.state, this.#options.maxEventsPerKey);
      }
      for (const f of found) touched.push(this.#raise(rule, key, f));
      this.#store(sk, entry, lateness);
    }
    if (late) this.stats.late++;
    if (++this.#pushes % 256 === 0) this.#housekeeping();
    return dedupe(touched);
  }

  /**
   * Moves event time forward to `ms` without a change (the end of a replay,
   * or a test saying "13 hours later"): absence rules whose window has passed
   * fire. Returns the alerts raised or extended.
   */
  advanceTo(ms: number): Alert[] {
    const touched: Alert[] = [];
    if (ms > this.#newest) {
      this.#newest = ms;
      this.#fireDue(touched);
      this.#housekeeping();
    }
    return dedupe(touched);
  }

  #store(sk: string, entry: Entry, lateness: number): void {
    const expires = expiresAt(entry.rule, entry.state, lateness);
    if (expires === undefined) return;
    entry.expires = expires;
    this.#states.set(sk, entry);
    const due = dueAt(entry.rule, entry.state, lateness);
    if (due !== undefined && due !== entry.due) {
      entry.due = due;
      this.#due.push(due, sk);
    }
    while (this.#states.size > this.#options.maxKeys) {
      const [oldest, victim] = this.#states.entries().next().value as [string, Entry];
      this.#states.delete(oldest);
      this.stats.evicted += victim.state.events.length;
    }
  }

  #fireDue(touched: Alert[]): void {
    while (this.#due.size > 0 && this.#due.peek() <= this.#newest) {
      const sk = this.#due.pop();
      const entry = this.#states.get(sk);
      if (!entry) continue;
      delete entry.due;
      const lateness = this.#lateness(entry.rule);
      const horizon = this.#newest - lateness;
      const found = fireDue(entry.rule, entry.state, horizon);
      for (const f of found) touched.push(this.#raise(entry.rule, entry.key, f));
      prune(entry.rule, entry.state, horizon);
      this.#states.delete(sk);
      this.#store(sk, entry, lateness);
    }
  }

  /** Drops expired state from the least recently updated end, old de-duplication entries, and stale open alerts. */
  #housekeeping(): void {
    for (const [sk, entry] of this.#states) {
      if (entry.expires > this.#newest) break;
      if (entry.rule.type === 'absence' && dueAt(entry.rule, entry.state, this.#lateness(entry.rule)) !== undefined) break;
      this.#states.delete(sk);
    }
    const keepSeenFrom = this.#newest - this.#maxLateness;
    for (const [uid, at] of this.#seen) {
      if (at >= keepSeenFrom && this.#seen.size <= 4 * this.#options.maxKeys) break;
      this.#seen.delete(uid);
    }
    if (this.#open.size > 1024) {
      for (const [key, { alert }] of this.#open) if (Date.parse(alert.lastAt) + this.#options.groupForMs < this.#newest) this.#open.delete(key);
    }
  }

  #error(e: EvaluationError): void {
    this.stats.errors++;
    if (this.errorSamples.length < 10) this.errorSamples.push(e);
  }

  #raise(rule: CompiledDetectionRule, key: string, found: Found): Alert {
    this.stats.matches++;
    const match = { rule: { id: rule.id, title: rule.title, severity: rule.severity, attack: rule.attack.map((a) => a.id) }, key, changes: found.map((o) => o.change) };
    const now = new Date(Number.isFinite(this.#newest) ? this.#newest : Date.now());
    const open = this.#open.get(key);
    if (open && groupsWith(open.alert, match, this.#options.groupForMs)) {
      const merged = mergeMatch(open.alert, match, now);
      this.alerts[open.index] = merged;
      this.#open.set(key, { alert: merged, index: open.index });
      return merged;
    }
    const alert = newAlert({ id: this.#options.newId(), tenant: this.#options.tenant, match, now, rulesVersion: this.#engine.pack.version });
    this.#open.set(key, { alert, index: this.alerts.length });
    this.alerts.push(alert);
    return alert;
  }
}

/** The last version of each alert, in order of first appearance. */
function dedupe(alerts: Alert[]): Alert[] {
  if (alerts.length < 2) return alerts;
  const last = new Map<string, Alert>();
  for (const a of alerts) last.set(a.id, a);
  return [...last.values()];
}
