import { systemClock, type Clock } from '../core/clock.js';
import { randomUUID } from 'node:crypto';
import { detectionSource } from '../core/detection-source.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { Alert } from '../core/alert.js';
import { groupsWith, mergeMatch, newAlert } from './alert.js';
import type { CompiledDetectionRule } from './compile-rule-pack.js';
import { addObservation, cap, dueAt, expiresAt, fireDue, holds, prune, type Found, type KeyState, type Observation } from './correlate.js';
import { changeUid, type ChangeFacts, type DetectionEngine, type EvaluationError } from './detection-engine.js';
import { isoMillis } from './iso-millis.js';
import { SourceWatermarks } from './source-watermarks.js';
import { DETECTION_DEFAULTS } from '../config/config-schema.js';
import { parseDuration } from '../core/policy/duration.js';

/**
 * Detection with its state in memory, in event time: what `warden detect
 * replay`, `warden detect test` and the benchmark run. Each source has its
 * own watermark (src/detect/source-watermarks.ts): a change is late when it
 * is older than its own source's newest event minus the allowed lateness,
 * and windows close once every active source has passed them (plus the
 * lateness). Idleness is measured in event time (the newest event of any
 * source), never on a wall clock, so a replay gives the same alerts on every
 * run. Memory is bounded: state that can no
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
  /** A source that delivered nothing while event time moved on this much stops holding windows open (default 3 hours). */
  idleAfterMs?: number;
  /** Sources expected to deliver (`okta/hook`, `m365/poll`, …): they hold windows open from the first change until they deliver or go idle. */
  sources?: readonly string[];
  /** Most (rule, key) states kept at once (default 100,000). */
  maxKeys?: number;
  /** Most changes kept for one (rule, key) (default 1,000). */
  maxEventsPerKey?: number;
  /** When no event has been seen yet, what "now" is (default the system clock). */
  clock?: Clock;
  /** Alert ids (default random UUIDs). */
  newId?: () => string;
  /**
   * Told of each alert once nothing can change it any more (no later match
   * can group with it), and of the rest at `finish()`. With it, alerts are
   * handed over rather than kept: memory stays bounded however long the
   * input. Without it, `alerts` keeps them all.
   */
  onFinal?: (alert: Alert) => void;
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

/** One rule's state for one key (the state is the entry itself). */
interface Entry extends KeyState {
  rule: CompiledDetectionRule;
  ruleIndex: number;
  key: string;
  /** The key's states, this one among them. */
  owner: KeyStates;
  /** Creation order: eviction goes through the states rule by rule, oldest first. */
  seq: number;
  /** When nothing in it can match any more (ms of event time). */
  expires: number;
  /** When it is queued to fall due (absence rules), so it is queued once per deadline. */
  due: number | undefined;
  /** Removed from the detector (pruned or evicted): queued deadlines for it are void. */
  gone: boolean;
}

/**
 * Every rule's state for one key, found with one lookup per change (most
 * rules key by the target). Dropped by housekeeping once it holds none.
 */
interface KeyStates {
  key: string;
  /** The states held, in no particular order (a key has few: found by rule index by looking through them). */
  entries: Entry[];
  /**
   * The earliest `expires` among the states housekeeping may drop (not an
   * absence rule's state waiting to fall due); -Infinity once none is held,
   * so housekeeping drops the key. Housekeeping skips keys it cannot touch.
   */
  sweepAt: number;
}

/** A binary min-heap of (time, state): when absence rules fall due. */
class DueQueue {
  readonly #at: number[] = [];
  readonly #entry: Entry[] = [];

  get size(): number {
    return this.#at.length;
  }

  peek(): number {
    return this.#at[0] ?? Infinity;
  }

  push(at: number, entry: Entry): void {
    let i = this.#at.length;
    this.#at.push(at);
    this.#entry.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#at[parent]! <= at) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): Entry {
    const top = this.#entry[0]!;
    const lastAt = this.#at.pop()!;
    const lastEntry = this.#entry.pop()!;
    if (this.#at.length > 0) {
      this.#at[0] = lastAt;
      this.#entry[0] = lastEntry;
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
    [this.#entry[a], this.#entry[b]] = [this.#entry[b]!, this.#entry[a]!];
  }
}

const NO_ALERTS: readonly Alert[] = Object.freeze([]);
/** The default of `idleAfterMs` (the config's `detection.sourceIdleAfter`). */
const DEFAULT_IDLE_AFTER_MS = parseDuration(DETECTION_DEFAULTS.sourceIdleAfter) * 1000;
const NO_FACTS: ChangeFacts = Object.freeze({});

/** Runs a rule pack over changes held in memory. */
export class MemoryDetector {
  /** Alerts raised so far, in the order they were raised (grouped alerts updated in place); empty with `onFinal`. */
  readonly alerts: Alert[] = [];
  readonly stats: DetectorStats = { changes: 0, observed: 0, late: 0, duplicates: 0, evicted: 0, errors: 0, matches: 0 };
  /** The first few evaluation errors, for reports. */
  readonly errorSamples: EvaluationError[] = [];

  readonly #engine: DetectionEngine;
  readonly #options: Required<Omit<MemoryDetectorOptions, 'onFinal' | 'sources'>> & Pick<MemoryDetectorOptions, 'onFinal' | 'sources'>;
  readonly #marks: SourceWatermarks;
  /** The source key of the last change pushed (consecutive changes mostly share a source). */
  #lastIdp = '';
  #lastVia = '';
  #lastSource = '';
  /** State by key, then by rule (index in the pack). */
  readonly #keys = new Map<string, KeyStates>();
  /** Per rule: a threshold of one change, which alerts on every match and keeps nothing. */
  readonly #immediate: readonly boolean[];
  /** The key whose states `#lastStates` are, within one push (one lookup for the rules of one key). */
  #lastKey: string | undefined;
  #lastStates: KeyStates | undefined;
  #seq = 0;
  #size = 0;
  #sinceScan = 0;
  readonly #due = new DueQueue();
  /** uid → event time, in arrival order: what was seen, for as long as a duplicate would still count. */
  readonly #seen = new Map<string, number>();
  readonly #open = new Map<string, { alert: Alert; index: number }>();
  readonly #maxLateness: number;
  /** An open alert can still grow while a match could reach back to it: its span plus the longest window and lateness. */
  readonly #reachMs: number;
  readonly #onError: (e: EvaluationError) => void;
  /** The newest event time of any source: progress, for idleness, and alerts' times. */
  #newest = -Infinity;
  /** The low watermark: event time every active source has passed (never decreases). Windows close against it. */
  #low = -Infinity;
  /** What the change being pushed touched (alerts) and whether it was late for a rule. */
  #touched: Alert[] | undefined;
  #late = false;
  /** Reused per push: the change's time and de-duplication key, computed once. */
  readonly #known = { at: 0, uid: '' };
  /** What the change being pushed is measured against for lateness (its source's watermark, or the low one). */
  #reference = -Infinity;

  constructor(engine: DetectionEngine, options: MemoryDetectorOptions) {
    this.#engine = engine;
    this.#options = { maxKeys: 100_000, maxEventsPerKey: 1_000, newId: randomUUID, clock: systemClock, idleAfterMs: DEFAULT_IDLE_AFTER_MS, ...options };
    this.#marks = new SourceWatermarks(this.#options.idleAfterMs);
    this.#immediate = engine.pack.rules.map((r) => r.type === 'threshold' && r.count <= 1);
    this.#maxLateness = Math.max(options.latenessMs, ...engine.pack.rules.map((r) => r.latenessMs ?? 0));
    this.#reachMs = options.groupForMs + this.#maxLateness + Math.max(0, ...engine.pack.rules.map((r) => r.windowMs));
    this.#onError = (e) => {
      this.stats.errors++;
      if (this.errorSamples.length < 10) this.errorSamples.push(e);
    };
  }

  /** (rule, key) states held now. */
  get stateCount(): number {
    return this.#size;
  }

  /** Changes held in state now (across all keys). */
  get heldChanges(): number {
    let n = 0;
    for (const e of this.#entries()) n += e.events.length;
    return n;
  }

  /** Absence rules' first steps still waiting for their window to pass. */
  get pendingAbsences(): number {
    let n = 0;
    for (const e of this.#entries()) if (e.rule.type === 'absence') for (const o of e.events) if (o.mask & 1) n++;
    return n;
  }

  /** Every state held. */
  *#entries(): Generator<Entry> {
    for (const states of this.#keys.values()) yield* states.entries;
  }

  /** The newest event time seen (ms), or -Infinity. */
  get newest(): number {
    return this.#newest;
  }

  /** The low watermark (ms): the event time every active source has passed, or -Infinity. */
  get low(): number {
    return this.#low;
  }

  /** Each source's watermark and when it last delivered (in event time). */
  get sources(): ReturnType<SourceWatermarks['snapshot']> {
    return this.#marks.snapshot();
  }

  /** The watermark key of a change's source, without building a string per change (Management Activity records: `m365/<via>`). */
  #sourceOf(idp: string, via: string, rawType?: string): string {
    if (rawType?.startsWith('o365:')) return detectionSource(idp, via, rawType);
    if (idp !== this.#lastIdp || via !== this.#lastVia) {
      this.#lastIdp = idp;
      this.#lastVia = via;
      this.#lastSource = `${idp}/${via}`;
    }
    return this.#lastSource;
  }

  /**
   * A record of a source at event time `at` that is not a change (a sign-in,
   * an event no rule reads, a change of a kind detection ignores): it moves
   * its source's watermark and may close windows. Returns the alerts raised
   * or extended by absence rules falling due.
   */
  progress(idp: string, via: string, at: number): readonly Alert[] {
    this.#touched = undefined;
    this.#advance(this.#sourceOf(idp, via), at);
    const touched = this.#touched as Alert[] | undefined;
    return touched ? dedupe(touched) : NO_ALERTS;
  }

  /** Moves the source's watermark and event time; fires what falls due. Sets `#reference` for the record. */
  #advance(source: string, at: number): void {
    if (this.#newest === -Infinity && this.#options.sources) for (const s of this.#options.sources) this.#marks.declare(s, at);
    if (at > this.#newest) this.#newest = at;
    const reference = this.#marks.reference(source, this.#newest);
    this.#reference = reference > this.#low ? reference : this.#low;
    this.#marks.advance(source, at, this.#newest);
    const low = this.#marks.low(this.#newest);
    if (low > this.#low) {
      this.#low = low;
      if (this.#due.peek() <= low) this.#fireDue((this.#touched ??= []));
    }
  }

  #lateness(rule: CompiledDetectionRule): number {
    return rule.latenessMs ?? this.#options.latenessMs;
  }

  /**
   * Correlates one change (in arrival order); returns the alerts it raised or
   * extended. Event time moves forward to the change's time if it is newer,
   * which may make absence rules fall due.
   */
  push(change: IdentityChange, facts: ChangeFacts = NO_FACTS): readonly Alert[] {
    this.stats.changes++;
    const uid = changeUid(change);
    if (this.#seen.has(uid)) {
      this.stats.duplicates++;
      return NO_ALERTS;
    }
    const at = isoMillis(change.occurredAt);
    this.#touched = undefined;
    this.#late = false;
    this.#advance(this.#sourceOf(change.source.idp, change.source.via, change.source.rawType), at);
    this.#known.at = at;
    this.#known.uid = uid;
    this.#lastKey = undefined;
    this.#lastStates = undefined;
    if (this.#engine.forEachTouch(change, facts, this.#onError, this.#visit, this.#known) > 0) {
      this.stats.observed++;
      this.#seen.set(uid, at);
    }
    if (this.#late) this.stats.late++;
    if (++this.#sinceScan >= 256 && this.#sinceScan >= this.#size >> 3) this.#housekeeping();
    else if (this.#size > this.#options.maxKeys) this.#evict();
    const touched = this.#touched as Alert[] | undefined;
    return touched ? dedupe(touched) : NO_ALERTS;
  }

  /** One rule a pushed change matters to (a method made once, not a closure per change). */
  readonly #visit = (rule: CompiledDetectionRule, ruleIndex: number, key: string, obs: Observation): void => {
    const lateness = this.#lateness(rule);
    if (obs.at < this.#reference - lateness) {
      this.#late = true;
      return;
    }
    const horizon = this.#low - lateness;
    if (this.#immediate[ruleIndex]) {
      // Nothing to keep: the change is the match (a state for it would be created and dropped at once).
      (this.#touched ??= []).push(this.#raise(rule, key, [obs]));
      return;
    }
    let states = key === this.#lastKey ? this.#lastStates : this.#keys.get(key);
    if (states === undefined) {
      states = { key, entries: [], sweepAt: -Infinity };
      this.#keys.set(key, states);
    }
    this.#lastKey = key;
    this.#lastStates = states;
    let entry: Entry | undefined;
    for (const e of states.entries)
      if (e.ruleIndex === ruleIndex) {
        entry = e;
        break;
      }
    if (!entry) {
      entry = { rule, ruleIndex, key, owner: states, seq: this.#seq++, events: [], expires: 0, due: undefined, gone: false };
      if (states.entries.length === 0) states.entries = [entry];
      else states.entries.push(entry);
      this.#size++;
    }
    let found: Found[] | undefined;
    if (rule.type === 'absence') found = fireDue(rule, entry, horizon);
    prune(rule, entry, horizon);
    if (!holds(entry, obs)) {
      const matched = addObservation(rule, entry, obs);
      if (matched.length > 0) found = found && found.length > 0 ? [...found, ...matched] : matched;
      if (entry.events.length > this.#options.maxEventsPerKey) this.stats.evicted += cap(entry, this.#options.maxEventsPerKey);
    }
    if (found) for (const f of found) (this.#touched ??= []).push(this.#raise(rule, key, f));
    this.#update(entry, lateness);
  };

  /**
   * Moves event time forward to `ms` without a change (the end of a replay,
   * or a test saying "13 hours later"): absence rules whose window has passed
   * fire. Returns the alerts raised or extended.
   */
  advanceTo(ms: number): readonly Alert[] {
    const touched: Alert[] = [];
    if (ms > this.#low) {
      if (ms > this.#newest) this.#newest = ms;
      this.#marks.passAll(ms);
      this.#low = ms;
      this.#fireDue(touched);
      this.#housekeeping();
    }
    return dedupe(touched);
  }

  /** After a change to an entry: its expiry and deadline, or its removal when empty. */
  #update(entry: Entry, lateness: number): void {
    const expires = expiresAt(entry.rule, entry, lateness);
    if (expires === undefined) {
      this.#remove(entry);
      return;
    }
    entry.expires = expires;
    const due = dueAt(entry.rule, entry, lateness);
    if (due !== undefined && due !== entry.due) {
      entry.due = due;
      this.#due.push(due, entry);
    }
    this.#resweep(entry.owner);
  }

  /** Recomputes `sweepAt` after one of the key's states changed. */
  #resweep(states: KeyStates): void {
    const entries = states.entries;
    let at = entries.length === 0 ? -Infinity : Infinity;
    for (const e of entries) if (e.expires < at && !(e.rule.type === 'absence' && e.due !== undefined)) at = e.expires;
    states.sweepAt = at;
  }

  #remove(entry: Entry): void {
    if (entry.gone) return;
    entry.gone = true;
    const entries = entry.owner.entries;
    const i = entries.indexOf(entry);
    entries[i] = entries[entries.length - 1]!;
    entries.pop();
    this.#size--;
    this.#resweep(entry.owner);
  }

  #fireDue(touched: Alert[]): void {
    while (this.#due.size > 0 && this.#due.peek() <= this.#low) {
      const entry = this.#due.pop();
      if (entry.gone) continue;
      entry.due = undefined;
      const lateness = this.#lateness(entry.rule);
      const horizon = this.#low - lateness;
      for (const f of fireDue(entry.rule, entry, horizon)) touched.push(this.#raise(entry.rule, entry.key, f));
      prune(entry.rule, entry, horizon);
      this.#update(entry, lateness);
    }
  }

  /**
   * Drops state that can no longer match, old de-duplication entries and
   * stale open alerts. Runs after a number of changes proportional to the
   * state held, so its cost per change stays constant.
   */
  #housekeeping(): void {
    this.#sinceScan = 0;
    this.#lastKey = undefined;
    this.#lastStates = undefined;
    for (const states of this.#keys.values()) {
      if (states.sweepAt > this.#low) continue;
      const entries = states.entries;
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = entries[i]!;
        if (entry.expires <= this.#low && !(entry.rule.type === 'absence' && entry.due !== undefined)) this.#remove(entry);
      }
      if (entries.length === 0) this.#keys.delete(states.key);
    }
    if (this.#size > this.#options.maxKeys) this.#evict();
    const keepSeenFrom = this.#low - this.#maxLateness;
    for (const uid of this.#seen.keys()) {
      if (this.#seen.get(uid)! >= keepSeenFrom && this.#seen.size <= 4 * this.#options.maxKeys) break;
      this.#seen.delete(uid);
    }
    // Open alerts in order of creation: the ones no match can reach any more are at the front.
    for (const key of this.#open.keys()) {
      const { alert } = this.#open.get(key)!;
      if (isoMillis(alert.lastAt) + this.#reachMs >= this.#low) break;
      this.#open.delete(key);
      this.#final(alert);
    }
  }

  /** Over `maxKeys`: evicts the states nearest to expiring (a tenth of the limit at a time), counting the changes lost. */
  #evict(): void {
    const entries = [...this.#entries()];
    const expiries = new Float64Array(entries.length);
    for (let i = 0; i < entries.length; i++) expiries[i] = entries[i]!.expires;
    expiries.sort();
    const target = Math.floor(this.#options.maxKeys * 0.9);
    const cutoff = expiries[this.#size - target - 1] ?? -Infinity;
    entries.sort((a, b) => a.ruleIndex - b.ruleIndex || a.seq - b.seq);
    for (const e of entries) {
      if (this.#size <= target) return;
      if (e.expires <= cutoff) {
        this.stats.evicted += e.events.length;
        this.#remove(e);
      }
    }
  }

  /** Hands a final alert over (streaming) and forgets it. */
  #final(alert: Alert): void {
    if (!this.#options.onFinal) return;
    this.#options.onFinal(alert);
  }

  /** End of input: every alert still open is final (streaming). */
  finish(): void {
    for (const { alert } of this.#open.values()) this.#final(alert);
    this.#open.clear();
  }

  #raise(rule: CompiledDetectionRule, key: string, found: Found): Alert {
    this.stats.matches++;
    const match = {
      rule: { id: rule.id, title: rule.title, severity: rule.severity, attack: rule.attack.map((a) => a.id) },
      key,
      changes: found.map((o) => o.change),
    };
    const now = new Date(Number.isFinite(this.#newest) ? this.#newest : this.#options.clock().getTime());
    const open = this.#open.get(key);
    if (open && groupsWith(open.alert, match, this.#options.groupForMs)) {
      const merged = mergeMatch(open.alert, match, now);
      if (!this.#options.onFinal) this.alerts[open.index] = merged;
      this.#open.set(key, { alert: merged, index: open.index });
      return merged;
    }
    if (open) {
      // Beyond its grouping span: that alert is done.
      this.#open.delete(key);
      this.#final(open.alert);
    }
    const alert = newAlert({ id: this.#options.newId(), tenant: this.#options.tenant, match, now, rulesVersion: this.#engine.pack.version });
    this.#open.set(key, { alert, index: this.alerts.length });
    if (!this.#options.onFinal) this.alerts.push(alert);
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
